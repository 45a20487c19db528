/**
 * A findings table: one row per finding, sortable by any column (the header buttons), filtered
 * by severity and by text; a row expands to the suggestion, the numbers and the scope. Built with
 * DOM text nodes only (never HTML from the data), so it is safe in an untrusted notebook.
 */
import { el } from './dom';

export interface IFinding {
  id: string;
  kind: string;
  severity: 'critical' | 'warning' | 'info';
  subject: string;
  message: string;
  suggestion?: string;
  metrics?: Record<string, unknown>;
  scope?: Record<string, unknown>;
}

/** The result at a glance (findings schema 1.2.0; absent in older files): computed by the package. */
export interface IGlance {
  level: 'ok' | 'info' | 'warning' | 'critical';
  headline: string;
  tiles: { label: string; value: string; level: IGlance['level'] }[];
}

export interface IFindingsDocument {
  schema_version: string;
  check: string;
  created_at?: string;
  inputs?: { name: string; rows: number }[];
  verdict?: { decision?: string; reasons?: string[] };
  glance?: IGlance;
  findings: IFinding[];
}

const RANK: Record<string, number> = { critical: 2, warning: 1, info: 0 };
type Column = 'severity' | 'kind' | 'subject' | 'message' | 'affected';
const COLUMNS: [Column, string][] = [
  ['severity', 'Severity'],
  ['kind', 'Kind'],
  ['subject', 'Subject'],
  ['affected', 'Affected rows'],
  ['message', 'Message']
];

function affected(f: IFinding): number | null {
  const value = f.metrics?.['affected_rows'];
  return typeof value === 'number' ? value : null;
}

type Scalar = string | number | boolean;

function isScalar(value: unknown): value is Scalar {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/** A metric as text: numbers to 4 significant digits (0.123456 → 0.1235), other scalars as they are. */
function shownMetric(value: Scalar): string {
  return typeof value === 'number' ? String(+value.toPrecision(4)) : String(value);
}

/** Validate the document's shape; a readable error instead of a broken table. */
export function checkDocument(data: unknown): IFindingsDocument {
  const doc = data as IFindingsDocument;
  if (!doc || typeof doc !== 'object' || !Array.isArray(doc.findings) || typeof doc.check !== 'string') {
    throw new Error('not a workbench findings document (expected "check" and a "findings" list)');
  }
  return doc;
}

/** The at-a-glance header: the level and headline, then a tile per number (label above value). */
function renderGlance(glance: IGlance): HTMLElement {
  const box = el('div', `wb-glance wb-level-${glance.level}`);
  const head = el('div', 'wb-glance-head');
  head.append(
    el('span', `wb-badge wb-glance-level wb-level-${glance.level}`, glance.level),
    el('span', 'wb-glance-headline', glance.headline)
  );
  const tiles = el('div', 'wb-tiles');
  for (const tile of glance.tiles) {
    const node = el('div', `wb-tile wb-level-${tile.level}`);
    node.append(el('div', 'wb-tile-label', tile.label), el('div', 'wb-tile-value', tile.value));
    tiles.append(node);
  }
  box.append(head, tiles);
  return box;
}

/** Render ``doc`` into ``host`` (replacing its content). */
export function renderFindings(host: HTMLElement, doc: IFindingsDocument): void {
  host.replaceChildren();
  host.classList.add('wb-findings');
  if (doc.glance) {
    host.append(renderGlance(doc.glance));
  }
  let sortBy: Column = 'severity';
  let descending = true;
  let severity = 'all';
  let query = '';

  const header = el('div', 'wb-findings-header');
  const counts = { critical: 0, warning: 0, info: 0 } as Record<string, number>;
  doc.findings.forEach(f => (counts[f.severity] = (counts[f.severity] || 0) + 1));
  header.append(el('strong', undefined, `${doc.check}: ${doc.findings.length} finding(s)`));
  for (const s of ['critical', 'warning', 'info']) {
    header.append(el('span', `wb-badge wb-sev-${s}`, `${counts[s]} ${s}`));
  }
  if (doc.verdict?.decision) {
    header.append(
      el('span', `wb-badge wb-verdict wb-verdict-${doc.verdict.decision}`, `verdict: ${doc.verdict.decision}`)
    );
  }
  if (doc.inputs?.length) {
    header.append(
      el('span', 'wb-muted', doc.inputs.map(i => `${i.name}: ${i.rows.toLocaleString()} rows`).join(' · '))
    );
  }
  host.append(header);

  const controls = el('div', 'wb-findings-controls');
  const filter = el('input', 'jp-mod-styled wb-filter');
  filter.type = 'search';
  filter.placeholder = 'Filter findings';
  filter.setAttribute('aria-label', 'Filter findings by text');
  const select = el('select', 'jp-mod-styled');
  select.setAttribute('aria-label', 'Minimum severity');
  for (const [value, label] of [
    ['all', 'All severities'],
    ['warning', 'Warning and worse'],
    ['critical', 'Critical only']
  ]) {
    const option = el('option', undefined, label);
    option.value = value;
    select.append(option);
  }
  controls.append(filter, select);
  host.append(controls);

  const table = el('table', 'wb-table');
  const thead = el('thead');
  const headRow = el('tr');
  const buttons: Partial<Record<Column, HTMLButtonElement>> = {};
  for (const [column, label] of COLUMNS) {
    const th = el('th');
    const button = el('button', 'wb-sort', label);
    button.type = 'button';
    button.addEventListener('click', () => {
      descending = sortBy === column ? !descending : column === 'severity' || column === 'affected';
      sortBy = column;
      draw();
    });
    buttons[column] = button;
    th.append(button);
    headRow.append(th);
  }
  thead.append(headRow);
  const tbody = el('tbody');
  table.append(thead, tbody);
  host.append(table);
  const empty = el('p', 'wb-muted');
  host.append(empty);

  filter.addEventListener('input', () => {
    query = filter.value.toLowerCase();
    draw();
  });
  select.addEventListener('change', () => {
    severity = select.value;
    draw();
  });

  function key(f: IFinding): string | number {
    switch (sortBy) {
      case 'severity':
        return RANK[f.severity] ?? -1;
      case 'affected':
        return affected(f) ?? -1;
      default:
        return String(f[sortBy] ?? '').toLowerCase();
    }
  }

  function draw(): void {
    const floor = severity === 'all' ? -1 : RANK[severity];
    const shown = doc.findings
      .filter(f => (RANK[f.severity] ?? 0) >= floor)
      .filter(f => !query || `${f.kind} ${f.subject} ${f.message}`.toLowerCase().includes(query))
      .sort((a, b) => {
        const ka = key(a);
        const kb = key(b);
        const order = ka < kb ? -1 : ka > kb ? 1 : 0;
        return descending ? -order : order;
      });
    for (const [column] of COLUMNS) {
      const th = buttons[column]!.parentElement!;
      th.setAttribute('aria-sort', column === sortBy ? (descending ? 'descending' : 'ascending') : 'none');
    }
    tbody.replaceChildren();
    for (const f of shown) {
      const row = el('tr', `wb-row wb-row-${f.severity}`);
      row.tabIndex = 0;
      row.setAttribute('aria-expanded', 'false');
      row.append(
        el('td', undefined, ''),
        el('td', undefined, f.kind),
        el('td', undefined, f.subject),
        el('td', 'wb-num', affected(f)?.toLocaleString() ?? ''),
        el('td', 'wb-message', f.message)
      );
      row.firstElementChild!.append(el('span', `wb-badge wb-sev-${f.severity}`, f.severity));
      const detail = el('tr', 'wb-detail');
      detail.hidden = true;
      const cell = el('td');
      cell.colSpan = COLUMNS.length;
      if (f.suggestion) {
        cell.append(el('p', undefined, `What to do: ${f.suggestion}`));
      }
      const numbers = Object.entries(f.metrics ?? {}).filter((e): e is [string, Scalar] => isScalar(e[1]));
      if (numbers.length) {
        cell.append(el('p', 'wb-muted', numbers.map(([k, v]) => `${k}: ${shownMetric(v)}`).join(' · ')));
      }
      if (f.scope && Object.keys(f.scope).length) {
        cell.append(el('p', 'wb-muted', `scope: ${JSON.stringify(f.scope)}`));
      }
      detail.append(cell);
      const toggle = (): void => {
        detail.hidden = !detail.hidden;
        row.setAttribute('aria-expanded', String(!detail.hidden));
      };
      row.addEventListener('click', toggle);
      row.addEventListener('keydown', event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          toggle();
        }
      });
      tbody.append(row, detail);
    }
    empty.textContent = shown.length
      ? ''
      : doc.findings.length
        ? 'No finding matches the filter.'
        : 'No findings: nothing to act on.';
  }

  draw();
}
