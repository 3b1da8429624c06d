/**
 * The samples' search index, maintained after the import commits (issue #22 bench): an import writes
 * its samples, the updates' history, one `sample_search_queue` row naming the range of ids of the
 * samples it created (`sample_id` to `last_id`: an id taken from the samples' sequence before its
 * COPY to the last one its session took after it, ./samples.ts `createSamples`) and one per sample
 * it updated, and enqueues a `catalog.index` task, all in its own
 * transaction: the task sees the samples and their queue rows together or not at all, whatever
 * order transactions commit in (no watermark to skip past a late commit). The task (this module's
 * handler) takes queued samples in batches and writes their `sample_search` rows (search text,
 * full-text vector; the GIN indexes are maintained here, not in the import), deleting (or, for a
 * range, moving past) the queue rows in the same transaction: a crash anywhere leaves the queue as
 * it was, and the task (durable, leased) runs again. Samples
 * with no search row at all (those imported before migration 0038) are indexed by the same pass.
 * Until indexed, a sample is found by its exact refcode only (src/catalog/search.ts).
 * Owns `sample_search` and `sample_search_queue` (search.ts reads `sample_search`).
 */
import type { Db, Queryable } from '../core/db/db.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { defineHandler, enqueueTask, Kind, scheduleOf } from '../tasks/catalogue.ts';
import { lockImports } from './samples.ts';

/** Samples indexed per transaction (each one a short lock on the search tables). */
export const INDEX_BATCH = 20_000;
/** The safety net: the task also runs this often (a lost wake-up, samples from before 0038). */
export const INDEX_EVERY_MS = 10 * 60_000;

const SEARCH_TEXT = `s.refcode || ' ' || s.name || ' ' || coalesce(s.type, '') || ' ' || s.project_id`;
const SEARCH_TSV = `to_tsvector('simple', s.refcode || ' ' || s.name || ' ' || coalesce(s.type, ''))
  || jsonb_to_tsvector('simple', s.attributes, '["string", "numeric", "boolean"]')`;
const UPSERT = `insert into sample_search (sample_id, refcode, search_text, search_tsv, indexed_at)
  select s.id, s.refcode, ${SEARCH_TEXT}, ${SEARCH_TSV}, now() from samples s`;
const ON_CONFLICT = `on conflict (sample_id) do update set refcode = excluded.refcode,
  search_text = excluded.search_text, search_tsv = excluded.search_tsv, indexed_at = excluded.indexed_at`;

/** Serialises index passes (two would take the same samples' rows in turn, harmlessly but twice). */
async function lockIndexing(q: Queryable): Promise<void> {
  await q.exec(`select pg_advisory_xact_lock(hashtext('sluice.catalog.index'))`);
}

/** A batch's count of samples indexed, and whether its kind of work may have more to do. */
interface Step {
  n: number;
  more: boolean;
}

/** One batch of samples queued one by one (updates) indexed, their queue rows deleted, in `q`'s transaction. */
async function indexQueuedBatch(q: Queryable, batch: number): Promise<Step> {
  const r = await q.one<{ n: number }>(
    `with taken as (
       delete from sample_search_queue
       where ctid = any(array(select ctid from sample_search_queue where last_id is null limit $1))
       returning sample_id),
     up as (${UPSERT} where s.id in (select sample_id from taken) ${ON_CONFLICT})
     select count(*)::int as n from taken`,
    [batch],
  );
  return { n: r.n, more: r.n === batch };
}

/**
 * The first `batch` ids of one queued range (an import's created samples) indexed, in `q`'s
 * transaction: the range row is moved past them, or deleted with its last ids. Ids in the range
 * with no sample (an import rolled back took them) are skipped; indexing a sample twice is harmless.
 */
async function indexRangeBatch(q: Queryable, batch: number): Promise<Step> {
  const range = await q.maybeOne<{ at: string; lo: string; hi: string }>(
    `select ctid::text as at, sample_id::text as lo, last_id::text as hi from sample_search_queue
     where last_id is not null order by queued_at limit 1 for update`,
  );
  if (!range) return { n: 0, more: false };
  const upto = BigInt(range.lo) + BigInt(batch) - 1n;
  const end = upto < BigInt(range.hi) ? upto : BigInt(range.hi);
  const r = await q.one<{ n: number }>(
    `with up as (${UPSERT} where s.id between $1 and $2 ${ON_CONFLICT} returning 1)
     select count(*)::int as n from up`,
    [range.lo, String(end)],
  );
  if (end < BigInt(range.hi)) {
    await q.exec('update sample_search_queue set sample_id = $2 where ctid = $1::tid', [
      range.at,
      String(end + 1n),
    ]);
  } else {
    await q.exec('delete from sample_search_queue where ctid = $1::tid', [range.at]);
  }
  return { n: r.n, more: true };
}

/** One batch of samples that have no search row at all (imported before migration 0038). */
async function indexMissingBatch(q: Queryable, batch: number): Promise<Step> {
  const r = await q.one<{ n: number }>(
    `with up as (
       ${UPSERT} where not exists (select 1 from sample_search x where x.sample_id = s.id)
       order by s.id limit $1 ${ON_CONFLICT} returning 1)
     select count(*)::int as n from up`,
    [batch],
  );
  return { n: r.n, more: r.n === batch };
}

/**
 * Indexes every queued sample (queued one by one or as a range) and every sample without a search
 * row, a batch per transaction; returns how many samples were taken. Idempotent: run it again at
 * any point.
 */
export async function indexPending(db: Db, batch = INDEX_BATCH): Promise<number> {
  let total = 0;
  for (const step of [indexQueuedBatch, indexRangeBatch, indexMissingBatch]) {
    for (;;) {
      const { n, more } = await db.tx(async (tx) => {
        await lockIndexing(tx);
        return step(tx, batch);
      });
      total += n;
      if (!more) break;
    }
  }
  return total;
}

export interface IndexBacklog {
  /** Samples written and not yet indexed (a sample re-imported twice, queued twice, counts twice). */
  queued: number;
  /** Samples with no search row that are not queued either (imported before migration 0038). */
  unqueued: number;
  /** Seconds the oldest queue row has waited (null: none). */
  oldest_s: number | null;
}

/** What the search index has still to do (`sluice status`, the import's report). */
export async function indexBacklog(q: Queryable): Promise<IndexBacklog> {
  return q.one<IndexBacklog>(
    `select ((select count(*) from sample_search_queue where last_id is null)
       + (select count(*) from sample_search_queue w join samples s on s.id between w.sample_id and w.last_id
          where w.last_id is not null))::int as queued,
       (select count(*) from samples s
         where not exists (select 1 from sample_search x where x.sample_id = s.id)
           and not exists (select 1 from sample_search_queue w where w.sample_id = s.id and w.last_id is null)
           and not exists (select 1 from sample_search_queue w
             where w.last_id is not null and s.id between w.sample_id and w.last_id))::int as unqueued,
       (select extract(epoch from now() - min(queued_at))::int from sample_search_queue) as oldest_s`,
  );
}

/** Asks for an index pass, in the caller's transaction (a no-op while one is queued or running). */
export async function requestIndexing(q: Queryable): Promise<void> {
  await enqueueTask(q, Kind.catalogIndex, 'samples', {});
}

/**
 * Are samples queued that no index task will see? Asked after a pass completes: an import that
 * committed while it ran found it running, and its enqueue did nothing. Taking the imports' lock
 * first waits for an import in flight (its queue rows are then visible).
 */
async function queuedAfterPass(db: Db): Promise<boolean> {
  return db.tx(async (tx) => {
    await lockImports(tx);
    const r = await tx.one<{ any: boolean }>('select exists (select 1 from sample_search_queue) as any');
    return r.any;
  });
}

export function catalogIndexHandler(): TaskHandlerDef {
  return defineHandler(Kind.catalogIndex, {
    async run(ctx) {
      const n = await indexPending(ctx.db);
      if (n > 0) ctx.log.info({ samples: n }, 'samples indexed for search');
      await ctx.complete();
      if (await queuedAfterPass(ctx.db)) await requestIndexing(ctx.db);
    },
  });
}

export function catalogIndexSchedules(): ScheduleSpec[] {
  return [scheduleOf(Kind.catalogIndex, { name: Kind.catalogIndex, intervalMs: INDEX_EVERY_MS })];
}
