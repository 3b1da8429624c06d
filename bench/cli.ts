/**
 * Benchmark of the `sluice` command's answer time: each figure is the wall time of a whole process
 * (spawn to exit), the median of ROUNDS runs, every kind run once per round in turn so that the
 * machine's load falls on all of them alike.
 *
 *   cli_help_ms                `sluice --help` (bin/sluice.js: the compiled sources in dist/)
 *   cli_files_list_ms          `sluice files list` (50 rows) while an embedded PostgreSQL with
 *                              FILES files runs (held by this process, as `sluice start` would)
 *   cli_status_ms              `sluice status` against the same server
 *   node_startup_ms            baseline: `node -e 0`
 *   pg_query_ms                baseline: a node process that imports pg, connects and runs the
 *                              same kind of query (50 newest files), the least a command can do
 *   cli_help_ratio_vs_baseline       cli_help_ms / node_startup_ms
 *   cli_files_list_ratio_vs_baseline cli_files_list_ms / pg_query_ms
 *   cli_*_cpu_ms, node_startup_cpu_ms, pg_query_cpu_ms, cli_*_cpu_ratio_vs_baseline
 *                              the same in CPU time of the process (user + system, from the
 *                              shell's `times`, 10 ms ticks): steadier than wall time when other
 *                              work shares the machine, which stretches every wall figure
 *   cli_*_tsx_ms               the same commands run the old way, the sources through tsx
 *   cli_*_speedup_vs_tsx       tsx time / compiled time
 *   cli_files_list_cold_ms     `sluice files list` when no Sluice runs: the command starts the
 *                              embedded server and stops it again (median of COLD_ROUNDS)
 *   build_check_ms             what bin/sluice.js spends at each start deciding whether the
 *                              build is current (stat of every source; median of 20, in-process)
 *
 * Run: `npm run bench -- cli` (about a minute idle). BENCH_CLI_ROUNDS, BENCH_CLI_FILES change the
 * number of rounds (default 7) and files (default 10,000).
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { currentBuild, ensureBuild } from '../scripts/build-cli.mjs';
import { parseConfigText } from '../src/core/config/index.ts';
import { createDb } from '../src/core/db/db.ts';
import { freePort, startEmbedded } from '../src/core/db/embedded.ts';
import { migrate } from '../src/core/db/migrate.ts';
import { silentLogger } from '../src/core/log.ts';
import { syncPools } from '../src/engine/pools.ts';
import { syncInstruments } from '../src/files/repo.ts';
import { isMain, percentile, printResult, printTable } from './lib.ts';

const ROUNDS = Number(process.env.BENCH_CLI_ROUNDS ?? 7);
const COLD_ROUNDS = 3;
const FILES = Number(process.env.BENCH_CLI_FILES ?? 10_000);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(root, 'bin/sluice.js');

/** The command as it was: the sources compiled by tsx at every start. */
const TSX_BIN = `import { register } from '${import.meta.resolve('tsx/esm/api')}';
register();
const { main } = await import(${JSON.stringify(path.join(root, 'src/cli/main.ts'))});
await main(process.argv);
`;

/** The baseline: import pg, connect, one query like `files list`'s, print, exit. */
const PG_QUERY = `import pg from '${import.meta.resolve('pg')}';
const c = new pg.Client({ connectionString: process.env.BENCH_PG_URL });
await c.connect();
const r = await c.query('select id, name, status, size_bytes from files order by first_seen_at desc, id desc limit 50');
process.stdout.write(r.rows.map((x) => x.id).join('\\n') + '\\n');
await c.end();
`;

interface Timed {
  ms: number;
  /** CPU time of the node process (user + system; 10 ms ticks), far steadier than wall time on a busy machine. */
  cpuMs: number;
}

/** Runs `node args…` to its end under sh, whose `times` reports the CPU the child used (throws when it fails). */
function timed(args: string[], env: NodeJS.ProcessEnv, expect?: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const script = '"$@"; st=$?; echo @@cpu; times; exit $st';
    const child = spawn('/bin/sh', ['-c', script, 'sh', process.execPath, ...args], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t;
      const [text = '', cpu = ''] = out.split('@@cpu');
      // `times`: the shell's own user and system time, then its children's
      const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s\s*$/.exec(cpu.trim());
      if (code !== 0 || !m || (expect && !text.includes(expect)))
        reject(new Error(`node ${args.join(' ')} exited with ${code}:\n${out.slice(0, 2000)}`));
      else
        resolve({ ms, cpuMs: (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000 });
    });
  });
}

async function seed(url: string, configText: string, configPath: string): Promise<void> {
  const db = createDb(url);
  try {
    await migrate(db);
    const config = parseConfigText(configText, configPath).config;
    await syncPools(db, config.pools);
    await syncInstruments(db, config.instruments);
    await db.query(
      `insert into files (id, instrument_id, name, kind, source_path, current_path, project_id, status, size_bytes,
         mtime, first_seen_at, last_change_at, acquired_at, hash_algorithm, created_at, updated_at)
       select 'f' || lpad(g::text, 7, '0'), 'astral1', 'PRJ001_sample' || g || '.raw', 'file',
         '/data/' || g || '.raw', '/data/' || g || '.raw', 'PRJ001', 'done', 1e8::bigint + g, t, t, t, t, 'sha256', t, t
       from generate_series(1, $1::int) g,
         lateral (select now() - (g || ' seconds')::interval as t) ts`,
      [FILES],
    );
  } finally {
    await db.close();
  }
}

const median = (v: number[]) => percentile(v, 50);
const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

export async function run(): Promise<Record<string, unknown>> {
  const built = await ensureBuild();
  if (!built) throw new Error('the sources could not be compiled: see the message above');
  const checks: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    currentBuild();
    checks.push(performance.now() - t);
  }

  const work = await mkdtemp(path.join(os.tmpdir(), 'sluice-bench-cli-'));
  await chmod(work, 0o755); // the embedded server (user postgres when run as root) enters it
  const port = await freePort();
  const configPath = path.join(work, 'sluice.yaml');
  const configText = `data_dir: ${work}/sluice
database: { embedded_port: ${port} }
backup: { path: ${work}/backup }
projects:
  PRJ001: { tokens: [prj001] }
instruments:
  astral1: { type: thermo, watch: ${work}/astral1 }
`;
  await writeFile(configPath, configText);
  await writeFile(path.join(work, 'tsx-bin.mjs'), TSX_BIN);
  await writeFile(path.join(work, 'pg-query.mjs'), PG_QUERY);
  const server = await startEmbedded({ dataDir: `${work}/sluice`, port, log: silentLogger });
  let serverUp = true;
  try {
    await seed(server.url, configText, configPath);
    const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_CONFIG: configPath, SLUICE_LOG_LEVEL: 'warn' };
    delete env.DATABASE_URL;
    const kinds: [string, string[], NodeJS.ProcessEnv, string?][] = [
      ['node_startup', ['-e', '0'], env],
      ['pg_query', [path.join(work, 'pg-query.mjs')], { ...env, BENCH_PG_URL: server.url }, 'f0000'],
      ['cli_help', [BIN, '--help'], env, 'Usage: sluice'],
      ['cli_help_tsx', [path.join(work, 'tsx-bin.mjs'), '--help'], env, 'Usage: sluice'],
      ['cli_files_list', [BIN, 'files', 'list'], env, 'f0000'],
      ['cli_files_list_tsx', [path.join(work, 'tsx-bin.mjs'), 'files', 'list'], env, 'f0000'],
      ['cli_status', [BIN, 'status'], env],
    ];
    const times = new Map<string, number[]>(kinds.map(([k]) => [k, []]));
    const cpu = new Map<string, number[]>(kinds.map(([k]) => [k, []]));
    for (const [, args, e, expect] of kinds) await timed(args, e, expect); // warm the file cache
    for (let r = 0; r < ROUNDS; r++)
      for (const [k, args, e, expect] of kinds) {
        const t = await timed(args, e, expect);
        times.get(k)!.push(t.ms);
        cpu.get(k)!.push(t.cpuMs);
      }
    await server.stop();
    serverUp = false;
    const cold: number[] = [];
    for (let r = 0; r < COLD_ROUNDS; r++) cold.push((await timed([BIN, 'files', 'list'], env, 'f0000')).ms);

    const m = (k: string) => median(times.get(k)!);
    const c = (k: string) => median(cpu.get(k)!);
    printTable(
      [...times.entries(), ['cli_files_list_cold', cold] as [string, number[]]].map(([k, v]) => ({
        kind: k,
        median_ms: round(median(v)),
        min_ms: round(Math.min(...v)),
        max_ms: round(Math.max(...v)),
      })),
    );
    return {
      bench: 'cli',
      rounds: ROUNDS,
      files: FILES,
      load_avg_1m: round(os.loadavg()[0]!, 2),
      cli_help_ms: round(m('cli_help')),
      cli_files_list_ms: round(m('cli_files_list')),
      cli_status_ms: round(m('cli_status')),
      node_startup_ms: round(m('node_startup')),
      pg_query_ms: round(m('pg_query')),
      cli_help_ratio_vs_baseline: round(m('cli_help') / m('node_startup'), 2),
      cli_files_list_ratio_vs_baseline: round(m('cli_files_list') / m('pg_query'), 2),
      cli_status_ratio_vs_baseline: round(m('cli_status') / m('pg_query'), 2),
      cli_help_cpu_ms: round(c('cli_help')),
      cli_files_list_cpu_ms: round(c('cli_files_list')),
      cli_status_cpu_ms: round(c('cli_status')),
      node_startup_cpu_ms: round(c('node_startup')),
      pg_query_cpu_ms: round(c('pg_query')),
      cli_help_cpu_ratio_vs_baseline: round(c('cli_help') / c('node_startup'), 2),
      cli_files_list_cpu_ratio_vs_baseline: round(c('cli_files_list') / c('pg_query'), 2),
      cli_status_cpu_ratio_vs_baseline: round(c('cli_status') / c('pg_query'), 2),
      cli_help_tsx_ms: round(m('cli_help_tsx')),
      cli_files_list_tsx_ms: round(m('cli_files_list_tsx')),
      cli_help_speedup_vs_tsx: round(m('cli_help_tsx') / m('cli_help'), 2),
      cli_files_list_speedup_vs_tsx: round(m('cli_files_list_tsx') / m('cli_files_list'), 2),
      cli_files_list_cold_ms: round(median(cold)),
      build_check_ms: round(median(checks), 2),
    };
  } finally {
    if (serverUp) await server.stop();
    await rm(work, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) printResult(await run());
