/**
 * The archive and retrieval answers the dashboard reads (src/api/routes/archives.ts, retrievals.ts),
 * their requests, and how a retrieval's state is shown.
 */
import { request, withQuery } from '../../api/client.ts';

export type FetchState = 'requested' | 'restoring' | 'downloading' | 'verified' | 'failed' | 'expired';

export interface ApiRetrieval {
  id: string;
  file_id: string;
  fetch_id: string;
  archive_id: string;
  prefix: string;
  requested_by: string;
  requested_at: string;
  state: FetchState;
  why: string | null;
  bytes_total: string;
  bytes_done: string;
  path: string | null;
  set_path?: string | null;
  expires_at: string | null;
  verified_at: string | null;
}

export interface ApiArchive {
  id: string;
  target: string;
  target_kind: 'filesystem' | 's3';
  location: string;
  storage_class: string | null;
  state: 'writing' | 'written' | 'archived' | 'failed';
  reason: string | null;
  verified_at: string | null;
  last_fixity_at: string | null;
  last_fixity_ok: boolean | null;
}

export interface ApiMember {
  path: string;
  rel: string;
  size: string;
  sha256: string;
  data_offset: string;
  /** raw: the raw set; output: a job's output file; metrics: metrics.json (0036). */
  kind?: 'raw' | 'output' | 'metrics';
  job_row_id?: string | null;
}

export interface FileArchivesAnswer {
  items: {
    target: string;
    state: 'due' | 'packing' | 'archived';
    due_at: string;
    last_error: string | null;
  }[];
  archives: (ApiArchive & { file_members: ApiMember[] })[];
  retrievals: ApiRetrieval[];
}

export interface RetrieveBody {
  files?: string[];
  project?: string;
  since?: string;
}

export const archiveApi = {
  ofFile: (id: string) => request<FileArchivesAnswer>('GET', `/api/files/${encodeURIComponent(id)}/archives`),
  retrievals: (state?: string) =>
    request<ApiRetrieval[]>('GET', withQuery('/api/retrievals', { state, limit: 200 })),
  retrieve: (body: RetrieveBody) =>
    request<{ retrievals: ApiRetrieval[]; not_archived: string[] }>('POST', '/api/retrievals', body),
};

const TONES: Record<FetchState, string> = {
  requested: 'waiting',
  restoring: 'waiting',
  downloading: 'working',
  verified: 'good',
  failed: 'bad',
  expired: 'muted',
};

/** A retrieval's state as a badge (its fetch's: one restore and download serve every request). */
export function fetchTone(s: FetchState): string {
  return TONES[s];
}

/** Progress of a download as a share (0…1), or undefined before it started. */
export function progressOf(r: Pick<ApiRetrieval, 'bytes_done' | 'bytes_total'>): number | undefined {
  const total = Number(r.bytes_total);
  return total > 0 ? Math.min(1, Number(r.bytes_done) / total) : undefined;
}
