/**
 * The dashboard's HTTP client: same-origin fetch with the session cookie, the CSRF token on
 * every write, and one error type carrying the API's `{code, message, hint, field}`.
 */
import type {
  ApiFile,
  ApiGuideSetList,
  ApiPool,
  ApiToken,
  ApiUser,
  ApiVariable,
  CreatedToken,
  CreatedUser,
  ErrorBody,
  FileDetail,
  FilesPage,
  InstrumentsAnswer,
  LoginAnswer,
  Me,
  MetricNamesAnswer,
  MetricSeriesAnswer,
  Role,
  StatusTargetsAnswer,
  ThroughputAnswer,
  VariableChange,
} from './types.ts';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly hint: string | undefined;
  readonly field: string | undefined;
  constructor(status: number, body: Partial<ErrorBody>) {
    super(body.message ?? `the server answered ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.code ?? 'http_error';
    this.hint = body.hint;
    this.field = body.field;
  }
}

let csrfToken: string | null = null;

/** Remembers the session's CSRF token (from login, /api/me or a password change). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called on every 401 except the login form's own; the app shows the login page. */
let onUnauthorized: () => void = () => {};
export function handleUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

type Query = Record<string, string | number | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export async function request<T>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  opts: { signal?: AbortSignal; quiet401?: boolean } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, {
      code: 'network',
      message: 'cannot reach the Sluice server',
      hint: 'check that `sluice start` (role web or all) is running and this machine can reach it',
    });
  }
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const err = new ApiError(res.status, (data as Partial<ErrorBody> | undefined) ?? {});
    if (res.status === 401 && !opts.quiet401) onUnauthorized();
    throw err;
  }
  return data as T;
}

const get = <T>(path: string, query?: Query, signal?: AbortSignal) =>
  request<T>('GET', withQuery(path, query), undefined, { signal });

export interface FileFilters {
  instrument?: string;
  status?: string;
  project?: string;
  from?: string;
  to?: string;
  q?: string;
  sort?: 'created_at' | 'name' | 'size';
  dir?: 'asc' | 'desc';
}

const enc = encodeURIComponent;

/** Every call the dashboard makes, typed by what the server answers. */
export const api = {
  me: () => request<Me>('GET', '/api/me', undefined, { quiet401: true }),
  login: (name: string, password: string) =>
    request<LoginAnswer>('POST', '/api/login', { name, password }, { quiet401: true }),
  logout: () => request<{ ok: true }>('POST', '/api/logout'),
  changePassword: (current: string, password: string) =>
    request<{ ok: true; csrfToken: string }>('POST', '/api/me/password', { current, password }),

  instruments: () => get<InstrumentsAnswer>('/api/instruments'),
  throughput: (days: number) => get<ThroughputAnswer>('/api/throughput', { days }),
  /** Only the part of `GET /api/status` the dashboard shows: the backup targets' progress. */
  status: () => get<StatusTargetsAnswer>('/api/status'),

  files: (f: FileFilters & { limit?: number; cursor?: string }, signal?: AbortSignal) =>
    get<FilesPage>('/api/files', { ...f }, signal),
  filesCsvUrl: (f: FileFilters) => withQuery('/api/files.csv', { ...f }),
  file: (id: string) => get<FileDetail>(`/api/files/${enc(id)}`),
  retry: (id: string) => request<Pick<ApiFile, 'id' | 'status'>>('POST', `/api/files/${enc(id)}/retry`),
  ignore: (id: string, reason?: string) =>
    request<Pick<ApiFile, 'id' | 'status'>>('POST', `/api/files/${enc(id)}/ignore`, reason ? { reason } : {}),
  acceptOverwrite: (id: string) =>
    request<Pick<ApiFile, 'id' | 'status'>>('POST', `/api/files/${enc(id)}/accept-overwrite`),
  cancelJob: (id: string) => request<{ cancelled: { id: string }[] }>('POST', `/api/jobs/${enc(id)}/cancel`),

  metricNames: (instrument?: string) =>
    get<MetricNamesAnswer>('/api/metrics/names', instrument ? { instrument } : {}),
  metricSeries: (q: {
    names: string[];
    instrument?: string;
    from?: string;
    to?: string;
    window?: number;
    k?: number;
    band?: 'guide';
    limit?: number;
    points?: number;
  }) => get<MetricSeriesAnswer>('/api/metrics/series', { limit: 5000, ...q, names: q.names.join(',') }),
  guideSets: (q: { instrument: string; metric?: string }) => get<ApiGuideSetList>('/api/qc/guide-sets', q),
  createGuideSet: (b: { instrument: string; metric: string; from: string; to: string; note?: string }) =>
    request<unknown>('POST', '/api/qc/guide-sets', b),
  retireGuideSet: (id: string) => request<unknown>('DELETE', `/api/qc/guide-sets/${enc(id)}`),

  vars: () => get<ApiVariable[]>('/api/vars'),
  varHistory: (limit = 50) => get<VariableChange[]>('/api/vars/history', { limit }),
  setVar: (name: string, value: unknown) => request<ApiVariable>('PUT', `/api/vars/${enc(name)}`, { value }),
  unsetVar: (name: string) => request<{ removed: boolean }>('DELETE', `/api/vars/${enc(name)}`),

  pools: () => get<ApiPool[]>('/api/pools'),
  setPool: (name: string, size: number | null) =>
    request<ApiPool>('PUT', `/api/pools/${enc(name)}`, { size }),

  users: () => get<ApiUser[]>('/api/users'),
  addUser: (name: string, role: Role) => request<CreatedUser>('POST', '/api/users', { name, role }),
  removeUser: (name: string) => request<{ removed: string }>('DELETE', `/api/users/${enc(name)}`),
  tokens: (user: string) => get<ApiToken[]>(`/api/users/${enc(user)}/tokens`),
  addToken: (user: string, name: string, role?: Role) =>
    request<CreatedToken>('POST', `/api/users/${enc(user)}/tokens`, { name, role }),
  revokeToken: (user: string, name: string) =>
    request<{ revoked: string }>('DELETE', `/api/users/${enc(user)}/tokens/${enc(name)}`),
};
