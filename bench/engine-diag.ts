/**
 * Diagnostics for `bench/engine.ts`, on with BENCH_ENGINE_DIAG=1: the server runs with
 * pg_stat_statements (nested statements too, so the parts of sluice_claim/sluice_finish show), and
 * the worker connections' wait events are sampled every few ms during the rounds. Printed after
 * the figures: where PostgreSQL spends its time per statement, and what the workers wait on.
 */
import type { Db } from '../src/core/db/db.ts';

export const DIAG = process.env.BENCH_ENGINE_DIAG === '1';

/**
 * Extra server settings for experiments: BENCH_ENGINE_PG='commit_delay=300,commit_siblings=1'
 * (comma-separated name=value), on top of the server's own.
 */
function extraSettings(): Record<string, string> {
  const spec = process.env.BENCH_ENGINE_PG ?? '';
  return Object.fromEntries(
    spec
      .split(',')
      .filter((kv) => kv.includes('='))
      .map((kv) => kv.split('=', 2).map((x) => x.trim()) as [string, string]),
  );
}

/** Server settings: the diagnostics' (none when off), and BENCH_ENGINE_PG's. */
export const diagSettings = (): Record<string, string> => ({
  ...(DIAG
    ? {
        shared_preload_libraries: 'pg_stat_statements',
        'pg_stat_statements.track': 'all',
        track_io_timing: 'on',
      }
    : {}),
  ...extraSettings(),
});

/**
 * WAL flushes (fsyncs) and transactions committed so far, server-wide (pg_stat_io, PostgreSQL 16+;
 * pg_stat_database): what durable commits cost the disk, whatever the CPU load.
 */
export async function walCounters(db: Db): Promise<{ fsyncs: number; commits: number }> {
  const r = await db.one<{ fsyncs: string; commits: string }>(
    `select (select coalesce(sum(fsyncs), 0) from pg_stat_io where object = 'wal') as fsyncs,
       (select sum(xact_commit) from pg_stat_database) as commits`,
  );
  return { fsyncs: Number(r.fsyncs), commits: Number(r.commits) };
}

export async function diagSetup(db: Db): Promise<void> {
  if (!DIAG) return;
  await db.exec('create extension if not exists pg_stat_statements');
}

/** Samples the wait events of the worker connections until the returned function is called. */
export function sampleWaits(db: Db, label: string): () => Promise<void> {
  if (!DIAG) return async () => undefined;
  const counts = new Map<string, number>();
  let samples = 0;
  let on = true;
  const loop = (async () => {
    while (on) {
      const rows = await db.query<{ k: string }>(
        `select coalesce(state, '-') || ' | ' || coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, '-')
           || ' | ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 50) as k
         from pg_stat_activity where application_name = 'sluice-bench-worker' and state <> 'idle'`,
      );
      samples++;
      for (const r of rows) counts.set(r.k, (counts.get(r.k) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 3));
    }
  })();
  return async () => {
    on = false;
    await loop;
    console.log(
      `wait events of worker connections (${label}), ${samples} samples, busy connections per sample:`,
    );
    for (const [k, v] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 12))
      console.log(`  ${(v / samples).toFixed(3)}  ${k}`);
  };
}

/** The statements PostgreSQL spent most time in (top-level and nested), then resets the counts. */
export async function printStatements(db: Db, label: string, tasks: number): Promise<void> {
  if (!DIAG) return;
  const rows = await db.query<{ calls: string; total: number; mean: number; q: string }>(
    `select calls, total_exec_time as total, mean_exec_time as mean,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 90) as q
     from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
     order by total_exec_time desc limit 14`,
  );
  console.log(`statements by time (${label}): ms per 1000 tasks, calls per 1000 tasks, mean ms`);
  for (const r of rows)
    console.log(
      `  ${((r.total / tasks) * 1000).toFixed(1).padStart(7)}  ${((Number(r.calls) / tasks) * 1000).toFixed(1).padStart(7)}  ${r.mean.toFixed(3).padStart(7)}  ${r.q}`,
    );
  await resetStatements(db);
}

export async function resetStatements(db: Db): Promise<void> {
  if (DIAG) await db.exec('select pg_stat_statements_reset()');
}
