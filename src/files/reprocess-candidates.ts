/**
 * The files repo's read for processing re-runs (src/process/reruns.ts): files whose processing has
 * ended (done, done_not_processed, processing_failed: a verified backup exists and no job of theirs
 * is running), page by page in id order after a cursor, narrowed by instrument, project and
 * acquisition time. Part of the owner of `files`.
 */
import type { Queryable } from '../core/db/db.ts';
import type { FileStatus } from './lifecycle.ts';

/** The states a re-run takes files from: processing over, a verified backup to read. */
export const REPROCESSABLE: readonly FileStatus[] = ['done', 'done_not_processed', 'processing_failed'];

export interface ReprocessScope {
  since?: Date | null;
  instrument?: string | null;
  project?: string | null;
}

export interface ReprocessCandidate {
  id: string;
  name: string;
  project_id: string;
  instrument_id: string;
}

const WHERE = `status = any($1) and ($2::timestamptz is null or coalesce(acquired_at, created_at) >= $2)
  and ($3::text is null or instrument_id = $3) and ($4::text is null or project_id = $4)`;

const args = (s: ReprocessScope) => [REPROCESSABLE, s.since ?? null, s.instrument ?? null, s.project ?? null];

/** Up to `limit` files in scope with an id after `afterId` and at most `upTo`, in id order. */
export async function reprocessCandidates(
  q: Queryable,
  s: ReprocessScope & { afterId: string; upTo: string; limit: number },
): Promise<ReprocessCandidate[]> {
  return q.query<ReprocessCandidate>(
    `select id, name, project_id, instrument_id from files
      where ${WHERE} and id > $5 and id <= $6 order by id limit $7`,
    [...args(s), s.afterId, s.upTo, s.limit],
  );
}

/** How many files are in scope, and the highest id among them ('' when none). */
export async function reprocessScopeSize(
  q: Queryable,
  s: ReprocessScope,
): Promise<{ n: number; last: string }> {
  const row = await q.one<{ n: number; last: string | null }>(
    `select count(*)::int as n, max(id) as last from files where ${WHERE}`,
    args(s),
  );
  return { n: row.n, last: row.last ?? '' };
}
