/**
 * Benchmark `intake`: 10,000 small raw files written into one instrument folder, timed from the
 * first write until every one is backed up and verified (`done_not_processed`), through the real
 * scan → rules → backup pipeline on embedded PostgreSQL with fsync on; plus the cost of scanning a
 * 100,000-entry folder (bench/intake-scan.ts, with `find` as its baseline).
 *
 * Figures: files_per_s, end_to_end_s, scan_ms_100k, detect_latency_p95_s (write → discovered),
 * plus the scan baseline. Targets (issue): end_to_end_s ≤ 60, scan_ms_100k ≤ 200,
 * detect_latency_p95_s ≤ scan interval + 1.
 *
 * Baseline in the same run (`durableBaseline`): the same files written, then copied with sha256,
 * fsync of each file and of the directory, as many at once as the copy pool, without Sluice; run
 * before and after Sluice's run, and their mean is `baseline_s`. `end_to_end_ratio_vs_baseline`
 * (target ≤ 2) is end_to_end_s / baseline_s; `scan_ratio_vs_find` (target ≤ 0.6, see
 * bench/intake-scan.ts) is the scan's. `cpu_ms_per_file` (of it `pg_cpu_ms_per_file`) is the CPU time of this
 * process and PostgreSQL per file, the figure least moved by other work on the machine;
 * `copy_slots_busy` the share of the copy pool's slot time spent running backup tasks (`backup.copy`
 * and `backup.batch`: small files are backed up in batches, src/backup/batch-plan.ts).
 * `queries_per_file` and `commits_per_file` count every
 * statement sent to PostgreSQL during Sluice's run (scan, engine and backup) per file.
 *
 * Settings as a small production setup: copy pool 8, worker concurrency 10, scan every 2 s, stable
 * window 2 s. On 2 cores the run is CPU-bound (PostgreSQL commits and round trips of the backup task,
 * then the copies); other work on the machine shows directly in the figures, so the load average is
 * printed with them.
 *
 * Env: BENCH_QUERY_LOG=1 prints the most frequent statements per file; BENCH_FILES (default 10000), BENCH_SCAN_FILES (default 100000; 0 skips the scan part),
 * BENCH_COPY_POOL (default 8), BENCH_CONCURRENCY (default 10), BENCH_THREADS=1 prints the CPU per file
 * of each thread of this process during Sluice's run (threads that ended meanwhile are not counted),
 * BENCH_WRITER=child writes Sluice's files from a child process, as an instrument would (the writing's
 * CPU, mostly the kernel's file creation, is then left out of `cpu_ms_per_file` and printed as
 * `writer_cpu_ms_per_file`; the baseline still writes its own), BENCH_PG_STATS=1 prints where PostgreSQL's
 * time went during Sluice's run (pg_stat_statements: the statements by total time, with rows; the shared
 * buffers accessed per file; and how many row updates of files, copies and tasks were HOT, i.e. rewrote
 * no index).
 */

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import os, { cpus, loadavg } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { parseConfigText } from '../src/core/config/index.ts';
import { createDb, type Db } from '../src/core/db/db.ts';
import { freePort, startEmbedded } from '../src/core/db/embedded.ts';
import { migrate } from '../src/core/db/migrate.ts';
import { inLanes } from '../src/core/lanes.ts';
import { silentLogger } from '../src/core/log.ts';
import { Variables } from '../src/core/variables.ts';
import { syncPools } from '../src/engine/pools.ts';
import { ensureSchedules } from '../src/engine/schedules.ts';
import { Worker } from '../src/engine/worker.ts';
import { syncInstruments } from '../src/files/repo.ts';
import { collect } from '../src/runtime/handlers.ts';
import { run as scanBench } from './intake-scan.ts';
import { isMain, printResult, printTable } from './lib.ts';
import { postgresCpuMs, postmasterPidOf, processCpuMs } from './proc.ts';

const SCAN_INTERVAL_S = 2;
/** BENCH_WRITER=child: Sluice's files are written by a child process (`writeRawFilesInChild`). */
const WRITER_CHILD = process.env.BENCH_WRITER === 'child';
/** BENCH_THREADS=1: CPU per file of each thread of this process during Sluice's run. */
const THREADS = process.env.BENCH_THREADS === '1';
/** Copy pool size and worker concurrency (env BENCH_COPY_POOL, BENCH_CONCURRENCY). */
const COPY_POOL = Number(process.env.BENCH_COPY_POOL ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

/** CPU time (ms) of each live thread of this process, by thread id (/proc/self/task; 10 ms ticks). */
function threadCpuMs(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
    try {
      const text = readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), (Number(f[11]) + Number(f[12])) * 10);
    } catch {} // ended meanwhile
  }
  return out;
}

/**
 * CPU per file of each thread of this process between two `threadCpuMs` readings, largest first:
 * the main thread, and the others by thread id (libuv's pool and V8's helpers start first, worker
 * threads later).
 */
function printThreadCpu(a: Map<number, number>, b: Map<number, number>, count: number): void {
  const rows = [...b].map(([tid, ms]) => ({ tid, ms: ms - (a.get(tid) ?? 0), isNew: !a.has(tid) }));
  rows.sort((x, y) => y.ms - x.ms);
  const per = (ms: number) => Math.round((ms / count) * 1000);
  printTable(
    rows
      .filter((r) => r.ms > 0)
      .map((r) => ({
        thread: r.tid === process.pid ? 'main' : `${r.tid}${r.isNew ? ' (new)' : ''}`,
        'µs per file': per(r.ms),
      })),
  );
}

/** Write `count` small raw files into `dir`, 200 at a time; returns each name's write time (ms). */
async function writeRawFiles(dir: string, count: number): Promise<Map<string, number>> {
  const written = new Map<string, number>();
  const batch = 200;
  for (let i = 0; i < count; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, async (_, j) => {
        const name = `run_${String(i + j).padStart(6, '0')}.raw`;
        await writeFile(path.join(dir, name), `raw data ${i + j}\n`.repeat(64));
        written.set(name, Date.now());
      }),
    );
  }
  return written;
}

/**
 * `writeRawFiles` in a child process (BENCH_WRITER=child), as an instrument writes from outside
 * Sluice's process: the writing's CPU (file creation costs 150-500 µs of kernel time here) is then
 * not in this process's `cpu_ms_per_file`; it is returned as `cpuMs`.
 */
async function writeRawFilesInChild(
  dir: string,
  count: number,
): Promise<{ written: Map<string, number>; cpuMs: number }> {
  const code = `
    const { writeFile } = require('node:fs/promises');
    const path = require('node:path');
    (async () => {
      const [dir, count] = [process.argv[1], Number(process.argv[2])];
      const written = {};
      const c0 = process.cpuUsage();
      for (let i = 0; i < count; i += 200) {
        await Promise.all(Array.from({ length: Math.min(200, count - i) }, async (_, j) => {
          const name = 'run_' + String(i + j).padStart(6, '0') + '.raw';
          await writeFile(path.join(dir, name), ('raw data ' + (i + j) + '\\n').repeat(64));
          written[name] = Date.now();
        }));
      }
      const c = process.cpuUsage(c0);
      process.stdout.write(JSON.stringify({ written, cpuMs: (c.user + c.system) / 1000 }));
    })();`;
  const child = spawn(process.execPath, ['-e', code, dir, String(count)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const [exitCode] = await once(child, 'exit');
  if (exitCode !== 0) throw new Error(`the writer process exited with ${exitCode}`);
  const r = JSON.parse(out) as { written: Record<string, number>; cpuMs: number };
  return { written: new Map(Object.entries(r.written)), cpuMs: r.cpuMs };
}

/**
 * The baseline: the same durable work without Sluice, in the same run. The same files written the
 * same way, then each one read and hashed (sha256), written to a new file in one backup directory
 * (`wx`), fsynced, and the directory fsynced after it (Sluice makes each new name durable by an fsync
 * of its parent), COPY_POOL files at a time. No read-back, no database: what any careful copy script
 * has to do. Returns the seconds from the first write to the last fsync, and the CPU time it took.
 */
async function durableBaseline(root: string, count: number): Promise<{ s: number; cpuMs: number }> {
  const src = path.join(root, 'baseline-src');
  const dst = path.join(root, 'baseline-dst');
  await mkdir(src, { recursive: true });
  await mkdir(dst, { recursive: true });
  const t0 = performance.now();
  const c0 = processCpuMs();
  const names = [...(await writeRawFiles(src, count)).keys()];
  const dir = await open(dst, 'r');
  try {
    await inLanes(names, COPY_POOL, async (name) => {
      const data = await readFile(path.join(src, name));
      createHash('sha256').update(data).digest('hex');
      const out = await open(path.join(dst, name), 'wx', 0o444);
      try {
        await out.writeFile(data);
        await out.sync();
      } finally {
        await out.close();
      }
      await dir.sync();
    });
  } finally {
    await dir.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpuMs = processCpuMs() - c0;
  await rm(src, { recursive: true, force: true });
  await rm(dst, { recursive: true, force: true });
  return { s: seconds, cpuMs };
}

/**
 * Count the statements sent to PostgreSQL from now until `stop()` (every client of this process:
 * the worker, its tasks, this bench's polling, which adds ~4 a second), and the commits among them.
 */
function countQueries(): { stop(): { queries: number; commits: number; top: [string, number][] } } {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  let queries = 0;
  let commits = 0;
  const byText = new Map<string, number>();
  proto.query = function (this: unknown, ...args: unknown[]) {
    queries++;
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
    const key = (text ?? '?').replace(/\s+/g, ' ').trim().slice(0, 90);
    byText.set(key, (byText.get(key) ?? 0) + 1);
    if (key.toLowerCase() === 'commit') commits++;
    return original.apply(this, args);
  };
  return {
    stop: () => {
      proto.query = original;
      const top = [...byText].sort((a, b) => b[1] - a[1]).slice(0, 25);
      return { queries, commits, top };
    },
  };
}

/** BENCH_PG_STATS=1: pg_stat_statements on, its top statements printed (see the header). */
const PG_STATS = process.env.BENCH_PG_STATS === '1';

/** PostgreSQL's time during the run by statement (pg_stat_statements), per file. */
async function printPgStats(db: Db, files: number): Promise<void> {
  const rows = await db.query<{ ms: number; calls: string; rows: string; query: string }>(
    `select total_exec_time + total_plan_time as ms, calls, rows, query from pg_stat_statements
      order by 1 desc limit 20`,
  );
  printTable(
    rows.map((r) => ({
      'µs/file': Math.round((r.ms * 1000) / files),
      calls: r.calls,
      'rows/call': Math.round((Number(r.rows) / Math.max(1, Number(r.calls))) * 10) / 10,
      statement: r.query.replace(/\s+/g, ' ').trim().slice(0, 100),
    })),
  );
  // buffer accesses: the PostgreSQL work least moved by other load on the machine
  const b = await db.one<{ hit: string; dirtied: string }>(
    `select coalesce(sum(shared_blks_hit + shared_blks_read), 0) as hit,
            coalesce(sum(shared_blks_dirtied), 0) as dirtied from pg_stat_statements`,
  );
  process.stdout.write(
    `shared buffers accessed per file: ${(Number(b.hit) / files).toFixed(1)}, dirtied per file: ${(Number(b.dirtied) / files).toFixed(2)}\n`,
  );
  // updates that rewrote every index of the table (not HOT: an indexed column changed, or no room)
  const tables = await db.query<{ relname: string; n_tup_upd: string; n_tup_hot_upd: string }>(
    `select relname, n_tup_upd, n_tup_hot_upd from pg_stat_user_tables
      where relname in ('files', 'copies', 'tasks') order by relname`,
  );
  for (const t of tables) {
    process.stdout.write(`${t.relname}: ${t.n_tup_upd} row updates, ${t.n_tup_hot_upd} of them HOT\n`);
  }
}

/**
 * How busy the copy pool was while backups ran: the backup tasks' run time summed, over the pool's
 * slot-seconds from the first backup task's start to the last one's end (1: never a free slot).
 */
async function copySlotsBusy(db: Db): Promise<number> {
  const r = await db.one<{ busy: number | null; span: number | null }>(
    `select sum(extract(epoch from finished_at - started_at))::float8 as busy,
            extract(epoch from max(finished_at) - min(started_at))::float8 as span
       from tasks where kind in ('backup.copy', 'backup.batch') and finished_at is not null`,
  );
  return r.busy && r.span ? r.busy / (r.span * COPY_POOL) : Number.NaN;
}

export async function run(): Promise<Record<string, number>> {
  const count = Number(process.env.BENCH_FILES ?? 10_000);
  const root = await mkdtemp(path.join(os.tmpdir(), 'sluice-bench-intake-'));
  await chmod(root, 0o755); // as root, the embedded PostgreSQL runs as 'postgres' and must enter it
  const server = await startEmbedded({
    dataDir: path.join(root, 'data'),
    port: await freePort(),
    log: silentLogger,
    ...(PG_STATS ? { settings: { shared_preload_libraries: 'pg_stat_statements' } } : {}),
  });
  const db = createDb(server.url, { max: 12 });
  let worker: Worker | undefined;
  try {
    await migrate(db);
    const { config } = parseConfigText(
      `data_dir: ${root}/data
pools: { copy: ${COPY_POOL} }
backup: { path: ${root}/backup }
instruments:
  bench1:
    type: thermo
    watch: ${root}/bench1
    scan_interval_seconds: ${SCAN_INTERVAL_S}
    acquisition: { stable_window_seconds: 2 }
`,
      path.join(root, 'sluice.yaml'),
    );
    await mkdir(config.instruments.bench1!.watch, { recursive: true });
    await syncPools(db, config.pools);
    await syncInstruments(db, config.instruments);
    const vars = new Variables(db, config.variables);
    const stage = collect(config, vars, {
      baseDir: root,
      executor: async () => {
        throw new Error('no processing in this benchmark');
      },
    });
    await ensureSchedules(db, stage.schedules);
    const before = await durableBaseline(root, count);
    const baselineBefore = before.s;
    worker = new Worker({
      db,
      log: silentLogger,
      handlers: stage.handlers,
      concurrency: CONCURRENCY,
      pollMs: 200,
      scheduleTickMs: 200,
    });
    await worker.start();

    const load0 = loadavg()[0]!;
    const pgPid = postmasterPidOf(path.join(root, 'data'));
    const cpu0 = { node: processCpuMs(), pg: postgresCpuMs(pgPid) };
    const threads0 = THREADS ? threadCpuMs() : undefined;
    const mark0 = process.hrtime.bigint() / 1000n; // µs, the clock of --cpu-prof's samples
    if (PG_STATS) {
      await db.query('create extension if not exists pg_stat_statements');
      await db.query('select pg_stat_statements_reset()');
    }
    const counted = countQueries();
    const t0 = Date.now();
    const watch = config.instruments.bench1!.watch;
    let writerCpuMs: number | undefined;
    let written: Map<string, number>;
    if (WRITER_CHILD) ({ written, cpuMs: writerCpuMs } = await writeRawFilesInChild(watch, count));
    else written = await writeRawFiles(watch, count);
    const writeS = (Date.now() - t0) / 1000;
    let done = 0;
    let lastReport = Date.now();
    while (done < count) {
      await new Promise((r) => setTimeout(r, 250));
      done = Number(
        (await db.one<{ n: string }>(`select count(*) as n from files where status = 'done_not_processed'`))
          .n,
      );
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        process.stderr.write(
          `  ${done}/${count} backed up after ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
        );
      }
      if (Date.now() - t0 > 15 * 60_000) throw new Error(`gave up after 15 min with ${done}/${count} done`);
    }
    const endToEnd = (Date.now() - t0) / 1000;
    const cpu = { node: processCpuMs() - cpu0.node, pg: postgresCpuMs(pgPid) - cpu0.pg };
    if (threads0) {
      printThreadCpu(threads0, threadCpuMs(), count);
      process.stdout.write(`sluice run window (µs, hrtime): ${mark0} ${process.hrtime.bigint() / 1000n}\n`);
    }
    const { queries, commits, top } = counted.stop();
    if (process.env.BENCH_QUERY_LOG) {
      printTable(
        top.map(([statement, n]) => ({ 'per file': Math.round((n / count) * 100) / 100, statement })),
      );
    }
    if (PG_STATS) await printPgStats(db, count);
    const discovered = await db.query<{ subject_id: string; at: Date }>(
      `select subject_id, at from events where to_state = 'discovered'`,
    );
    const latencies = discovered.map(
      (e) => (e.at.getTime() - (written.get(e.subject_id) ?? e.at.getTime())) / 1000,
    );
    const loadAfter = loadavg()[0]!;
    const slots = await copySlotsBusy(db);
    if (process.env.BENCH_QUERY_LOG) {
      // where a backup task's time goes: waiting to be claimed, running, and the copy in it (ms)
      const t = await db.one<Record<string, number>>(
        `select count(*)::int as tasks,
           percentile_cont(0.5) within group (order by extract(epoch from started_at - created_at) * 1000) as wait_p50,
           percentile_cont(0.5) within group (order by extract(epoch from finished_at - started_at) * 1000) as run_p50,
           percentile_cont(0.95) within group (order by extract(epoch from finished_at - started_at) * 1000) as run_p95,
           extract(epoch from max(finished_at) - min(created_at)) as span_s,
           (select percentile_cont(0.5) within group (order by seconds * 1000) from copies) as copy_p50,
           extract(epoch from min(created_at)) * 1000 - ${t0} as first_created_ms
         from tasks where kind in ('backup.copy', 'backup.batch')`,
      );
      process.stdout.write(`backup tasks (backup.copy and backup.batch): ${JSON.stringify(t)}\n`);
    }
    await worker.stop();
    worker = undefined;
    const after = await durableBaseline(root, count);
    const baselineAfter = after.s;
    // the baseline before and after Sluice's run: load on the machine changes over the minutes
    const baseline = (baselineBefore + baselineAfter) / 2;

    const scanFiles = Number(process.env.BENCH_SCAN_FILES ?? 100_000);
    const scan =
      scanFiles > 0
        ? await scanBench(scanFiles)
        : { scan_ms_100k: Number.NaN, baseline_find_ms: Number.NaN, ratio_vs_find: Number.NaN };
    const figures = {
      files: count,
      files_per_s: Math.round(count / endToEnd),
      end_to_end_s: Math.round(endToEnd * 10) / 10,
      baseline_s: Math.round(baseline * 10) / 10,
      baseline_before_s: Math.round(baselineBefore * 10) / 10,
      baseline_after_s: Math.round(baselineAfter * 10) / 10,
      end_to_end_ratio_vs_baseline: Math.round((endToEnd / baseline) * 100) / 100,
      queries_per_file: Math.round((queries / count) * 100) / 100,
      commits_per_file: Math.round((commits / count) * 100) / 100,
      cpu_ms_per_file: Math.round(((cpu.node + cpu.pg) / count) * 100) / 100,
      pg_cpu_ms_per_file: Math.round((cpu.pg / count) * 100) / 100,
      baseline_cpu_ms_per_file: Math.round(((before.cpuMs + after.cpuMs) / 2 / count) * 100) / 100,
      ...(writerCpuMs === undefined
        ? {}
        : { writer_cpu_ms_per_file: Math.round((writerCpuMs / count) * 100) / 100 }),
      copy_slots_busy: Math.round(slots * 100) / 100,
      write_s: Math.round(writeS * 10) / 10,
      detect_latency_p95_s: Math.round(percentile(latencies, 95) * 100) / 100,
      scan_interval_s: SCAN_INTERVAL_S,
      scan_ms_100k: scan.scan_ms_100k as number,
      baseline_find_ms: scan.baseline_find_ms as number,
      scan_ratio_vs_find: scan.ratio_vs_find ?? Number.NaN,
      load_1min_before: load0,
      load_1min_after: loadAfter,
    };
    printTable([
      {
        measure: `${count} files written → backed up and verified`,
        value: `${figures.end_to_end_s} s (${figures.files_per_s} files/s)`,
        target: '≤ 60 s',
      },
      {
        measure: 'the same durable work without Sluice (copy + fsync + sha256, dir fsync)',
        value: `${figures.baseline_s} s (before ${figures.baseline_before_s} s, after ${figures.baseline_after_s} s): ratio ${figures.end_to_end_ratio_vs_baseline}`,
        target: 'ratio ≤ 2',
      },
      {
        measure: 'database round trips per file (all of Sluice: scan, engine, backup)',
        value: `${figures.queries_per_file} queries, ${figures.commits_per_file} commits`,
        target: '',
      },
      {
        measure: 'CPU per file (this process + PostgreSQL), copy slots busy',
        value: `${figures.cpu_ms_per_file} ms (PostgreSQL ${figures.pg_cpu_ms_per_file} ms; baseline ${figures.baseline_cpu_ms_per_file} ms), slots busy ${figures.copy_slots_busy}`,
        target: '',
      },
      {
        measure: 'detection latency p95 (write → discovered)',
        value: `${figures.detect_latency_p95_s} s`,
        target: `≤ ${SCAN_INTERVAL_S + 1} s`,
      },
      {
        measure: 'scan of a 100,000-entry folder',
        value: `${figures.scan_ms_100k} ms (find: ${figures.baseline_find_ms} ms)`,
        target: '≤ 200 ms',
      },
    ]);
    process.stdout.write(
      `load average (1 min) before: ${load0.toFixed(2)}, after: ${loadAfter.toFixed(2)} on ${cpus().length} CPUs\n`,
    );
    return figures;
  } finally {
    await worker?.stop();
    await db.close();
    await server.stop();
    await rm(root, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) printResult(await run());
