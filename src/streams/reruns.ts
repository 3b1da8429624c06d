/**
 * Re-runs (`sluice units rerun`): a compute unit's current version and config run again over past
 * stream items, through the engine's pools. `previewRerun` counts what a re-run would cover;
 * `startRerun` records it (`unit_reruns`) and enqueues its `streams.rerun` task in one transaction;
 * the task stores a batch of new result rows per step (earlier rows stay: results keep their history)
 * and moves the re-run's cursor in the same transaction, so a crash repeats nothing and loses
 * nothing; `cancelRerun` stops it before its next batch. An item on which the unit throws is handed
 * to `streams.compute` (retried with backoff), as when it was first stored.
 */
import type { StreamsConfig } from '../core/config/schema/streams.ts';
import type { Db } from '../core/db/db.ts';
import { errorMessage, UsageError } from '../core/errors.ts';
import { ownEntry } from '../core/own.ts';
import { defineHandler, enqueueTask, Kind } from '../tasks/catalogue.ts';
import { advanceRerun, createRerun, finishRerun, getRerun, type RerunRow } from './reactions-repo.ts';
import {
  insertResults,
  latestResults,
  type RerunScope,
  type ResultInsert,
  rerunBatch,
  rerunPreview,
} from './repo.ts';
import { type LoadedUnit, loadUnits, runCompute } from './units.ts';

const BATCH = 200;

export interface RerunOptions {
  since?: Date;
  channel?: string;
}

/** The items a re-run of `unit` covers: `--channel`, else the unit's channels, else what any channel took. */
export function rerunScope(streams: StreamsConfig, unit: string, o: RerunOptions): RerunScope {
  const spec = ownEntry(streams.units, unit);
  if (spec?.kind !== 'compute') {
    const computes = Object.keys(streams.units).filter((u) => streams.units[u]!.kind === 'compute');
    throw new UsageError(
      `unit '${unit}': expected a compute unit under streams.units (${computes.join(', ') || 'none configured'})`,
      'only compute units are re-run; list them with `sluice units list`',
    );
  }
  if (o.channel !== undefined && !ownEntry(streams.channels, o.channel)) {
    throw new UsageError(
      `--channel: unknown channel '${o.channel}': expected one of ${Object.keys(streams.channels).join(', ') || 'none configured'}`,
    );
  }
  const anyChannels = Object.keys(streams.channels).length > 0;
  const channels = o.channel
    ? [o.channel]
    : (spec.channels ?? (anyChannels ? Object.keys(streams.channels) : undefined));
  return { since: o.since, channels };
}

export async function previewRerun(db: Db, streams: StreamsConfig, unit: string, o: RerunOptions) {
  const scope = rerunScope(streams, unit, o);
  const { n } = await rerunPreview(db, scope);
  return { unit, items: n, since: o.since?.toISOString() ?? null, channels: scope.channels ?? null };
}

/** Records a re-run and enqueues its task (in `pool`, default the kind's). */
export async function startRerun(
  db: Db,
  streams: StreamsConfig,
  baseDir: string,
  r: RerunOptions & { unit: string; actor: string; pool?: string },
): Promise<RerunRow> {
  const scope = rerunScope(streams, r.unit, r);
  const u = (await loadUnits({ ...streams, units: { [r.unit]: streams.units[r.unit]! } }, baseDir)).get(
    r.unit,
  )!;
  return db.tx(async (tx) => {
    const { n, last } = await rerunPreview(tx, scope);
    const row = await createRerun(tx, {
      unit: r.unit,
      unit_version: u.version,
      config_hash: u.hash,
      since: r.since ?? null,
      channel: r.channel ?? null,
      total: n,
      last_item: last,
      requested_by: r.actor,
    });
    await enqueueTask(tx, Kind.streamsRerun, row.id, {}, r.pool ? { pool: r.pool } : {});
    return row;
  });
}

export async function cancelRerun(db: Db, id: string, actor: string): Promise<RerunRow> {
  const row = await finishRerun(db, id, 'cancelled', { by: actor });
  if (row) return row;
  const now = await getRerun(db, id);
  if (!now) throw new UsageError(`no re-run ${id}`, 'list re-runs with `sluice units reruns`');
  throw new UsageError(`re-run ${id} is ${now.status} already; only a running re-run can be cancelled`);
}

/** One batch: results of the items the unit computed, and the items it threw on. */
async function computeBatch(db: Db, u: LoadedUnit, rerun: RerunRow, scope: RerunScope) {
  const items = await rerunBatch(db, {
    ...scope,
    afterId: rerun.cursor_item,
    lastId: rerun.last_item,
    limit: BATCH,
  });
  const rows: ResultInsert[] = [];
  const failed: string[] = [];
  for (const it of items) {
    try {
      const deps = await latestResults(db, it.id, u.spec.depends_on);
      const unitItem = { source: it.source, subject: it.subject, seq: it.stream_seq, payload: it.payload };
      const result = await runCompute(u, unitItem, deps);
      rows.push({
        itemId: it.id,
        unit: u.name,
        version: u.version,
        hash: u.hash,
        result: JSON.stringify(result),
      });
    } catch {
      failed.push(it.id);
    }
  }
  return { items, rows, failed };
}

export function rerunHandler(deps: { streams: StreamsConfig; baseDir: string }) {
  let units: Promise<Map<string, LoadedUnit>> | undefined;
  return defineHandler(Kind.streamsRerun, {
    async run(ctx) {
      const rerun = await getRerun(ctx.db, ctx.task.subject ?? '');
      if (rerun?.status !== 'running') return ctx.complete();
      units ??= loadUnits(deps.streams, deps.baseDir);
      const u = (await units).get(rerun.unit);
      if (!u?.compute) {
        return ctx.complete(async (tx) => {
          await finishRerun(tx, rerun.id, 'failed', {
            error: `compute unit '${rerun.unit}' is no longer configured`,
          });
        });
      }
      const scope = rerunScope(deps.streams, rerun.unit, {
        since: rerun.since ?? undefined,
        channel: rerun.channel ?? undefined,
      });
      const { items, rows, failed } = await computeBatch(ctx.db, u, rerun, scope);
      if (items.length === 0)
        return ctx.complete(async (tx) => void (await finishRerun(tx, rerun.id, 'done')));
      await ctx.again(0, async (tx) => {
        // a re-run cancelled meanwhile stores nothing more
        if (!(await advanceRerun(tx, rerun.id, items.at(-1)!.id, items.length))) return;
        await insertResults(tx, rows);
        for (const item of failed)
          await enqueueTask(tx, Kind.streamsCompute, `${item}/${u.name}`, { item, unit: u.name });
      });
      ctx.log.info(
        { rerun: rerun.id, unit: u.name, batch: items.length, failed: failed.length },
        're-run batch stored',
      );
    },
    async onFailed(tx, task, error) {
      await finishRerun(tx, task.subject ?? '', 'failed', { error: errorMessage(error) });
    },
  });
}
