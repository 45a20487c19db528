/**
 * The MIME renderer of workbench results: ``application/vnd.workbench.findings+json`` (emitted by
 * every CheckResult next to its HTML) shown as a sortable, filterable findings table. It needs no
 * kernel, so findings stay readable in a saved notebook. The same table is the document view of a
 * findings JSON file opened from the file browser.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { checkDocument, renderFindings } from './findings';

export const FINDINGS_MIME = 'application/vnd.workbench.findings+json';

export class FindingsRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this.addClass('wb-findings-output');
    // keys typed in the filter or on a row are the table's, not notebook shortcuts
    this.node.setAttribute('data-lm-suppress-shortcuts', 'true');
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    try {
      renderFindings(this.node, checkDocument(model.data[this._mimeType]));
    } catch (error) {
      this.node.textContent = `Cannot show these findings: ${String((error as Error).message ?? error)}`;
    }
    return Promise.resolve();
  }

  private _mimeType: string;
}

export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true, // text nodes only: nothing from the data is run or parsed as HTML
  mimeTypes: [FINDINGS_MIME],
  createRenderer: options => new FindingsRenderer(options)
};

/** The document widget's name ("Open With" in the file browser's menu). */
export const FINDINGS_FACTORY = 'Findings table';

/**
 * Findings files: what ``workbench <check> --out`` writes under the names the docs use
 * (``drift-findings.json``, ``out/findings.json``, ``x.findings.json``). A report run's
 * ``findings/<check>.json`` has a plain name: the sidebar opens it as a table, and so does
 * "Open With → Findings table" on any JSON file.
 */
export const FINDINGS_FILE_TYPE: IRenderMime.IFileType = {
  name: 'workbench-findings',
  displayName: 'Workbench findings',
  mimeTypes: [FINDINGS_MIME, 'application/json'], // the first is the one the document renders
  extensions: ['.findings.json'],
  pattern: '^(.*[-_.])?findings\\.json$',
  fileFormat: 'text',
  icon: 'workbench-lab:reliability'
};

const extension: IRenderMime.IExtension = {
  id: 'workbench-lab:findings',
  rendererFactory,
  rank: 0, // before text/html: the table is the richer view in JupyterLab
  dataType: 'json',
  fileTypes: [FINDINGS_FILE_TYPE],
  documentWidgetFactoryOptions: {
    name: FINDINGS_FACTORY,
    primaryFileType: FINDINGS_FILE_TYPE.name,
    fileTypes: [FINDINGS_FILE_TYPE.name, 'json'],
    defaultFor: [FINDINGS_FILE_TYPE.name]
  }
};

export default extension;
