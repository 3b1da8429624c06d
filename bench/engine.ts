/**
 * Benchmark of the engine (src/engine): no-op tasks through Sluice's worker vs graphile-worker 0.17,
 * both on ONE embedded PostgreSQL started here in a temp dir with durable settings (fsync on), each
 * in its own database (`sluice_bench`, `gw_bench`).
 *
 *   tasks_per_s_one       20,000 noop tasks, one worker process (bench/engine-worker.ts), concurrency 24
 *   tasks_per_s_two       the same with two worker processes, 12 each (same total concurrency)
 *   two_vs_one_ratio      tasks_per_s_two / tasks_per_s_one (goal ≥ 1: a second process adds, not costs)
 *   two_full_vs_one_ratio information beside the goal: two processes × 24 each (the pool opened to 48)
 *                         against one × 24, i.e. what a second whole worker adds on the same machine
 *   statements_per_task_* statements the workers sent per task (claims, completions, heartbeats …)
 *   worker_rss_mb         the largest peak RSS of a worker process in the two-process rounds
 *   wal_fsyncs_per_1k_*   WAL flushes (fsyncs, pg_stat_io) per 1,000 tasks, server-wide, one and two
 *                         processes: durable commits cost the disk this many flushes whatever the
 *                         CPU load. Two processes flushing twice as often as one take turns at the
 *                         WAL instead of sharing flushes (each flush carries one process's batch)
 *   pickup_p50/p99_ms     idle worker; 200 tasks enqueued one at a time ~20 ms apart; the handler
 *                         measures Date.now() minus the enqueue time stamped in the payload
 *   baseline_tasks_per_s  graphile-worker: concurrency 24, pollInterval 1000, its default settings
 *                         otherwise (no local queue, no batched completion), 20,000 jobs added
 *                         before the runner starts; ratio_vs_baseline = one process against it,
 *                         two_ratio_vs_baseline = two processes against it
 *
 * Throughput is N / (last finish − first start), from the tasks table for Sluice (started_at,
 * finished_at) and from graphile-worker's `job:start` / `job:complete` events (its rows are
 * deleted on completion); the completion pollers run at the same rate for both. One and two
 * processes alternate, 1 2 2 1 1 2, with graphile-worker's two rounds after the first two: other
 * programs on the machine share its CPUs, and the load drifts. Each figure is the median of its
 * rounds. CPU time per 1,000 tasks (worker processes + PostgreSQL) is printed too: it is less
 * sensitive to such noise than the rate. BENCH_ENGINE_N (tasks), BENCH_ENGINE_ROUNDS (1–3 per
 * mode) and BENCH_ENGINE_BASELINE=0 (no graphile-worker) make quicker runs; BENCH_ENGINE_DIAG=1
 * prints where PostgreSQL spends its time and what the workers wait on (bench/engine-diag.ts);
 * BENCH_ENGINE_PG='commit_delay=300,commit_siblings=0' adds server settings (experiments only);
 * BENCH_ENGINE_CPU_PROF=<dir> has each worker process write a V8 CPU profile there (`--cpu-prof`).
 * Run: `npm run bench -- engine`. The last line is a JSON object.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Logger as GwLogger,
  run as gwRun,
  makeWorkerUtils,
  type WorkerEvents,
  type WorkerUtils,
} from 'graphile-worker';
import pg from 'pg';
import { createDb, type Db } from '../src/core/db/db.ts';
import { type EmbeddedServer, freePort, startEmbedded } from '../src/core/db/embedded.ts';
import { migrate } from '../src/core/db/migrate.ts';
import { silentLogger } from '../src/core/log.ts';
import { enqueue, enqueueMany } from '../src/engine/enqueue.ts';
import { syncPools } from '../src/engine/pools.ts';
import type { TaskSpec } from '../src/engine/types.ts';
import { Worker } from '../src/engine/worker.ts';
import {
  diagSettings,
  diagSetup,
  printStatements,
  resetStatements,
  sampleWaits,
  walCounters,
} from './engine-diag.ts';
import { isMain, percentile, printResult, printTable } from './lib.ts';
import { cpuMsOf, postgresCpuMs, postmasterPidOf, processCpuMs, vmRss } from './proc.ts';

const N = Number(process.env.BENCH_ENGINE_N ?? 20_000);
const BATCH = 2_000;
const CONCURRENCY = 24;
const PICKUPS = 200;
const PICKUP_GAP_MS = 20;
const POLL_MS = 100;
/** Rounds per mode (1–3); BENCH_ENGINE_BASELINE=0 skips graphile-worker (for quick comparisons). */
const ROUNDS = Math.min(3, Math.max(1, Number(process.env.BENCH_ENGINE_ROUNDS ?? 3)));
const BASELINE = process.env.BENCH_ENGINE_BASELINE !== '0';
const PHASE_TIMEOUT_MS = 120_000;

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (v: number, digits = 0) => Math.round(v * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------- helpers

/** Polls `fn` every POLL_MS until it is true; throws after PHASE_TIMEOUT_MS with `progress()`. */
async function until(
  what: string,
  fn: () => Promise<boolean>,
  progress: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${await progress()})`);
    await sleep(POLL_MS);
  }
}

interface Throughput {
  perS: number;
  /** From starting the worker(s) until the poller saw every task done. */
  wallS: number;
  /** CPU time of the worker process(es) and PostgreSQL, per 1,000 tasks. */
  cpuMsPer1k: number;
  /** Of which PostgreSQL's. */
  pgCpuMsPer1k: number;
}

/** Measures CPU from `start()` to `stop()`: `nodeCpu` for the worker side, plus PostgreSQL. */
function cpuMeter(postmasterPid: number, nodeCpu: () => number) {
  const n0 = nodeCpu();
  const p0 = postgresCpuMs(postmasterPid);
  return () => {
    const pgMs = postgresCpuMs(postmasterPid) - p0;
    return { cpuMsPer1k: (nodeCpu() - n0 + pgMs) / (N / 1000), pgCpuMsPer1k: pgMs / (N / 1000) };
  };
}

// ---------------------------------------------------------------- Sluice

const noopSpecs = (n: number): TaskSpec[] => Array.from({ length: n }, () => ({ kind: 'noop' }));

/** An empty tasks table: no phase pays for the previous one's rows. */
async function resetSluice(db: Db): Promise<void> {
  await db.exec('truncate tasks restart identity');
}

async function enqueueNoops(db: Db): Promise<void> {
  for (let done = 0; done < N; done += BATCH) await enqueueMany(db, noopSpecs(Math.min(BATCH, N - done)));
}

/** Statistics and dead rows settled, dirty pages written: the timed phase starts from rest. */
async function settle(db: Db, table: string): Promise<void> {
  await db.exec(`vacuum analyze ${table}`);
  await db.exec('checkpoint');
}

/** Finished count, and throughput from the database's own timestamps (no polling bias). */
async function sluiceProgress(db: Db): Promise<{ done: number; seconds: number }> {
  const r = await db.one<{ done: string; seconds: number | null }>(
    `select count(*) filter (where state = 'succeeded') as done,
       extract(epoch from max(finished_at) - min(started_at))::float8 as seconds from tasks`,
  );
  return { done: Number(r.done), seconds: r.seconds ?? Number.NaN };
}

/**
 * Waits until nothing is queued or running (a look at the two partial indexes: the poll must not
 * scan the whole table ten times a second, which took CPU from the rounds it measures), then counts.
 */
async function waitAllSucceeded(db: Db): Promise<number> {
  await until(
    `${N} tasks to succeed`,
    async () =>
      (
        await db.one<{ idle: boolean }>(
          `select not exists (select 1 from tasks where state = 'queued')
             and not exists (select 1 from tasks where state = 'running') as idle`,
        )
      ).idle,
    async () => `${(await sluiceProgress(db)).done}/${N} succeeded`,
  );
  const last = await sluiceProgress(db);
  if (last.done < N) throw new Error(`only ${last.done}/${N} tasks succeeded`);
  return last.seconds;
}

interface Spawned {
  child: ChildProcess;
  out: () => string;
}

function spawnWorker(url: string, id: string, concurrency: number): Promise<Spawned> {
  const prof = process.env.BENCH_ENGINE_CPU_PROF;
  const profArgs = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [];
  const child = spawn(
    process.execPath,
    [...profArgs, '--import', 'tsx', path.join(here, 'engine-worker.ts')],
    {
      cwd: root,
      env: { ...process.env, DATABASE_URL: url, WORKER_ID: id, CONCURRENCY: String(concurrency) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`engine-worker ${id} exited with ${code} before ready:\n${out}`));
    child.once('exit', onExit);
    const check = () => {
      if (!out.includes('ready\n')) return;
      child.stdout!.off('data', check);
      child.off('exit', onExit);
      resolve({ child, out: () => out });
    };
    child.stdout!.on('data', check);
  });
}

/** SIGTERM, wait for exit (SIGKILL after 10 s); returns the RSS the child reported, if any. */
async function stopWorker(w: Spawned): Promise<number> {
  const { child } = w;
  if (child.exitCode === null && child.signalCode === null) {
    // 'close': exited and its stdout read to the end (the rss and stats lines)
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }
  const m = /rss (\d+)/.exec(w.out());
  return m ? Number(m[1]) : 0;
}

/** Sums the `stats` lines the worker processes printed at exit (statements by kind: count, ms). */
type Stats = Record<string, { n: number; ms: number }>;

function addStats(into: Stats, out: string): void {
  const m = /^stats (.*)$/m.exec(out);
  if (!m) return;
  addInto(into, JSON.parse(m[1]!) as Stats);
}

function addInto(into: Stats, from: Stats): void {
  for (const [k, v] of Object.entries(from)) {
    const s = into[k] ?? { n: 0, ms: 0 };
    s.n += v.n;
    s.ms += v.ms;
    into[k] = s;
  }
}

interface Processes extends Throughput {
  rss: number;
  stats: Stats;
  /** WAL flushes and commits server-wide per 1,000 tasks (counted after the workers exited). */
  fsyncsPer1k: number;
  commitsPer1k: number;
}

/**
 * N noop tasks through `count` worker processes (bench/engine-worker.ts), `each` slots apiece
 * (CONCURRENCY split evenly unless given): the tasks are enqueued into a drained pool, the workers
 * started idle, then the pool opened to all their slots, so all start together.
 */
async function oursProcesses(
  db: Db,
  url: string,
  pgPid: number,
  children: Spawned[],
  count: number,
  each = CONCURRENCY / count,
): Promise<Processes> {
  await resetSluice(db);
  await syncPools(db, { default: 0 });
  await enqueueNoops(db);
  await settle(db, 'tasks');
  for (let i = 0; i < count; i++) children.push(await spawnWorker(url, `bench-${i}`, each));
  const childCpu = () => children.reduce((sum, c) => sum + (c.child.pid ? cpuMsOf(c.child.pid) : 0), 0);
  let rss = 0;
  const sampler = setInterval(() => {
    for (const c of children) if (c.child.pid) rss = Math.max(rss, vmRss(c.child.pid));
  }, 100);
  try {
    const cpu = cpuMeter(pgPid, childCpu);
    await resetStatements(db);
    const wal0 = await walCounters(db);
    const label = `${count} process(es) x ${each}`;
    const waits = sampleWaits(db, label);
    const t0 = performance.now();
    await syncPools(db, { default: count * each });
    await db.exec(`select pg_notify('sluice_tasks', 'default')`);
    const seconds = await waitAllSucceeded(db);
    await waits();
    await printStatements(db, label, N);
    const wallS = (performance.now() - t0) / 1000;
    const used = cpu();
    clearInterval(sampler);
    const stats: Stats = {};
    for (const c of children.splice(0)) {
      rss = Math.max(rss, await stopWorker(c));
      addStats(stats, c.out());
    }
    const wal1 = await walCounters(db); // the workers' backends reported their counts as they exited
    const fsyncsPer1k = (wal1.fsyncs - wal0.fsyncs) / (N / 1000);
    const commitsPer1k = (wal1.commits - wal0.commits) / (N / 1000);
    return { perS: N / seconds, wallS, ...used, rss, stats, fsyncsPer1k, commitsPer1k };
  } finally {
    clearInterval(sampler);
  }
}

async function oursPickup(db: Db): Promise<{ latencies: number[]; commitMs: number[] }> {
  await resetSluice(db);
  await settle(db, 'tasks');
  const latencies: number[] = [];
  const worker = new Worker({
    db,
    log: silentLogger,
    concurrency: CONCURRENCY,
    handlers: [
      {
        kind: 'noop',
        async run(ctx) {
          latencies.push(Date.now() - Number(ctx.task.payload.t));
        },
      },
    ],
  });
  await worker.start();
  try {
    await sleep(500); // idle: the first claim found nothing, the worker waits for a notification
    const commitMs: number[] = [];
    for (let i = 0; i < PICKUPS; i++) {
      const t = Date.now();
      await enqueue(db, { kind: 'noop', payload: { t } });
      commitMs.push(Date.now() - t);
      await sleep(PICKUP_GAP_MS);
    }
    await until(
      `${PICKUPS} pickups`,
      async () => latencies.length >= PICKUPS,
      async () => `${latencies.length}/${PICKUPS} picked up`,
    );
    return { latencies, commitMs };
  } finally {
    await worker.stop(5000);
  }
}

// ---------------------------------------------------------------- graphile-worker

const gwLogger = new GwLogger(() => () => undefined);

class Graphile {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly utils: WorkerUtils,
    private readonly db: Db,
    private readonly pgPid: number,
  ) {}

  static async open(url: string, db: Db, pgPid: number): Promise<Graphile> {
    // Our own pool (same size rule as ours: concurrency + 2), so we know it is closed at the end.
    const pool = new pg.Pool({
      connectionString: url,
      max: CONCURRENCY + 2,
      application_name: 'graphile-worker',
    });
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    const utils = await makeWorkerUtils({ pgPool: pool, logger: gwLogger });
    await utils.migrate();
    return new Graphile(pool, utils, db, pgPid);
  }

  private async start(noop: (payload: unknown) => Promise<void>, events?: WorkerEvents) {
    return gwRun({
      pgPool: this.pool,
      concurrency: CONCURRENCY,
      noHandleSignals: true,
      pollInterval: 1000,
      logger: gwLogger,
      events,
      taskList: { noop },
    });
  }

  /** All jobs added before the runner starts; timed from the first job:start to the last job:complete. */
  async throughput(): Promise<Throughput> {
    for (let done = 0; done < N; done += BATCH) {
      const n = Math.min(BATCH, N - done);
      await this.utils.addJobs(Array.from({ length: n }, () => ({ identifier: 'noop', payload: {} })));
    }
    await settle(this.db, 'graphile_worker._private_jobs');
    let first = 0;
    let last = 0;
    let completed = 0;
    const events: WorkerEvents = new EventEmitter();
    events.on('job:start', () => {
      if (first === 0) first = performance.now();
    });
    events.on('job:complete', () => {
      completed++;
      last = performance.now();
    });
    const cpu = cpuMeter(this.pgPid, processCpuMs);
    const t0 = performance.now();
    const runner = await this.start(async () => undefined, events);
    try {
      let left = N;
      await until(
        `${N} graphile-worker jobs to finish`,
        async () => {
          left = Number(
            (await this.db.one<{ n: string }>('select count(*) as n from graphile_worker._private_jobs')).n,
          );
          return left === 0 && completed >= N;
        },
        async () => `${left} jobs left, ${completed} completed`,
      );
      return { perS: N / ((last - first) / 1000), wallS: (performance.now() - t0) / 1000, ...cpu() };
    } finally {
      await runner.stop();
      await runner.promise.catch(() => undefined);
    }
  }

  /** Same protocol as ours. */
  async pickup(): Promise<number[]> {
    await settle(this.db, 'graphile_worker._private_jobs');
    const latencies: number[] = [];
    const runner = await this.start(async (payload) => {
      latencies.push(Date.now() - Number((payload as { t: number }).t));
    });
    try {
      await sleep(500);
      for (let i = 0; i < PICKUPS; i++) {
        await this.utils.addJob('noop', { t: Date.now() });
        await sleep(PICKUP_GAP_MS);
      }
      await until(
        `${PICKUPS} graphile-worker pickups`,
        async () => latencies.length >= PICKUPS,
        async () => `${latencies.length}/${PICKUPS} picked up`,
      );
      return latencies;
    } finally {
      await runner.stop();
      await runner.promise.catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.utils.release();
    await this.pool.end();
  }
}

// ---------------------------------------------------------------- the benchmark

async function createDatabases(server: EmbeddedServer, names: string[]): Promise<Record<string, string>> {
  const adminUrl = server.url.replace(/\/sluice$/, '/postgres');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    for (const n of names) await admin.query(`create database ${pg.escapeIdentifier(n)}`);
  } finally {
    await admin.end();
  }
  return Object.fromEntries(names.map((n) => [n, adminUrl.replace(/\/postgres$/, `/${n}`)]));
}

const median = (vs: number[]): number => {
  const s = [...vs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Each figure's median over the rounds. */
const medianOf = (rounds: Throughput[]): Throughput => ({
  perS: median(rounds.map((r) => r.perS)),
  wallS: median(rounds.map((r) => r.wallS)),
  cpuMsPer1k: median(rounds.map((r) => r.cpuMsPer1k)),
  pgCpuMsPer1k: median(rounds.map((r) => r.pgCpuMsPer1k)),
});

/** Statements the workers sent per task (claims, completions, transactions, heartbeats), all rounds. */
function perTask(rounds: Processes[]): number {
  const n = rounds.reduce((sum, r) => sum + Object.values(r.stats).reduce((a, s) => a + s.n, 0), 0);
  return n / (N * rounds.length);
}

/** Statements by kind over `rounds`: count per task and mean ms each, e.g. `claim 0.21 × 3.1 ms`. */
function statsLine(rounds: Processes[]): string {
  const all: Stats = {};
  for (const r of rounds) addInto(all, r.stats);
  return Object.entries(all)
    .sort((a, b) => b[1].n - a[1].n)
    .map(([k, v]) => `${k} ${round(v.n / (N * rounds.length), 3)} × ${round(v.ms / v.n, 1)} ms`)
    .join(', ');
}

const loadavg = () => os.loadavg()[0]!.toFixed(2);

export async function run(): Promise<Record<string, number>> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'sluice-bench-engine-'));
  let server: EmbeddedServer | undefined;
  let graphile: Graphile | undefined;
  const dbs: Db[] = [];
  const children: Spawned[] = [];
  let cleaned: Promise<void> | undefined;
  const cleanup = () => {
    cleaned ??= (async () => {
      for (const c of children.splice(0)) await stopWorker(c).catch(() => undefined);
      await graphile?.close().catch(() => undefined);
      for (const db of dbs.splice(0)) await db.close().catch(() => undefined);
      await server?.stop().catch(() => undefined);
      await rm(tmp, { recursive: true, force: true });
    })();
    return cleaned;
  };
  const onSignal = (sig: NodeJS.Signals) => {
    void cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const loadStart = loadavg();
    server = await startEmbedded({
      dataDir: tmp,
      port: await freePort(),
      log: silentLogger,
      settings: diagSettings(),
    });
    const pgPid = postmasterPidOf(tmp);
    const urls = await createDatabases(server, ['sluice_bench', 'gw_bench']);
    const ours = createDb(urls.sluice_bench!, { max: CONCURRENCY + 2, applicationName: 'sluice-bench' });
    const gwDb = createDb(urls.gw_bench!, { max: 2, applicationName: 'sluice-bench-gw' });
    dbs.push(ours, gwDb);
    await migrate(ours);
    await diagSetup(ours);
    await syncPools(ours, { default: CONCURRENCY });
    graphile = await Graphile.open(urls.gw_bench!, gwDb, pgPid);

    // One and two worker processes alternate (1 2 2 1 1 2), graphile-worker in the middle: the
    // machine's load drifts, and each mode gets early and late rounds alike. Medians count. Two
    // whole workers (2 × 24, information only: 'full') take a round after each pair.
    const ones: Processes[] = [];
    const twos: Processes[] = [];
    const fulls: Processes[] = [];
    const gwRounds: Throughput[] = [];
    const procs = (k: number, each?: number) =>
      oursProcesses(ours, urls.sluice_bench!, pgPid, children, k, each);
    const order = ([1, 2, 'full', 2, 1, 'full', 1, 2, 'full'] as const).slice(0, ROUNDS * 3);
    for (const [i, k] of order.entries()) {
      if (k === 'full') fulls.push(await procs(2, CONCURRENCY));
      else (k === 1 ? ones : twos).push(await procs(k));
      if (i === 1 && BASELINE) for (let j = 0; j < 2; j++) gwRounds.push(await graphile.throughput());
    }
    const pick = await oursPickup(ours);
    const gwPick = BASELINE ? await graphile.pickup() : [Number.NaN];
    const one = medianOf(ones);
    const two = medianOf(twos);
    const full = medianOf(fulls);
    const gw = BASELINE
      ? medianOf(gwRounds)
      : { perS: Number.NaN, wallS: Number.NaN, cpuMsPer1k: Number.NaN, pgCpuMsPer1k: Number.NaN };

    const result = {
      tasks_per_s_one: round(one.perS),
      tasks_per_s_two: round(two.perS),
      two_vs_one_ratio: round(two.perS / one.perS, 2),
      two_full_vs_one_ratio: round(full.perS / one.perS, 2),
      baseline_tasks_per_s: round(gw.perS),
      ratio_vs_baseline: round(one.perS / gw.perS, 2),
      two_ratio_vs_baseline: round(two.perS / gw.perS, 2),
      statements_per_task_one: round(perTask(ones), 2),
      statements_per_task_two: round(perTask(twos), 2),
      pickup_p50_ms: round(percentile(pick.latencies, 50), 1),
      pickup_p99_ms: round(percentile(pick.latencies, 99), 1),
      worker_rss_mb: round(Math.max(...twos.map((t) => t.rss)) / 1024 / 1024),
      wal_fsyncs_per_1k_one: round(median(ones.map((r) => r.fsyncsPer1k)), 1),
      wal_fsyncs_per_1k_two: round(median(twos.map((r) => r.fsyncsPer1k)), 1),
    };
    const ms = (v: number) => round(v, 1);
    const rounds = (rs: Throughput[]) => rs.map((r) => round(r.perS)).join(' / ');
    console.log(
      `engine: ${N} noop tasks, concurrency ${CONCURRENCY}, fsync on; load average ${loadStart} at start, ${loadavg()} at end`,
    );
    printTable([
      {
        measure: `tasks/s, 1 process x ${CONCURRENCY} (median)`,
        ours: result.tasks_per_s_one,
        baseline: result.baseline_tasks_per_s,
        ratio: result.ratio_vs_baseline,
      },
      { measure: '  rounds, tasks/s', ours: rounds(ones), baseline: rounds(gwRounds), ratio: '' },
      {
        measure: '  CPU ms per 1000 tasks (workers + postgres)',
        ours: round(one.cpuMsPer1k),
        baseline: round(gw.cpuMsPer1k),
        ratio: round(one.cpuMsPer1k / gw.cpuMsPer1k, 2),
      },
      {
        measure: '    of which PostgreSQL',
        ours: round(one.pgCpuMsPer1k),
        baseline: round(gw.pgCpuMsPer1k),
        ratio: '',
      },
      {
        measure: `tasks/s, 2 processes x ${CONCURRENCY / 2} (median)`,
        ours: result.tasks_per_s_two,
        baseline: '',
        ratio: result.two_ratio_vs_baseline,
      },
      { measure: '  rounds, tasks/s', ours: rounds(twos), baseline: '', ratio: '' },
      {
        measure: '  CPU ms per 1000 tasks (workers + postgres)',
        ours: round(two.cpuMsPer1k),
        baseline: '',
        ratio: round(two.cpuMsPer1k / gw.cpuMsPer1k, 2),
      },
      { measure: '    of which PostgreSQL', ours: round(two.pgCpuMsPer1k), baseline: '', ratio: '' },
      { measure: 'two processes vs one, tasks/s', ours: result.two_vs_one_ratio, baseline: '', ratio: '' },
      {
        measure: `tasks/s, 2 processes x ${CONCURRENCY} (pool ${2 * CONCURRENCY}; information)`,
        ours: round(full.perS),
        baseline: '',
        ratio: '',
      },
      { measure: '  rounds, tasks/s', ours: rounds(fulls), baseline: '', ratio: '' },
      {
        measure: '  CPU ms per 1000 tasks (workers + postgres)',
        ours: round(full.cpuMsPer1k),
        baseline: '',
        ratio: '',
      },
      { measure: '    of which PostgreSQL', ours: round(full.pgCpuMsPer1k), baseline: '', ratio: '' },
      {
        measure: 'two whole workers vs one, tasks/s',
        ours: result.two_full_vs_one_ratio,
        baseline: '',
        ratio: '',
      },
      { measure: 'worker peak RSS MB (2-process run)', ours: result.worker_rss_mb, baseline: '', ratio: '' },
      {
        measure: 'pickup p50 ms',
        ours: result.pickup_p50_ms,
        baseline: ms(percentile(gwPick, 50)),
        ratio: '',
      },
      {
        measure: 'pickup p99 ms',
        ours: result.pickup_p99_ms,
        baseline: ms(percentile(gwPick, 99)),
        ratio: '',
      },
      {
        measure: 'pickup max ms',
        ours: ms(Math.max(...pick.latencies)),
        baseline: ms(Math.max(...gwPick)),
        ratio: '',
      },
      {
        measure: '  enqueue call (insert + commit) p50 ms, included',
        ours: ms(percentile(pick.commitMs, 50)),
        baseline: '',
        ratio: '',
      },
    ]);
    console.log(`statements per task, 1 process: ${statsLine(ones)}`);
    console.log(`statements per task, 2 processes: ${statsLine(twos)}`);
    const walLine = (rs: Processes[]) =>
      rs.map((r) => `${round(r.fsyncsPer1k, 1)} fsyncs / ${round(r.commitsPer1k, 1)} commits`).join(', ');
    console.log(`WAL per 1000 tasks, 1 process: ${walLine(ones)}`);
    console.log(`WAL per 1000 tasks, 2 processes: ${walLine(twos)}`);
    if (process.env.BENCH_ENGINE_PG) console.log(`server settings added: ${process.env.BENCH_ENGINE_PG}`);
    return result;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

if (isMain(import.meta.url)) {
  const result = await run();
  printResult(result);
}
