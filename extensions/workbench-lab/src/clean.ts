/**
 * Report notebooks and new audit notebooks open clean. JupyterLab marks a notebook unsaved as soon
 * as it opens when it only wrote its own kernel metadata into it: the kernel's display name
 * ("Python 3 (ipykernel)" for the "Python 3" a template or papermill recorded) and a default or the
 * kernel's `language_info`. For a workbench notebook (a papermill output, i.e. a report run, or a
 * notebook created from a template: `metadata.workbench`), such a change alone leaves it clean; any
 * other change (a cell edited, added, run) marks it unsaved as usual.
 */
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { Widget } from '@lumino/widgets';

/** Metadata JupyterLab writes from the kernel it starts: not an edit of the user. */
const KERNEL_METADATA = ['kernelspec', 'language_info'];

interface INotebookJSON {
  metadata?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Whether a notebook was written by the workbench: a report run's output or a new audit notebook. */
export function isWorkbenchNotebook(notebook: INotebookJSON): boolean {
  const metadata = notebook.metadata ?? {};
  return 'papermill' in metadata || 'workbench' in metadata;
}

/** The notebook's content without the kernel metadata, as text to compare. */
export function contentOf(notebook: INotebookJSON): string {
  const metadata = { ...(notebook.metadata ?? {}) };
  for (const key of KERNEL_METADATA) {
    delete metadata[key];
  }
  return JSON.stringify({ ...notebook, metadata });
}

/** Keep ``context``'s notebook clean while it differs from what was loaded or saved only in kernel metadata. */
export function keepClean(context: DocumentRegistry.IContext<DocumentRegistry.IModel>): void {
  void context.ready.then(() => {
    const model = context.model;
    const json = (): INotebookJSON => model.toJSON() as INotebookJSON;
    if (!isWorkbenchNotebook(json())) {
      return;
    }
    let saved = contentOf(json());
    const check = (): void => {
      if (model.dirty && contentOf(json()) === saved) {
        model.dirty = false;
      }
    };
    model.stateChanged.connect((_, change) => {
      if (change.name === 'dirty' && change.newValue === true) {
        check();
      }
    });
    context.saveState.connect((_, state) => {
      if (state === 'completed') {
        saved = contentOf(json());
      }
    });
    check(); // JupyterLab's default language_info, written while loading
  });
}

/** The widget extension that applies {@link keepClean} to every notebook JupyterLab opens. */
export const cleanOnOpen: DocumentRegistry.IWidgetExtension<Widget, DocumentRegistry.IModel> = {
  createNew: (_widget, context) => keepClean(context)
};
