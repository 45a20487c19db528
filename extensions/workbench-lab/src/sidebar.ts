/**
 * The Reliability sidebar: run a report template (a form generated from its parameters cell),
 * follow and cancel runs, open their notebook or HTML, and see the latest alerts across runs.
 * Every state the server reports (a broken template, a run already in progress, a repaired or
 * unreadable history, a run whose process died) is shown as text, never as an empty panel.
 */
import { PathExt } from '@jupyterlab/coreutils';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import * as api from './api';
import { el } from './dom';
import { FINDINGS_FACTORY } from './mime';

export interface ISidebarOptions {
  /** Open a file (path relative to the server root) in JupyterLab. */
  open: (path: string, factory?: string) => void;
}

const POLL_BUSY_MS = 1500;
const POLL_IDLE_MS = 10000;

function button(label: string, onClick: () => void, className = 'jp-mod-styled wb-button'): HTMLButtonElement {
  const b = el('button', className, label);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

/** A report's HTML in a new browser tab, served by the server extension, where its charts draw. */
function openReport(path: string): void {
  window.open(api.reportUrl(path), '_blank', 'noopener');
}

/** Whether a parameter names a file or folder (``*_path``, by the templates' convention). */
function isPath(name: string, p: api.IParameter): boolean {
  return name.endsWith('_path') && (p.type === 'str' || p.type === 'NoneType');
}

/** A run or a request in progress, as the sidebar's pinned progress shows it. */
interface IInProgress {
  key: string;
  template: string;
  status: string;
  since: string | null;
}

/** Whether a run of ``template`` is starting or running in ``state``. */
function inProgress(state: api.IRunsState, template: string): boolean {
  return (
    state.runs.some(r => r.template === template && r.status === 'running') ||
    state.requests.some(r => r.template === template && ['starting', 'running'].includes(r.status))
  );
}

function when(iso: string | null): string {
  if (!iso) {
    return '';
  }
  const date = new Date(iso);
  return isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** A parameter's value from its form field, typed like its default. */
export function parseValue(type: string, text: string, checked: boolean): unknown {
  switch (type) {
    case 'bool':
      return checked;
    case 'int': {
      const value = Number(text);
      if (!Number.isInteger(value)) {
        throw new Error(`expects a whole number, got ${JSON.stringify(text)}`);
      }
      return value;
    }
    case 'float': {
      const value = Number(text);
      if (text.trim() === '' || isNaN(value)) {
        throw new Error(`expects a number, got ${JSON.stringify(text)}`);
      }
      return value;
    }
    case 'list': {
      const trimmed = text.trim();
      if (trimmed.startsWith('[')) {
        const value: unknown = JSON.parse(trimmed);
        if (!Array.isArray(value)) {
          throw new Error('expects a list');
        }
        return value;
      }
      return trimmed
        ? trimmed
            .split(',')
            .map(v => v.trim())
            .filter(v => v)
        : [];
    }
    case 'NoneType':
      return text.trim() === '' ? null : text;
    default:
      return text;
  }
}

function shown(value: unknown, type: string): string {
  if (type === 'list') {
    return (value as unknown[]).every(v => typeof v === 'string')
      ? (value as string[]).join(', ')
      : JSON.stringify(value);
  }
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
      return String(value);
    case 'undefined':
      return '';
    default: // null, or a dict default: as JSON, not "[object Object]"
      return value === null ? '' : JSON.stringify(value);
  }
}

export class ReliabilitySidebar extends Widget {
  constructor(options: ISidebarOptions) {
    super();
    this._open = options.open;
    this.id = 'workbench-reliability';
    this.addClass('wb-sidebar');
    this.title.caption = 'Reliability: report runs and alerts';
    this.node.append(this._build());
    void this.refreshTemplates();
    void this.refresh();
  }

  get out(): string {
    return this._outInput.value.trim() || 'reports';
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.refresh();
  }

  dispose(): void {
    window.clearTimeout(this._timer);
    super.dispose();
  }

  /** Reload the template list and its parameter form. */
  async refreshTemplates(): Promise<void> {
    try {
      this._templates = (await api.templates()).templates;
    } catch (error) {
      this._templates = [];
      this._say(this._formStatus, `Templates could not be listed: ${(error as Error).message}`, 'error');
    }
    const previous = this._select.value;
    this._select.replaceChildren();
    for (const t of this._templates) {
      const option = el('option', undefined, t.error ? `${t.name} (cannot be read)` : t.name);
      option.value = t.name;
      this._select.append(option);
    }
    if (this._templates.some(t => t.name === previous)) {
      this._select.value = previous;
    }
    this._renderForm();
  }

  /** Reload runs and alerts; polls faster while something runs, not at all while hidden. */
  async refresh(): Promise<void> {
    window.clearTimeout(this._timer);
    if (!this.isVisible) {
      return; // onAfterShow refreshes when the sidebar is opened again
    }
    let busy = false;
    try {
      const state = await api.runs(this.out);
      busy =
        state.runs.some(r => r.status === 'running') ||
        state.requests.some(r => ['starting', 'running'].includes(r.status));
      this._renderRuns(state);
      if (this._conflict && !busy) {
        this._conflict = false; // the run that was in the way has ended
        this._say(this._formStatus, '', 'info');
      }
      if (this._background && !inProgress(state, this._background.template)) {
        if (this._formStatus.textContent === this._background.note) {
          this._say(this._formStatus, '', 'info'); // "… is running in the background" goes when the run ends
        }
        this._background = null;
      }
      const { alerts } = await api.alerts(this.out);
      this._renderAlerts(alerts);
    } catch (error) {
      this._say(this._historyStatus, `The run history cannot be shown: ${(error as Error).message}`, 'error');
    }
    if (!this.isDisposed) {
      this._timer = window.setTimeout(() => void this.refresh(), busy ? POLL_BUSY_MS : POLL_IDLE_MS);
    }
  }

  private _build(): HTMLElement {
    const root = el('div', 'wb-sidebar-content');
    root.append(el('h2', 'wb-title', 'Reliability'));
    this._progress.setAttribute('role', 'status');
    this._progress.setAttribute('aria-label', 'Runs in progress');
    this._progress.hidden = true;

    const form = el('section', 'wb-section');
    form.setAttribute('aria-label', 'Run a report');
    form.append(el('h3', undefined, 'Run a report'));
    const templateLabel = el('label', 'wb-field');
    templateLabel.append(el('span', undefined, 'Template'), this._select);
    this._select.className = 'jp-mod-styled';
    this._select.addEventListener('change', () => this._renderForm());
    form.append(templateLabel, this._templateError, this._fields);
    const outLabel = el('label', 'wb-field');
    this._outInput.className = 'jp-mod-styled';
    this._outInput.value = 'reports';
    this._outInput.addEventListener('change', () => void this.refresh());
    outLabel.append(el('span', undefined, 'Output folder'), this._outInput);
    const failLabel = el('label', 'wb-field');
    this._failOn.className = 'jp-mod-styled';
    for (const value of ['critical', 'warning', 'info', 'none']) {
      const option = el('option', undefined, value);
      option.value = value;
      this._failOn.append(option);
    }
    failLabel.append(el('span', undefined, 'Fail on'), this._failOn);
    this._runButton = button('Run', () => void this._run(), 'jp-mod-styled jp-mod-accept wb-button wb-run');
    form.append(outLabel, failLabel, this._runButton, this._formStatus);
    this._formStatus.setAttribute('role', 'status');

    const history = el('section', 'wb-section');
    history.setAttribute('aria-label', 'Run history');
    const head = el('div', 'wb-section-head');
    head.append(
      el('h3', undefined, 'Runs'),
      button('Refresh', () => void this.refresh())
    );
    this._historyStatus.setAttribute('role', 'status');
    history.append(head, this._historyStatus, this._runsList);

    const alerts = el('section', 'wb-section');
    alerts.setAttribute('aria-label', 'Latest alerts');
    alerts.append(el('h3', undefined, 'Latest alerts'), this._alertsList);
    root.append(this._progress, form, history, alerts);
    return root;
  }

  private _current(): api.ITemplate | undefined {
    return this._templates.find(t => t.name === this._select.value);
  }

  private _renderForm(): void {
    this._fields.replaceChildren();
    this._inputs = {};
    const template = this._current();
    this._templateError.textContent = template?.error ?? '';
    this._templateError.className = template?.error ? 'wb-status wb-error' : 'wb-status';
    this._runButton.disabled = !template || !!template.error;
    if (!template) {
      return;
    }
    for (const [name, p] of Object.entries(template.parameters)) {
      const label = el('label', 'wb-field');
      if (isPath(name, p)) {
        label.append(el('span', undefined, name), this._pathField(name, shown(p.default, p.type)));
        if (p.help) {
          label.append(el('small', 'wb-muted', p.help));
        }
        this._fields.append(label);
        continue;
      }
      const input = el('input', 'jp-mod-styled');
      input.name = name;
      if (p.type === 'bool') {
        input.type = 'checkbox';
        input.checked = Boolean(p.default);
      } else {
        input.type = p.type === 'int' || p.type === 'float' ? 'number' : 'text';
        if (p.type === 'float') {
          input.step = 'any';
        }
        input.value = shown(p.default, p.type);
      }
      label.append(el('span', undefined, name), input);
      if (p.help) {
        label.title = p.help;
        label.append(el('small', 'wb-muted', p.help));
      }
      this._inputs[name] = input;
      this._fields.append(label);
    }
  }

  /** A path parameter's field: the whole path readable (wrapped, growing with it), and in its tooltip. */
  private _pathField(name: string, value: string): HTMLTextAreaElement {
    const field = el('textarea', 'jp-mod-styled wb-path');
    field.name = name;
    field.value = value;
    field.spellcheck = false;
    const fit = (): void => {
      field.title = field.value;
      field.rows = Math.max(1, Math.ceil(field.value.length / 30)); // where CSS field-sizing is not supported
    };
    field.addEventListener('input', fit);
    field.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        event.preventDefault(); // a path is one line
      }
    });
    fit();
    this._inputs[name] = field;
    return field;
  }

  private async _run(): Promise<void> {
    const template = this._current();
    if (!template) {
      return;
    }
    const parameters: Record<string, unknown> = {};
    try {
      for (const [name, p] of Object.entries(template.parameters)) {
        const input = this._inputs[name];
        const value = parseValue(p.type, input.value, input instanceof HTMLInputElement && input.checked);
        if (JSON.stringify(value) !== JSON.stringify(p.default)) {
          parameters[name] = value;
        }
      }
    } catch (error) {
      this._say(this._formStatus, `Parameter not valid: ${(error as Error).message}`, 'error');
      return;
    }
    this._runButton.disabled = true;
    this._say(this._formStatus, `Starting ${template.name}…`, 'info');
    try {
      await api.startRun(template.name, parameters, this.out, this._failOn.value);
      const note = `${template.name} is running in the background; it goes on if you close the browser.`;
      this._background = { template: template.name, note };
      this._say(this._formStatus, note, 'info');
    } catch (error) {
      this._say(this._formStatus, (error as Error).message, 'error');
      this._conflict = error instanceof api.APIError && error.status === 409;
    } finally {
      this._runButton.disabled = !!template.error;
    }
    void this.refresh();
  }

  /** The runs in progress, pinned at the top of the sidebar: visible however far it is scrolled. */
  private _renderProgress(state: api.IRunsState): void {
    this._progress.replaceChildren();
    const items: IInProgress[] = [
      ...state.requests
        .filter(r => ['starting', 'running'].includes(r.status))
        .map(r => ({ key: r.id, template: r.template, status: r.status, since: r.requested_at })),
      ...state.runs
        .filter(r => r.status === 'running')
        .map(r => ({ key: r.key, template: r.template, status: r.status, since: r.started_at }))
    ];
    for (const { key, template, status, since } of items) {
      const line = el('div', 'wb-progress-item');
      const seconds = since ? Math.max(0, (Date.now() - new Date(since).getTime()) / 1000) : null;
      line.append(
        el('span', 'wb-run-name', template),
        el('span', `wb-badge wb-state-${status}`, status),
        el('span', 'wb-muted', seconds === null || isNaN(seconds) ? '' : `${seconds.toFixed(0)} s`),
        button('Cancel', () => void this._cancel(key, template))
      );
      this._progress.append(line);
    }
    this._progress.hidden = items.length === 0;
  }

  private _renderRuns(state: api.IRunsState): void {
    this._renderProgress(state);
    this._say(this._historyStatus, state.warning ?? '', state.warning ? 'warning' : 'info');
    this._runsList.replaceChildren();
    for (const request of state.requests) {
      const item = el('li', `wb-run-item wb-status-${request.status}`);
      item.append(
        el('span', 'wb-run-name', request.template),
        el('span', `wb-badge wb-state-${request.status}`, request.status)
      );
      item.append(el('span', 'wb-muted', when(request.requested_at)));
      if (request.error?.message) {
        item.append(el('pre', 'wb-error-text', request.error.message));
      }
      if (['starting', 'running'].includes(request.status)) {
        item.append(button('Cancel', () => void this._cancel(request.id, request.template)));
      }
      this._runsList.append(item);
    }
    for (const run of state.runs) {
      const item = el('li', `wb-run-item wb-status-${run.status}`);
      item.dataset.key = run.key;
      const c = run.findings.counts;
      item.append(el('span', 'wb-run-name', run.template), el('span', `wb-badge wb-state-${run.status}`, run.status));
      const meta = [when(run.started_at)];
      if (run.duration_s !== null && run.duration_s !== undefined) {
        meta.push(`${run.duration_s.toFixed(1)} s`);
      } else if (run.status === 'running' && run.started_at) {
        const seconds = Math.max(0, (Date.now() - new Date(run.started_at).getTime()) / 1000);
        meta.push(`running for ${seconds.toFixed(0)} s`);
      }
      item.append(el('span', 'wb-muted', meta.join(' · ')));
      const counts = el('span', 'wb-counts');
      counts.append(
        el('span', 'wb-badge wb-sev-critical', `${c.critical} critical`),
        el('span', 'wb-badge wb-sev-warning', `${c.warning} warning`),
        el('span', 'wb-badge wb-sev-info', `${c.info} info`)
      );
      item.append(counts);
      if (run.error?.message) {
        item.append(el('pre', 'wb-error-text', `${run.error.name ?? 'Error'}: ${run.error.message}`));
      }
      const actions = el('span', 'wb-actions');
      if (run.status === 'running') {
        actions.append(button('Cancel', () => void this._cancel(run.key, run.template)));
      }
      if (run.notebook && run.status !== 'running') {
        actions.append(button('Notebook', () => this._open(run.notebook!)));
      }
      if (run.html && run.status !== 'running') {
        actions.append(button('HTML', () => openReport(run.html!)));
      }
      const files = run.findings.files.filter((f): f is string => !!f);
      for (const file of run.status !== 'running' ? files : []) {
        const label = files.length === 1 ? 'Findings' : `Findings: ${PathExt.basename(file, '.json')}`;
        actions.append(button(label, () => this._open(file, FINDINGS_FACTORY)));
      }
      item.append(actions);
      this._runsList.append(item);
    }
    if (!state.requests.length && !state.runs.length) {
      this._runsList.append(el('li', 'wb-muted', `No runs in ${state.out} yet.`));
    }
  }

  /** The latest alerts, one collapsible group per template (a group stays as the user left it). */
  private _renderAlerts(alerts: api.IAlert[]): void {
    this._alertsList.replaceChildren();
    const groups = new Map<string, api.IAlert[]>();
    for (const alert of alerts) {
      groups.set(alert.template, [...(groups.get(alert.template) ?? []), alert]);
    }
    for (const [template, items] of groups) {
      const group = el('details', 'wb-alert-group');
      group.open = !this._collapsed.has(template);
      group.addEventListener('toggle', () =>
        group.open ? this._collapsed.delete(template) : this._collapsed.add(template)
      );
      const summary = el('summary', 'wb-alert-summary');
      summary.append(el('span', 'wb-run-name', template));
      for (const severity of ['critical', 'warning', 'info']) {
        const n = items.filter(a => a.severity === severity).length;
        if (n) {
          summary.append(el('span', `wb-badge wb-sev-${severity}`, `${n} ${severity}`));
        }
      }
      const list = el('ul', 'wb-alerts');
      for (const alert of items) {
        const item = el('li', `wb-alert wb-alert-${alert.severity}`);
        item.append(el('span', `wb-badge wb-sev-${alert.severity}`, alert.severity));
        item.append(
          alert.html
            ? button(alert.message, () => openReport(alert.html!), 'wb-link')
            : el('span', undefined, alert.message)
        );
        list.append(item);
      }
      group.append(summary, list);
      this._alertsList.append(group);
    }
    if (!alerts.length) {
      this._alertsList.append(el('p', 'wb-muted', 'No warning or critical finding in the latest runs.'));
    }
  }

  private async _cancel(key: string, template: string): Promise<void> {
    try {
      await api.cancelRun(key, this.out);
      this._say(this._historyStatus, `${template} was cancelled.`, 'info');
    } catch (error) {
      this._say(this._historyStatus, (error as Error).message, 'error');
    }
    void this.refresh();
  }

  private _say(node: HTMLElement, text: string, kind: 'info' | 'warning' | 'error'): void {
    node.textContent = text;
    node.className = `wb-status wb-${kind}`;
  }

  private _open: (path: string, factory?: string) => void;
  private _templates: api.ITemplate[] = [];
  private _inputs: Record<string, HTMLInputElement | HTMLTextAreaElement> = {};
  private _select = el('select');
  private _fields = el('div', 'wb-fields');
  private _templateError = el('p', 'wb-status');
  private _outInput = el('input');
  private _failOn = el('select');
  private _runButton!: HTMLButtonElement;
  private _formStatus = el('p', 'wb-status');
  private _historyStatus = el('p', 'wb-status');
  private _runsList = el('ul', 'wb-runs');
  private _alertsList = el('div', 'wb-alert-groups');
  private _collapsed = new Set<string>();
  private _progress = el('div', 'wb-progress');
  private _timer = 0;
  private _conflict = false;
  private _background: { template: string; note: string } | null = null;
}
