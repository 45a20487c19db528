/**
 * workbench-lab: the Reliability sidebar (report runs, history and alerts), the launcher and
 * command-palette entries that start a new audit notebook from a template; report and audit
 * notebooks open clean (./clean); plotly charts follow the Lab theme (./theme). The findings MIME
 * renderer is the separate mime extension in ./mime.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { LabIcon } from '@jupyterlab/ui-components';

import * as api from './api';
import { cleanOnOpen } from './clean';
import { ReliabilitySidebar } from './sidebar';
import { followTheme } from './theme';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
  '<path class="jp-icon3" fill="#616161" d="M12 2 4 5v6c0 5 3.4 9.7 8 11 4.6-1.3 8-6 8-11V5l-8-3zm-1.2 14.2' +
  '-3.5-3.5 1.4-1.4 2.1 2.1 5-5 1.4 1.4-6.4 6.4z"/></svg>';

export const reliabilityIcon = new LabIcon({ name: 'workbench-lab:reliability', svgstr: ICON_SVG });

const LABELS: Record<string, string> = {
  leakage: 'Leakage audit',
  drift: 'Drift report',
  performance: 'Performance report',
  shadow: 'Shadow / canary comparison',
  model_health: 'Model health report',
  service_health: 'Service health report'
};

export const CommandIDs = {
  open: 'workbench:open-sidebar',
  newAudit: 'workbench:new-audit'
} as const;

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'workbench-lab:plugin',
  description: 'Reliability sidebar, report runs and new audit notebooks.',
  autoStart: true,
  optional: [ILauncher, ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    launcher: ILauncher | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const open = (path: string, factory?: string): void => {
      void app.commands.execute('docmanager:open', factory ? { path, factory } : { path });
    };
    const sidebar = new ReliabilitySidebar({ open });
    sidebar.title.icon = reliabilityIcon;
    app.shell.add(sidebar, 'left', { rank: 650 });
    restorer?.add(sidebar, sidebar.id);
    app.docRegistry.addWidgetExtension('Notebook', cleanOnOpen); // report and audit notebooks open clean
    followTheme(); // plotly charts take the Lab theme's colours

    app.commands.addCommand(CommandIDs.open, {
      label: 'Open the Reliability sidebar',
      execute: () => app.shell.activateById(sidebar.id)
    });
    app.commands.addCommand(CommandIDs.newAudit, {
      label: ({ template }) =>
        typeof template === 'string' && template
          ? `New ${LABELS[template] ?? template} notebook`
          : 'New audit notebook',
      caption: 'A new notebook from a workbench report template',
      icon: args => (args.isPalette ? undefined : reliabilityIcon),
      execute: async (args): Promise<unknown> => {
        const template = typeof args.template === 'string' ? args.template : 'leakage';
        try {
          const { path } = await api.newNotebook(template);
          return app.commands.execute('docmanager:open', { path });
        } catch (error) {
          void showErrorMessage('Cannot create the notebook', (error as Error).message);
        }
      }
    });
    palette?.addItem({ command: CommandIDs.open, category: 'Workbench' });

    void api
      .templates()
      .then(({ templates }) => {
        templates
          .filter(t => !t.error)
          .forEach((t, rank) => {
            launcher?.add({ command: CommandIDs.newAudit, args: { template: t.name }, category: 'Workbench', rank });
            palette?.addItem({
              command: CommandIDs.newAudit,
              args: { template: t.name, isPalette: true },
              category: 'Workbench'
            });
          });
      })
      .catch(error => console.warn('workbench-lab: templates could not be listed', error));
  }
};

export default plugin;
