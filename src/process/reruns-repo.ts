/**
 * The table of processing re-runs (migration 0032, `processing_reruns`), and the job reads a re-run
 * needs (which files have a job at a settings version already; how many of its jobs are unfinished).
 * The only module with SQL naming processing_reruns.
 */
import type { Queryable } from '../core/db/db.ts';
import { ACTIVE_STATES } from './jobs.ts';

/** A settings version a re-run runs, as recorded when it was created. */
export interface RerunSettings {
  name: string;
  version: number;
  hash: string;
}

export interface ProcessingRerunRow {
  id: string;
  settings: RerunSettings[];
  since: Date | null;
  instrument: string | null;
  project: string | null;
  /** Files that had a job planned when the re-run was created. */
  files: number;
  /** Jobs planned when it was created. */
  total: number;
  /** Jobs created so far. */
  done: number;
  last_file: string;
  cursor_file: string;
  status: 'running' | 'done' | 'cancelled' | 'failed';
  requested_by: string;
  cancelled_by: string | null;
  error: string | null;
  created_at: Date;
  finished_at: Date | null;
}

const COLS = `id::text, settings, since, instrument, project, files, total, done, last_file, cursor_file,
  status, requested_by, cancelled_by, error, created_at, finished_at`;

export async function createProcessingRerun(
  q: Queryable,
  r: Pick<
    ProcessingRerunRow,
    'settings' | 'since' | 'instrument' | 'project' | 'files' | 'total' | 'last_file' | 'requested_by'
  >,
): Promise<ProcessingRerunRow> {
  return q.one<ProcessingRerunRow>(
    `insert into processing_reruns (settings, since, instrument, project, files, total, last_file, requested_by)
     values ($1::jsonb, $2, $3, $4, $5, $6, $7, $8) returning ${COLS}`,
    [
      JSON.stringify(r.settings),
      r.since,
      r.instrument,
      r.project,
      r.files,
      r.total,
      r.last_file,
      r.requested_by,
    ],
  );
}

export async function getProcessingRerun(q: Queryable, id: string): Promise<ProcessingRerunRow | undefined> {
  return q.maybeOne<ProcessingRerunRow>(`select ${COLS} from processing_reruns where id = $1`, [id]);
}

/** Re-runs newest first, each with how many of its jobs are still unfinished (`active`). */
export async function listProcessingReruns(
  q: Queryable,
  limit: number,
): Promise<(ProcessingRerunRow & { active: number })[]> {
  return q.query(
    `select ${COLS}, (select count(*)::int from jobs j where j.rerun_id = r.id and j.state = any($2)) as active
       from processing_reruns r order by r.id desc limit $1`,
    [limit, ACTIVE_STATES],
  );
}

/** Moves a running re-run on after a batch (in the batch's transaction); false if it is no longer running. */
export async function advanceProcessingRerun(
  q: Queryable,
  id: string,
  cursor: string,
  added: number,
): Promise<boolean> {
  const rows = await q.query(
    `update processing_reruns set cursor_file = $2, done = done + $3 where id = $1 and status = 'running' returning id`,
    [id, cursor, added],
  );
  return rows.length > 0;
}

/** Ends a running re-run (`done`, `failed` with the error, or `cancelled` by someone). */
export async function finishProcessingRerun(
  q: Queryable,
  id: string,
  status: 'done' | 'failed' | 'cancelled',
  extra: { error?: string; by?: string } = {},
): Promise<ProcessingRerunRow | undefined> {
  return q.maybeOne<ProcessingRerunRow>(
    `update processing_reruns set status = $2, error = $3, cancelled_by = $4, finished_at = now()
      where id = $1 and status = 'running' returning ${COLS}`,
    [id, status, extra.error ?? null, extra.by ?? null],
  );
}

/** How many jobs of this re-run are unfinished. */
export async function activeRerunJobs(q: Queryable, id: string): Promise<number> {
  const row = await q.one<{ n: number }>(
    'select count(*)::int as n from jobs where rerun_id = $1 and state = any($2)',
    [id, ACTIVE_STATES],
  );
  return row.n;
}

/**
 * Of these files, which already have a job at one of these settings versions that is unfinished or
 * succeeded (`FILE/NAME/VERSION` keys): a re-run does not run them again. A failed one is re-run.
 */
export async function jobsAlreadyAt(
  q: Queryable,
  fileIds: readonly string[],
  settings: readonly Pick<RerunSettings, 'name' | 'version'>[],
): Promise<Set<string>> {
  if (fileIds.length === 0 || settings.length === 0) return new Set();
  const rows = await q.query<{ k: string }>(
    `select distinct file_id || '/' || settings_name || '/' || settings_version as k from jobs
      where file_id = any($1::text[]) and (settings_name, settings_version) in
            (select * from unnest($2::text[], $3::int[]))
        and (state = any($4) or outcome = 'success')`,
    [fileIds, settings.map((s) => s.name), settings.map((s) => s.version), ACTIVE_STATES],
  );
  return new Set(rows.map((r) => r.k));
}
