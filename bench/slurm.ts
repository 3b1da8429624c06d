/**
 * Benchmark `slurm`: N trivial jobs (`sleep 1; echo ok`, 1 CPU, 100 MB) through Sluice's job
 * lifecycle on the REAL single-node SLURM (scripts/slurm.sh), compared in the same run with a bare
 * bash loop of `sbatch --parsable` followed by polling `squeue -h -j <ids> -o %i` every second.
 * The two run one after the other on the same cluster, never at the same time.
 *
 * Ours: embedded PostgreSQL, a config with `processing.executor: slurm`, `poll_seconds: 1`,
 * `pools.cluster: N`; N file rows inserted directly (status `processing`) and their jobs created
 * with `createJob` in one transaction (which enqueues the `process.submit` tasks); one Worker
 * (concurrency 16, the other worker settings at their config defaults, as `sluice start` uses them)
 * runs the submit and poll handlers and the `process.poll` schedule.
 *
 * Per job, every time is on this machine's clock (SLURM, the jobs and PostgreSQL all run here):
 *   requested  ours: the `process.submit` task's created_at; baseline: the start of the loop (the
 *              whole batch is requested at once in both)
 *   accepted   ours: jobs.submitted_at; baseline: when its `sbatch` returned
 *   start/end  written by the job script itself (`date +%s.%N`), the same lines in both
 *   recorded   ours: jobs.finished_at (the poll that saw it final); baseline: the first poll that no
 *              longer listed it
 *
 *   overhead_per_job_s           mean of (recorded − requested) − (end − start), ours
 *   baseline_overhead_per_job_s  the same for the bash loop
 *   ratio_overhead_vs_baseline   target ≤ 1.2
 *   detect_done_p95_s            p95 of (recorded − end), ours; target ≤ poll interval + 1
 *   baseline_detect_done_p95_s   the same for the bash loop
 *   detect_excess_s              ours − baseline (p95); target ≤ 1 s; detect_ratio_vs_baseline: ÷
 *   submit_ms_per_job            (last accepted − requested) ÷ N, ours (concurrent submits)
 *   baseline_submit_ms_per_job   the bash loop's sequential sbatch time ÷ N
 *   submit_ratio_vs_baseline     ours ÷ baseline; target ≤ 1.5
 *   state_queries_per_poll       SLURM commands made by poll rounds ÷ poll rounds; target 1. The
 *                                poll handler gets its OWN executor (createExecutor(config)), so
 *                                submits (sbatch, findByKey's squeue) never touch its
 *                                `queryCount`; a poll round is one `states()` call (a
 *                                `process.poll` run with no active job makes no query and is not
 *                                counted — those are shown separately)
 *
 * Both figures include the time jobs wait in SLURM's queue (N one-second jobs on the node's 8
 * CPUs), identical in kind for both; the table splits each into submit / queue / detect.
 * Jobs of other programs in the queue at the start of each phase are shown: they slow both.
 *
 * Env: BENCH_JOBS (default 200); for experiments BENCH_CONCURRENCY (worker concurrency, default 16)
 * and BENCH_WORKER_POLL_MS (the worker's idle wait, default `worker.poll_seconds`: it also bounds
 * how often the worker looks for due schedules, hence the real period of `process.poll`). SLURM missing → one line, and `{ jobs: 0 }`.
 * Run: `npx tsx bench/run.ts slurm`. The last line is a JSON object.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from '../src/core/config/index.ts';
import { createDb } from '../src/core/db/db.ts';
import { freePort, startEmbedded } from '../src/core/db/embedded.ts';
import { migrate } from '../src/core/db/migrate.ts';
import { createLogger, silentLogger } from '../src/core/log.ts';
import { Variables } from '../src/core/variables.ts';
import { syncPools } from '../src/engine/pools.ts';
import { ensureSchedules } from '../src/engine/schedules.ts';
import { Worker } from '../src/engine/worker.ts';
import { createExecutor } from '../src/process/executor.ts';
import { SlurmExecutor } from '../src/process/executors/slurm.ts';
import type { Executor, JobSpec, JobStatus, LogTail } from '../src/process/executors/types.ts';
import { createJob } from '../src/process/jobs.ts';
import { syncSettings } from '../src/process/settings.ts';
import { pollHandler, processSchedules, submitHandler } from '../src/process/tasks.ts';
import { isMain, printResult, printTable } from './lib.ts';

const POLL_S = 1;
const MEM_MB = 100;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
/** The worker's idle wait; default: the config's `worker.poll_seconds`, as `sluice start` uses it. */
const WORKER_POLL_MS = process.env.BENCH_WORKER_POLL_MS
  ? Number(process.env.BENCH_WORKER_POLL_MS)
  : undefined;
const SLURM_SH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../scripts/slurm.sh');

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

// ---------------------------------------------------------------------------------------------
// commands

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(argv: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + e.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

function which(name: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin'];
  return dirs.some((d) => {
    if (!d) return false;
    try {
      accessSync(path.join(d, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Why SLURM cannot be used here, or undefined once it runs (scripts/slurm.sh start is idempotent). */
async function slurmProblem(): Promise<string | undefined> {
  const missing = ['slurmctld', 'slurmd', 'sbatch', 'squeue', 'scancel', 'munged'].filter((b) => !which(b));
  if (missing.length > 0)
    return `SLURM is not installed (no ${missing.join(', ')}; apt-get install slurm-wlm munge)`;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0)
    return 'the single-node SLURM (scripts/slurm.sh) runs as root and this is not root';
  const r = await sh([SLURM_SH, 'start'], { timeoutMs: 90_000 });
  if (r.code !== 0)
    return `scripts/slurm.sh start failed: ${(r.stderr.trim() || r.stdout.trim()).split('\n').at(-1)}`;
  return undefined;
}

/** Queued/running jobs: [id, name]. */
async function queue(): Promise<[string, string][]> {
  const r = await sh(['squeue', '-h', '-o', '%i|%j']);
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const i = l.indexOf('|');
      return [l.slice(0, i), l.slice(i + 1)] as [string, string];
    });
}

/** Cancels every job of this run (its names contain `tag`); returns how many. */
async function cancelTagged(tag: string): Promise<number> {
  const ids = (await queue()).filter(([, name]) => name.includes(tag)).map(([id]) => id);
  if (ids.length > 0) await sh(['scancel', ...ids]);
  return ids.length;
}

// ---------------------------------------------------------------------------------------------
// measuring the executors

interface Stat {
  calls: number;
  ms: number;
}
type Stats = Map<string, Stat>;

function add(stats: Stats, name: string, ms: number): void {
  const s = stats.get(name) ?? { calls: 0, ms: 0 };
  s.calls++;
  s.ms += ms;
  stats.set(name, s);
}

/** Times every command the executor's runner starts (sbatch, squeue, mkdir, sh, tail), by program. */
function timeCommands(ex: Executor): Stats {
  const stats: Stats = new Map();
  if (!(ex instanceof SlurmExecutor)) return stats;
  const runner = ex.runner;
  const run = runner.run.bind(runner);
  runner.run = async (argv, opts) => {
    const t = performance.now();
    try {
      return await run(argv, opts);
    } finally {
      add(stats, argv[0] === 'sh' ? 'sh (job files)' : argv[0]!, performance.now() - t);
    }
  };
  return stats;
}

/** Delegates to a real executor and times each method; `states()` calls are the poll rounds. */
class TimedExecutor implements Executor {
  readonly kind: Executor['kind'];
  readonly methods: Stats = new Map();
  readonly commands: Stats;
  /** When each `states()` call (a poll round with jobs) started, epoch seconds. */
  readonly stateCalls: number[] = [];

  constructor(readonly inner: Executor) {
    this.kind = inner.kind;
    this.commands = timeCommands(inner);
  }

  private async timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      add(this.methods, name, performance.now() - t);
    }
  }

  submit(spec: JobSpec): Promise<{ jobId: string }> {
    return this.timed('submit', () => this.inner.submit(spec));
  }
  findByKey(key: string, workDir: string): Promise<JobStatus | undefined> {
    return this.timed('findByKey', () => this.inner.findByKey(key, workDir));
  }
  states(jobs: { jobId: string; workDir: string }[]): Promise<Map<string, JobStatus>> {
    this.stateCalls.push(Date.now() / 1000);
    return this.timed('states', () => this.inner.states(jobs));
  }
  cancel(jobId: string): Promise<void> {
    return this.timed('cancel', () => this.inner.cancel(jobId));
  }
  logTail(workDir: string, lines?: number): Promise<string> {
    return this.timed('logTail', () => this.inner.logTail(workDir, lines));
  }
  logTails(workDirs: string[], lines?: number): Promise<LogTail[]> {
    return this.timed('logTails', () => this.inner.logTails(workDirs, lines));
  }
  get queryCount(): number {
    return this.inner.queryCount;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

// ---------------------------------------------------------------------------------------------
// per-job times and their summary

interface JobTimes {
  requested: number;
  accepted: number;
  start: number;
  end: number;
  recorded: number;
}

interface Summary {
  jobs: number;
  measured: number;
  overhead: number;
  submit: number;
  queue: number;
  runtime: number;
  detect: number;
  detectP95: number;
  wall: number;
}

function summarize(js: JobTimes[], total: number): Summary {
  const ok = js.filter((j) => [j.requested, j.accepted, j.start, j.end, j.recorded].every(Number.isFinite));
  return {
    jobs: total,
    measured: ok.length,
    overhead: mean(ok.map((j) => j.recorded - j.requested - (j.end - j.start))),
    submit: mean(ok.map((j) => j.accepted - j.requested)),
    queue: mean(ok.map((j) => j.start - j.accepted)),
    runtime: mean(ok.map((j) => j.end - j.start)),
    detect: mean(ok.map((j) => j.recorded - j.end)),
    detectP95: percentile(
      ok.map((j) => j.recorded - j.end),
      95,
    ),
    wall: Math.max(...ok.map((j) => j.recorded)) - Math.min(...ok.map((j) => j.requested)) || Number.NaN,
  };
}

/** The job's own start/end stamps (`date +%s.%N`), NaN when missing. */
async function stamps(dir: string, startFile: string, endFile: string): Promise<[number, number]> {
  const read = async (f: string) =>
    Number.parseFloat(await readFile(path.join(dir, f), 'utf8').catch(() => 'NaN'));
  return [await read(startFile), await read(endFile)];
}

const TEMPLATE = `date +%s.%N > {{output_dir}}/bench.start
sleep 1
echo ok
date +%s.%N > {{output_dir}}/bench.end`;

// ---------------------------------------------------------------------------------------------
// ours

interface Ours {
  summary: Summary;
  foreign: number;
  notCompleted: number;
  submitEx: TimedExecutor;
  pollEx: TimedExecutor;
  pollRuns: number;
  pollInterval: number;
  pollIntervalP95: number;
  submitTaskMs: number;
  submitTaskP95Ms: number;
  submitSpan: number;
  /** From the request transaction's start (created_at) to its commit: creating N job rows. */
  requestTx: number;
  workerPollMs: number;
}

async function runOurs(root: string, tag: string, n: number): Promise<Ours> {
  const server = await startEmbedded({
    dataDir: path.join(root, 'pg'),
    port: await freePort(),
    log: silentLogger,
  });
  const db = createDb(server.url, { max: CONCURRENCY + 8 });
  let worker: Worker | undefined;
  let submitEx: TimedExecutor | undefined;
  let pollEx: TimedExecutor | undefined;
  try {
    await migrate(db);
    const { config } = parseConfigText(
      `data_dir: ${root}/data
backup: { path: ${root}/backup }
pools: { cluster: ${n} }
processing:
  executor: slurm
  poll_seconds: ${POLL_S}
  output_path: ${root}/output
  environment: "true"
  settings:
    trivial:
      version: 1
      software: sh
      software_version: "1"
      resources: { cpus: 1, memory_mb: ${MEM_MB}, time_minutes: 5 }
      template: |
${TEMPLATE.split('\n')
  .map((l) => `        ${l}`)
  .join('\n')}
`,
      path.join(root, 'sluice.yaml'),
    );
    await syncPools(db, config.pools);
    await syncSettings(db, config);
    const vars = new Variables(db, config.variables);
    // Separate executors: the poll handler's queryCount counts poll rounds' queries only.
    const sEx = new TimedExecutor(createExecutor(config));
    const pEx = new TimedExecutor(createExecutor(config));
    submitEx = sEx;
    pollEx = pEx;
    const deps = (ex: Executor) => ({ config, vars, baseDir: root, executor: async () => ex });
    await ensureSchedules(db, processSchedules(config));
    const workerPollMs = WORKER_POLL_MS ?? config.worker.poll_seconds * 1000;
    worker = new Worker({
      db,
      log: createLogger({ level: process.env.SLUICE_LOG_LEVEL ?? 'warn' }),
      handlers: [submitHandler(deps(sEx)), pollHandler(deps(pEx))],
      concurrency: CONCURRENCY,
      leaseMs: config.worker.lease_seconds * 1000,
      heartbeatMs: config.worker.heartbeat_seconds * 1000,
      pollMs: workerPollMs, // as `sluice start` (worker.poll_seconds) unless BENCH_WORKER_POLL_MS
      graceMs: 5000,
    });
    await worker.start();

    const files = Array.from({ length: n }, (_, i) => ({
      id: `sb-${tag}-${String(i + 1).padStart(5, '0')}.raw`,
      project_id: 'bench',
    }));
    await db.exec(
      `insert into files (id, instrument_id, name, kind, source_path, project_id, status, size_bytes, mtime)
       select id, 'bench1', id, 'file', '/dev/null', 'bench', 'processing', 0, now() from unnest($1::text[]) as id`,
      [files.map((f) => f.id)],
    );
    const foreign = (await queue()).filter(([, name]) => !name.includes(tag)).length;
    const t0 = Date.now();
    // One transaction: every submit request carries the same created_at (the batch arrives at once).
    await db.tx(async (tx) => {
      for (const f of files) await createJob(tx, config, f, { name: 'trivial', version: 1, params: {} });
    });
    const committed = Date.now() / 1000; // from here on the workers can see the requests

    const deadline = t0 + Math.max(300_000, n * 3000);
    let lastReport = Date.now();
    for (;;) {
      await sleep(500);
      const r = await db.one<{ done: string; submitted: string }>(
        `select count(*) filter (where finished_at is not null) as done,
                count(*) filter (where submitted_at is not null) as submitted from jobs`,
      );
      if (Number(r.done) >= n) break;
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        process.stderr.write(
          `  ours: ${r.submitted}/${n} submitted, ${r.done}/${n} recorded final after ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
        );
      }
      if (Date.now() > deadline)
        throw new Error(`ours: gave up after ${(Date.now() - t0) / 1000} s with ${r.done}/${n} final`);
    }
    await worker.stop(5000);
    worker = undefined;

    const rows = await db.query<{
      output_dir: string;
      state: string;
      requested: number;
      accepted: number | null;
      recorded: number;
      started: number | null;
      finished: number | null;
    }>(
      `select j.output_dir, j.state,
              extract(epoch from t.created_at)::float8 as requested,
              extract(epoch from j.submitted_at)::float8 as accepted,
              extract(epoch from j.finished_at)::float8 as recorded,
              extract(epoch from t.started_at)::float8 as started,
              extract(epoch from t.finished_at)::float8 as finished
       from jobs j join tasks t on t.kind = 'process.submit' and t.subject = j.id::text`,
    );
    const times: JobTimes[] = [];
    for (const r of rows) {
      const [start, end] = await stamps(r.output_dir, 'bench.start', 'bench.end');
      times.push({
        requested: r.requested,
        accepted: r.accepted ?? Number.NaN,
        start,
        end,
        recorded: r.recorded,
      });
    }
    const taskMs = rows
      .filter((r) => r.started !== null && r.finished !== null)
      .map((r) => (r.finished! - r.started!) * 1000);
    // a poll round with jobs is one states() call; the process.poll task re-arms itself while jobs
    // are active, so task rows do not count rounds: the executor's call times do
    const calls = pEx.stateCalls;
    const gaps = calls.slice(1).map((t, i) => t - calls[i]!);
    const accepted = times.map((t) => t.accepted).filter(Number.isFinite);
    return {
      summary: summarize(times, n),
      foreign,
      notCompleted: rows.filter((r) => r.state !== 'COMPLETED').length,
      submitEx: sEx,
      pollEx: pEx,
      pollRuns: calls.length,
      pollInterval: mean(gaps),
      pollIntervalP95: percentile(gaps, 95),
      submitTaskMs: mean(taskMs),
      submitTaskP95Ms: percentile(taskMs, 95),
      submitSpan: Math.max(...accepted) - Math.min(...times.map((t) => t.requested)),
      requestTx: committed - Math.min(...times.map((t) => t.requested)),
      workerPollMs,
    };
  } finally {
    await worker?.stop(5000).catch(() => undefined);
    await submitEx?.close().catch(() => undefined);
    await pollEx?.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    await server.stop().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// baseline: a bare bash loop

const BASELINE_JOB = `#!/bin/sh
date +%s.%N > start
sleep 1
echo ok
date +%s.%N > end
`;

/**
 * Args: N, the jobs folder (holding job.sh and one folder per job, 1..N), the name prefix, memory MB.
 * Prints "start T", "submit I ID T" (T: sbatch returned), "poll REMAINING T", "done ID T".
 */
const BASELINE_LOOP = `#!/bin/bash
set -u
n=$1 dir=$2 prefix=$3 mem=$4
echo "start $(date +%s.%N)"
ids=()
for ((i = 1; i <= n; i++)); do
  out=$(sbatch --parsable --job-name="$prefix-$i" --chdir="$dir/$i" --output="$dir/$i/job.log" \\
    --cpus-per-task=1 --mem="\${mem}M" --time=5 "$dir/job.sh") || { echo "sbatch failed for job $i" >&2; exit 1; }
  id=\${out%%;*}
  ids+=("$id")
  echo "submit $i $id $(date +%s.%N)"
done
declare -A live=()
for id in "\${ids[@]}"; do live[$id]=1; done
while ((\${#live[@]} > 0)); do
  sleep 1
  list=$(IFS=,; echo "\${!live[*]}")
  if ! out=$(squeue -h -j "$list" -o %i 2>"$dir/squeue.err"); then
    grep -qi 'invalid job id' "$dir/squeue.err" || continue
    out=
  fi
  now=$(date +%s.%N)
  echo "poll \${#live[@]} $now"
  declare -A seen=()
  for x in $out; do seen[$x]=1; done
  for id in "\${!live[@]}"; do
    if [[ -z \${seen[$id]:-} ]]; then
      echo "done $id $now"
      unset "live[$id]"
    fi
  done
  unset seen
done
`;

interface Baseline {
  summary: Summary;
  foreign: number;
  polls: number;
  sbatchMs: number;
  submitSpan: number;
  overheadFromSbatch: number;
}

async function runBaseline(root: string, tag: string, n: number): Promise<Baseline> {
  const dir = path.join(root, 'baseline');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'job.sh'), BASELINE_JOB, { mode: 0o755 });
  await writeFile(path.join(root, 'baseline.sh'), BASELINE_LOOP, { mode: 0o755 });
  for (let i = 1; i <= n; i++) await mkdir(path.join(dir, String(i)));
  const foreign = (await queue()).filter(([, name]) => !name.includes(tag)).length;
  const r = await sh(
    ['bash', path.join(root, 'baseline.sh'), String(n), dir, `sb-${tag}-base`, String(MEM_MB)],
    {
      timeoutMs: Math.max(300_000, n * 3000),
    },
  );
  if (r.code !== 0)
    throw new Error(`baseline loop failed (exit ${r.code}): ${r.stderr.trim().slice(0, 500)}`);
  let t0 = Number.NaN;
  const submits: { i: number; id: string; at: number }[] = [];
  const left = new Map<string, number>();
  let polls = 0;
  for (const line of r.stdout.split('\n')) {
    const [what, a, b, c] = line.split(' ');
    if (what === 'start') t0 = Number(a);
    else if (what === 'submit') submits.push({ i: Number(a), id: b!, at: Number(c) });
    else if (what === 'poll') polls++;
    else if (what === 'done') left.set(a!, Number(b));
  }
  const times: JobTimes[] = [];
  for (const s of submits) {
    const [start, end] = await stamps(path.join(dir, String(s.i)), 'start', 'end');
    times.push({ requested: t0, accepted: s.at, start, end, recorded: left.get(s.id) ?? Number.NaN });
  }
  const sbatchAt = submits.map((s) => s.at);
  const fromSbatch = times.map((t, k) => {
    const before = k === 0 ? t0 : sbatchAt[k - 1]!; // this job's sbatch started when the previous one returned
    return t.recorded - before - (t.end - t.start);
  });
  return {
    summary: summarize(times, n),
    foreign,
    polls,
    sbatchMs: ((Math.max(...sbatchAt) - t0) / submits.length) * 1000,
    submitSpan: Math.max(...sbatchAt) - t0,
    overheadFromSbatch: mean(fromSbatch.filter(Number.isFinite)),
  };
}

// ---------------------------------------------------------------------------------------------

export async function run(): Promise<Record<string, number>> {
  const n = Number(process.env.BENCH_JOBS ?? 200);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_JOBS must be a whole number ≥ 1, got ${n}`);
  const problem = await slurmProblem();
  if (problem) {
    console.log(`slurm benchmark skipped: ${problem}`);
    return { jobs: 0 };
  }
  const tag = randomBytes(4).toString('hex');
  const root = await mkdtemp(path.join(os.tmpdir(), 'sluice-bench-slurm-'));
  await chmod(root, 0o755); // as root, the embedded PostgreSQL runs as 'postgres' and must enter it
  try {
    const ours = await runOurs(root, tag, n);
    await cancelTagged(tag); // nothing should be left; never let ours overlap the baseline
    const base = await runBaseline(root, tag, n);

    const o = ours.summary;
    const b = base.summary;
    const pollRounds = ours.pollEx.methods.get('states')?.calls ?? 0;
    const queriesPerPoll = pollRounds > 0 ? ours.pollEx.queryCount / pollRounds : Number.NaN;
    const figures = {
      jobs: n,
      overhead_per_job_s: round(o.overhead),
      baseline_overhead_per_job_s: round(b.overhead),
      ratio_overhead_vs_baseline: round(o.overhead / b.overhead),
      state_queries_per_poll: round(queriesPerPoll, 3),
      detect_done_p95_s: round(o.detectP95),
      poll_interval_s: POLL_S,
      baseline_detect_done_p95_s: round(b.detectP95),
      detect_ratio_vs_baseline: round(o.detectP95 / b.detectP95),
      detect_excess_s: round(o.detectP95 - b.detectP95),
      submit_ms_per_job: round((ours.submitSpan / n) * 1000, 1),
      baseline_submit_ms_per_job: round(base.sbatchMs, 1),
      submit_ratio_vs_baseline: round(ours.submitSpan / n / (base.sbatchMs / 1000)),
      wall_s: round(o.wall, 1),
      baseline_wall_s: round(b.wall, 1),
    };

    const phase = (who: string, s: Summary, foreign: number, extra: Record<string, string>) => ({
      run: who,
      'jobs ok': `${s.measured}/${s.jobs}`,
      'overhead/job': `${s.overhead.toFixed(2)} s`,
      submit: `${s.submit.toFixed(2)} s`,
      'SLURM queue': `${s.queue.toFixed(2)} s`,
      runtime: `${s.runtime.toFixed(2)} s`,
      detect: `${s.detect.toFixed(2)} s`,
      'detect p95': `${s.detectP95.toFixed(2)} s`,
      wall: `${s.wall.toFixed(1)} s`,
      'others queued': foreign,
      ...extra,
    });
    console.log(
      `${n} jobs (sleep 1; echo ok — 1 CPU, ${MEM_MB} MB), poll every ${POLL_S} s (sluice worker: concurrency ${CONCURRENCY}, idle wait ${ours.workerPollMs} ms); means per job unless p95`,
    );
    printTable([phase('sluice', o, ours.foreign, {}), phase('bash sbatch + squeue', b, base.foreign, {})]);
    console.log('');
    const cmd = (stats: Stats) =>
      [...stats].map(([k, s]) => `${k} ${s.calls}× ${(s.ms / s.calls).toFixed(0)} ms`).join(', ');
    printTable([
      {
        measure: 'overhead ratio (ours / bare loop)',
        value: `${figures.ratio_overhead_vs_baseline}`,
        target: '≤ 1.2',
      },
      {
        measure: 'detect done p95 (job end → recorded final)',
        value: `${figures.detect_done_p95_s} s (bare loop ${figures.baseline_detect_done_p95_s} s)`,
        target: `≤ ${POLL_S + 1} s`,
      },
      {
        measure: 'detect p95 over the bare loop',
        value: `+${figures.detect_excess_s} s (${figures.detect_ratio_vs_baseline}×)`,
        target: '≤ +1 s',
      },
      {
        measure: 'submit per job, ours / bare loop',
        value: `${figures.submit_ratio_vs_baseline}×`,
        target: '≤ 1.5',
      },
      {
        measure: 'state queries per poll round',
        value: `${figures.state_queries_per_poll} (${ours.pollEx.queryCount} squeue / ${pollRounds} rounds with jobs, one every ${ours.pollInterval.toFixed(2)} s on average, p95 ${ours.pollIntervalP95.toFixed(2)} s)`,
        target: '= 1',
      },
      {
        measure: 'submit: request → all accepted',
        value: `${ours.submitSpan.toFixed(1)} s = ${figures.submit_ms_per_job} ms/job, of which ${ours.requestTx.toFixed(1)} s creating the ${n} job rows in one transaction before any could be claimed (bare loop ${base.submitSpan.toFixed(1)} s = ${figures.baseline_submit_ms_per_job} ms/job, sequential)`,
        target: '',
      },
      {
        measure: `process.submit task (concurrency ${CONCURRENCY})`,
        value: `mean ${ours.submitTaskMs.toFixed(0)} ms, p95 ${ours.submitTaskP95Ms.toFixed(0)} ms`,
        target: '',
      },
      {
        measure: 'submit executor calls',
        value: `${cmd(ours.submitEx.methods)}; commands: ${cmd(ours.submitEx.commands)}`,
        target: '',
      },
      {
        measure: 'poll executor calls',
        value: `${cmd(ours.pollEx.methods)}; commands: ${cmd(ours.pollEx.commands)}`,
        target: '',
      },
      {
        measure: 'bare loop overhead from each sbatch call',
        value: `${base.overheadFromSbatch.toFixed(2)} s/job (${base.polls} squeue polls)`,
        target: '',
      },
    ]);
    if (ours.notCompleted > 0) console.log(`note: ${ours.notCompleted} of our jobs did not end COMPLETED`);
    return figures;
  } finally {
    const left = await cancelTagged(tag).catch(() => 0);
    if (left > 0) process.stderr.write(`  cancelled ${left} leftover job(s) of this run\n`);
    await rm(root, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) printResult(await run());
