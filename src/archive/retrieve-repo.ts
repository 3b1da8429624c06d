/**
 * The retrieval repository: every statement on the tables of migration 0022 (owner of
 * `archive_fetches` and `retrievals`).
 *
 *   archive_fetches  id, archive_id, state requested|restoring|downloading|verified|failed|expired,
 *                    why, requested_by/_at, restore_asked_at, download_started_at, bytes_total,
 *                    bytes_done, members_done, path (the extracted folder), verified_at, expires_at,
 *                    finished_at. At most one live fetch per archive (partial unique index).
 *   retrievals       id, file_id, fetch_id, prefix (the set's folder inside the fetch's folder),
 *                    requested_by, requested_at: one request of one set.
 *
 * A request's state is its fetch's: one restore and one download serve every request of the archive.
 */
import type { Queryable } from '../core/db/db.ts';
import { type FetchState, LIVE_FETCH_STATES } from './retrieve-rules.ts';

export interface FetchRow {
  id: string;
  archive_id: string;
  state: FetchState;
  why: string | null;
  requested_by: string;
  requested_at: Date;
  restore_asked_at: Date | null;
  download_started_at: Date | null;
  bytes_total: string;
  bytes_done: string;
  members_done: number;
  path: string | null;
  verified_at: Date | null;
  expires_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
}

/** A request with its fetch's state (what `sluice retrieve`, the API and the page show). */
export interface RetrievalRow {
  id: string;
  file_id: string;
  fetch_id: string;
  archive_id: string;
  prefix: string;
  requested_by: string;
  requested_at: Date;
  state: FetchState;
  why: string | null;
  bytes_total: string;
  bytes_done: string;
  path: string | null;
  expires_at: Date | null;
  verified_at: Date | null;
}

const LIVE = LIVE_FETCH_STATES as readonly string[];

/** The live fetch of an archive, locked for this transaction (a request joins or extends it). */
export async function liveFetchForUpdate(q: Queryable, archiveId: string): Promise<FetchRow | undefined> {
  return q.maybeOne<FetchRow>(
    'select * from archive_fetches where archive_id = $1 and state = any($2) for update',
    [archiveId, LIVE],
  );
}

/**
 * Starts a fetch of the archive, or returns undefined when a concurrent request started one first
 * (the partial unique index: the caller reads the live one again).
 */
export async function insertFetch(
  q: Queryable,
  archiveId: string,
  bytesTotal: number | string,
  by: string,
): Promise<FetchRow | undefined> {
  return q.maybeOne<FetchRow>(
    `insert into archive_fetches (archive_id, state, requested_by, bytes_total) values ($1, 'requested', $2, $3)
     on conflict (archive_id) where state in ('requested', 'restoring', 'downloading', 'verified') do nothing
     returning *`,
    [archiveId, by, bytesTotal],
  );
}

/** A verified fetch asked for again keeps its copy at least until `until`. */
export async function extendExpiry(q: Queryable, fetchId: string, until: Date): Promise<void> {
  await q.exec(
    `update archive_fetches set expires_at = greatest(expires_at, $2), updated_at = now()
     where id = $1 and state = 'verified'`,
    [fetchId, until],
  );
}

export async function insertRetrieval(
  q: Queryable,
  r: { fileId: string; fetchId: string; prefix: string; by: string },
): Promise<string> {
  const row = await q.one<{ id: string }>(
    'insert into retrievals (file_id, fetch_id, prefix, requested_by) values ($1, $2, $3, $4) returning id',
    [r.fileId, r.fetchId, r.prefix, r.by],
  );
  return row.id;
}

export async function getFetch(q: Queryable, id: string): Promise<FetchRow | undefined> {
  return q.maybeOne<FetchRow>('select * from archive_fetches where id = $1', [id]);
}

export async function markRestoring(q: Queryable, id: string): Promise<void> {
  await q.exec(
    `update archive_fetches set state = 'restoring', restore_asked_at = coalesce(restore_asked_at, now()),
       updated_at = now() where id = $1 and state in ('requested', 'restoring', 'downloading')`,
    [id],
  );
}

export async function markDownloading(q: Queryable, id: string): Promise<void> {
  await q.exec(
    `update archive_fetches set state = 'downloading', download_started_at = now(), bytes_done = 0,
       members_done = 0, why = null, updated_at = now() where id = $1 and state in ('requested', 'restoring', 'downloading')`,
    [id],
  );
}

/** Progress of a download (not fenced: a figure for people, never a decision). */
export async function recordProgress(
  q: Queryable,
  id: string,
  bytes: number,
  members: number,
): Promise<void> {
  await q.exec(
    `update archive_fetches set bytes_done = $2, members_done = $3, updated_at = now()
     where id = $1 and state = 'downloading'`,
    [id, bytes, members],
  );
}

/** Every member verified and the folder in place: the retrieved copy counts for `expireAfterHours`. */
export async function markVerified(
  q: Queryable,
  id: string,
  f: { path: string; bytes: number; members: number; expireAfterHours: number },
): Promise<void> {
  await q.exec(
    `update archive_fetches set state = 'verified', path = $2, bytes_done = $3, members_done = $4,
       verified_at = now(), finished_at = now(), expires_at = now() + $5 * interval '1 hour', why = null,
       updated_at = now()
     where id = $1 and state = 'downloading'`,
    [id, f.path, f.bytes, f.members, f.expireAfterHours],
  );
}

export async function markFetchFailed(q: Queryable, id: string, why: string): Promise<void> {
  await q.exec(
    `update archive_fetches set state = 'failed', why = $2, finished_at = now(), updated_at = now()
     where id = $1 and state in ('requested', 'restoring', 'downloading')`,
    [id, why],
  );
}

/** A retry is coming: why the last attempt did not finish, shown while the fetch waits. */
export async function noteFetchTrouble(q: Queryable, id: string, why: string): Promise<void> {
  await q.exec('update archive_fetches set why = $2, updated_at = now() where id = $1', [id, why]);
}

/** Verified fetches past their expiry, locked and marked `expired` in this transaction. */
export async function expireDue(q: Queryable, now: Date, limit: number): Promise<FetchRow[]> {
  return q.query<FetchRow>(
    `update archive_fetches set state = 'expired', updated_at = now()
     where id in (select id from archive_fetches where state = 'verified' and expires_at <= $1
                  order by expires_at limit $2 for update skip locked)
     returning *`,
    [now, limit],
  );
}

/** Expired or failed fetches whose folder may still be on disk (the sweep removes it, then clears `path`). */
export async function foldersToRemove(q: Queryable, limit: number): Promise<FetchRow[]> {
  return q.query<FetchRow>(
    `select * from archive_fetches where state in ('expired', 'failed') and path is not null
     order by updated_at limit $1`,
    [limit],
  );
}

export async function clearPath(q: Queryable, id: string): Promise<void> {
  await q.exec(`update archive_fetches set path = null where id = $1 and state in ('expired', 'failed')`, [
    id,
  ]);
}

const RETRIEVAL_COLUMNS = `r.id, r.file_id, r.fetch_id, f.archive_id, r.prefix, r.requested_by, r.requested_at, f.state, f.why,
  f.bytes_total, f.bytes_done, f.path, f.expires_at, f.verified_at`;

export async function retrievalsByIds(q: Queryable, ids: readonly string[]): Promise<RetrievalRow[]> {
  return q.query<RetrievalRow>(
    `select ${RETRIEVAL_COLUMNS} from retrievals r join archive_fetches f on f.id = r.fetch_id
     where r.id = any($1) order by r.id`,
    [ids],
  );
}

/** Requests, newest first, optionally only those whose fetch is in one of `states`. */
export async function listRetrievals(
  q: Queryable,
  f: { states?: readonly FetchState[]; file?: string; limit: number },
): Promise<RetrievalRow[]> {
  return q.query<RetrievalRow>(
    `select ${RETRIEVAL_COLUMNS} from retrievals r join archive_fetches f on f.id = r.fetch_id
     where ($1::text[] is null or f.state = any($1)) and ($2::text is null or r.file_id = $2)
     order by r.id desc limit $3`,
    [f.states ?? null, f.file ?? null, f.limit],
  );
}

/** Seconds the oldest live fetch of each state has waited (Prometheus retrieval wait). */
export async function fetchWaits(
  q: Queryable,
): Promise<{ state: FetchState; n: number; oldest_s: number }[]> {
  const rows = await q.query<{ state: FetchState; n: string; oldest_s: string | null }>(
    `select state, count(*) as n, extract(epoch from now() - min(requested_at)) as oldest_s
     from archive_fetches where state in ('requested', 'restoring', 'downloading') group by state`,
  );
  return rows.map((r) => ({ state: r.state, n: Number(r.n), oldest_s: Number(r.oldest_s ?? 0) }));
}
