/**
 * The server extension's REST API (workbench/api): report templates, runs and their history.
 * Every call goes through Jupyter's ServerConnection, so the server's authentication and XSRF
 * protection apply.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface IParameter {
  default: unknown;
  type: string;
  help: string;
}

export interface ITemplate {
  name: string;
  path: string | null;
  parameters: Record<string, IParameter>;
  error: string | null;
}

export interface ICounts {
  critical: number;
  warning: number;
  info: number;
}

export interface IRunError {
  name?: string;
  message?: string;
  cell?: number;
}

export interface IRun {
  key: string;
  run_id: string;
  template: string;
  status: string;
  started_at: string | null;
  finished_at: string | null;
  duration_s: number | null;
  exit_code: number | null;
  html: string | null;
  notebook: string | null;
  findings: { files: (string | null)[]; counts: ICounts };
  error: IRunError | null;
}

export interface IRequest {
  id: string;
  template: string;
  status: string;
  requested_at: string;
  pid: number | null;
  error?: IRunError | null;
}

export interface IRunsState {
  out: string;
  runs: IRun[];
  requests: IRequest[];
  warning: string | null;
}

export interface IAlert {
  template: string;
  run_id: string;
  started_at: string;
  severity: 'critical' | 'warning' | 'info';
  kind: string;
  message: string;
  html: string | null;
}

/** An error the server explained (its message is meant for the user). */
export class APIError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

export async function requestAPI<T>(path: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'workbench', 'api', path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new APIError(`The Jupyter server cannot be reached: ${String(error)}`, 0);
  }
  const data = parseBody(await response.text());
  if (!response.ok) {
    const message = (data as { message?: unknown } | null)?.message;
    throw new APIError(
      typeof message === 'string' && message ? message : `${response.status} ${response.statusText}`,
      response.status
    );
  }
  return data as T;
}

/** A response body as JSON: {} when empty, {message: text} when it is not JSON (a proxy's error page). */
function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return { message: text };
  }
}

export function templates(): Promise<{ templates: ITemplate[] }> {
  return requestAPI('templates');
}

export function runs(out: string): Promise<IRunsState> {
  return requestAPI(`runs?out=${encodeURIComponent(out)}`);
}

export function startRun(
  template: string,
  parameters: Record<string, unknown>,
  out: string,
  failOn: string
): Promise<IRequest> {
  return requestAPI('runs', {
    method: 'POST',
    body: JSON.stringify({ template, parameters, out, fail_on: failOn })
  });
}

export function cancelRun(key: string, out: string): Promise<unknown> {
  return requestAPI(`runs/${encodeURIComponent(key)}?out=${encodeURIComponent(out)}`, { method: 'DELETE' });
}

export function alerts(out: string): Promise<{ alerts: IAlert[] }> {
  return requestAPI(`alerts?out=${encodeURIComponent(out)}`);
}

export function newNotebook(template: string): Promise<{ path: string }> {
  return requestAPI('notebooks', { method: 'POST', body: JSON.stringify({ template }) });
}

/**
 * Where the server extension serves a report's HTML page (a path relative to the server root): opened
 * in a browser tab of its own, its charts draw (JupyterLab's HTML viewer blocks their scripts).
 */
export function reportUrl(path: string): string {
  const settings = ServerConnection.makeSettings();
  return URLExt.join(settings.baseUrl, 'workbench', 'report', URLExt.encodeParts(path));
}
