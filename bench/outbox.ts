/**
 * Benchmark of the outbox trigger (issue #21) on the event log: what recording file events costs with
 * the trigger in place, off (no `streams.publish`: nothing written) and on (an outbox row per event),
 * against the same inserts with the trigger disabled — the baseline, measured in the same run.
 *
 *   Each round moves FILES files through three transitions with `transitionMany` (a statement of
 *   1,000 files each, as the scan does) and adds a timeline entry to each with `addToTimeline` (one
 *   statement per event, as most code paths do), on a fresh embedded PostgreSQL (durable settings).
 *   Variants run interleaved, ROUNDS times each; medians reported.
 *
 *   off_ratio_vs_no_trigger   time with the trigger present and the outbox off / baseline
 *   on_ratio_vs_no_trigger    time with the outbox on / baseline
 *   events                    events recorded per round
 *
 * Run: `npm run bench -- outbox` (about a minute). BENCH_OUTBOX_FILES sets FILES (default 5,000).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDb, type Db } from '../src/core/db/db.ts';
import { freePort, startEmbedded } from '../src/core/db/embedded.ts';
import { migrate } from '../src/core/db/migrate.ts';
import { silentLogger } from '../src/core/log.ts';
import { addToTimeline, type FileStatus, transitionMany } from '../src/files/lifecycle.ts';
import { setOutboxEnabled } from '../src/streams/outbox-repo.ts';
import { isMain, printResult, printTable } from './lib.ts';

const FILES = Number(process.env.BENCH_OUTBOX_FILES ?? 5000);
const ROUNDS = 5;
const CHUNK = 1000;
type Variant = 'no_trigger' | 'off' | 'on';

async function round(db: Db, tag: string): Promise<number> {
  const ids = Array.from({ length: FILES }, (_, i) => `${tag}-${i}`);
  await db.exec(
    `insert into files (id, instrument_id, name, kind, source_path, project_id, status, size_bytes, mtime)
     select x, 'qe1', x, 'file', '/d/' || x, 'PRJ1', 'discovered', 1, now() from unnest($1::text[]) x`,
    [ids],
  );
  const steps: [FileStatus, FileStatus][] = [
    ['discovered', 'acquiring'],
    ['acquiring', 'acquired'],
    ['acquired', 'backing_up'],
  ];
  const t0 = performance.now();
  for (const [from, to] of steps) {
    for (let i = 0; i < ids.length; i += CHUNK) {
      await db.tx((tx) => transitionMany(tx, ids.slice(i, i + CHUNK), to, { actor: 'bench', from: [from] }));
    }
  }
  for (const id of ids.slice(0, FILES / 5)) await addToTimeline(db, id, 'bench', 'a note');
  return performance.now() - t0;
}

async function setVariant(db: Db, v: Variant): Promise<void> {
  // bench only: DDL on the events table to measure the baseline without the trigger
  await db.exec(`alter table events ${v === 'no_trigger' ? 'disable' : 'enable'} trigger events_outbox`);
  await setOutboxEnabled(db, v === 'on');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<Record<string, unknown>> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sluice-bench-outbox-'));
  const server = await startEmbedded({ dataDir, port: await freePort(), log: silentLogger });
  const db = createDb(server.url);
  const load = os.loadavg()[0]!;
  try {
    await migrate(db);
    await db.exec(`insert into instruments (id, type, watch_path) values ('qe1', 'thermo', '/d')`);
    const times: Record<Variant, number[]> = { no_trigger: [], off: [], on: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const v of ['no_trigger', 'off', 'on'] as const) {
        await setVariant(db, v);
        times[v].push(await round(db, `${v}${r}`));
      }
    }
    const base = median(times.no_trigger);
    printTable(
      (['no_trigger', 'off', 'on'] as const).map((v) => ({
        variant: v,
        median_ms: Math.round(median(times[v])),
        rounds_ms: times[v].map(Math.round).join(' '),
      })),
    );
    return {
      events: FILES * 3 + FILES / 5,
      no_trigger_ms: Math.round(base),
      off_ratio_vs_no_trigger: +(median(times.off) / base).toFixed(3),
      on_ratio_vs_no_trigger: +(median(times.on) / base).toFixed(3),
      load_1min_at_start: +load.toFixed(2),
      load_1min_at_end: +os.loadavg()[0]!.toFixed(2),
    };
  } finally {
    await db.close();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) printResult(await run());
