/**
 * `sluice demo`: the whole pipeline on one machine with nothing installed — a demo config in a data
 * directory, embedded PostgreSQL, a simulated instrument writing raw data, intake and verified
 * backup running live, with readable progress.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { Queryable } from '../core/db/db.ts';
import { embeddedCanReach, freePort } from '../core/db/embedded.ts';
import { InstrumentSimulator } from '../demo/simulator.ts';
import { fileEventsAfter, latestEventId } from '../engine/events.ts';
import { countByStatus } from '../files/repo.ts';
import { type AppContext, openContext } from '../runtime/context.ts';
import { runProcess, untilSignal } from '../runtime/run.ts';
import { parseIntArg } from './args.ts';
import { announceFirstAdmin } from './users.ts';

/** The longest delay a Node.js timer takes (2^31 - 1 ms); a longer one fires at once. */
const MAX_TIMER_SECONDS = 2_147_483;

/** The bundled demo "analysis software" (writes an AlphaDIA-style stat.tsv). */
const PROCESSOR = fileURLToPath(new URL('../demo/processor.mjs', import.meta.url));

export async function writeDemoConfig(dir: string): Promise<string> {
  const file = path.join(dir, 'sluice.yaml');
  if (existsSync(file)) return file;
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  // As root the embedded PostgreSQL runs as 'postgres'; a demo inside /root or a 0700 directory is
  // out of its reach, so its database goes to /var/tmp instead (everything else stays here).
  const dataDir = (await embeddedCanReach(dir))
    ? './data'
    : path.join('/var/tmp', `sluice-demo-${createHash('sha1').update(dir).digest('hex').slice(0, 10)}`);
  await writeFile(
    file,
    `# Demo configuration written by \`sluice demo\`. Edit freely; delete it to start over.
data_dir: ${dataDir}
database:
  embedded_port: ${port}
log:
  level: warn
server:
  port: 0 # any free port; the demo prints the address
worker:
  concurrency: 4
projects:
  DEMO: { name: Demo project, tokens: [demo] }
instruments:
  demo-astral:
    type: thermo
    watch: ./instruments/demo-astral
    scan_interval_seconds: 2
    acquisition: { stable_window_seconds: 4 }
  demo-tims:
    type: bruker
    watch: ./instruments/demo-tims
    scan_interval_seconds: 2
    acquisition: { stable_window_seconds: 4, main_file_timeout_seconds: 120 }
backup:
  path: ./backup
processing:
  executor: local # jobs run as child processes here; \`slurm\` sends them to a cluster
  poll_seconds: 2
  environment: "true" # no conda in the demo
  settings:
    demo-qc:
      version: 1
      software: demo-processor
      software_version: "1.0"
      template: |
        {{env}}
        node ${JSON.stringify(PROCESSOR).slice(1, -1)} --raw {{raw_path}} --out {{output_dir}}
      resources: { cpus: 1, memory_mb: 500, time_minutes: 5 }
      metrics: { type: alphadia }
      known_errors:
        - { pattern: "no precursors found", reason: "no identifiable peptides: check the injection (demo failure)" }
  assignments:
    - settings: demo-qc
      projects: ['*']
`,
  );
  return file;
}

const colors = process.stdout.isTTY
  ? { dim: '\x1b[2m', green: '\x1b[32m', red: '\x1b[31m', yellow: '\x1b[33m', reset: '\x1b[0m' }
  : { dim: '', green: '', red: '', yellow: '', reset: '' };

function paint(to: string | null): string {
  if (!to) return '';
  if (['done', 'done_not_processed', 'backed_up', 'processed'].includes(to))
    return `${colors.green}${to}${colors.reset}`;
  if (['error', 'lost', 'acquisition_failed', 'processing_failed'].includes(to))
    return `${colors.red}${to}${colors.reset}`;
  return `${colors.yellow}${to}${colors.reset}`;
}

/** Prints each file's status changes as they happen (every 500 ms), until stopped. */
async function followFiles(db: Queryable): Promise<{ stop(): void }> {
  const out = process.stdout;
  let lastEvent = String(await latestEventId(db));
  const timer = setInterval(async () => {
    try {
      const rows = await fileEventsAfter(db, lastEvent, 200);
      for (const e of rows) {
        lastEvent = e.id;
        const t = e.at.toISOString().slice(11, 19);
        const change = e.to_state ? `${e.from_state ?? '∅'} → ${paint(e.to_state)}` : 'note';
        out.write(
          `${colors.dim}${t}${colors.reset}  ${e.subject_id.padEnd(34)} ${change}${e.reason ? `${colors.dim}  ${e.reason}${colors.reset}` : ''}\n`,
        );
      }
    } catch {
      // the next tick tries again
    }
  }, 500);
  return { stop: () => clearInterval(timer) };
}

/** The closing lines: why the demo stopped, files by status, how to go on or start over. */
async function printEnd(ctx: AppContext, dir: string, why: string): Promise<void> {
  const out = process.stdout;
  const counts = Object.entries(await countByStatus(ctx.db)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  out.write(
    `\n${why === 'duration' ? 'demo time is up' : 'stopped'}. files by status: ${counts.map(([status, n]) => `${status} ${n}`).join(', ') || 'none'}\n`,
  );
  const elsewhere = !ctx.config.data_dir.startsWith(dir) ? ` and ${ctx.config.data_dir}` : '';
  out.write(
    `run \`npm start\` again to continue where it left off; delete ${dir}${elsewhere} to start over\n`,
  );
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'run the demo: a simulated instrument, intake, verified backup and processing, on an embedded database',
    )
    .option(
      '-d, --dir <path>',
      'demo directory (config, database, instrument folders, backups)',
      'sluice-demo',
    )
    .option('--files <n>', 'stop the simulated instrument after this many acquisitions')
    .option('--duration <seconds>', 'exit after this many seconds (default: run until Ctrl-C)')
    .action(async (opts: { dir: string; files?: string; duration?: string }) => {
      const dir = path.resolve(opts.dir);
      const maxFiles =
        opts.files === undefined ? undefined : parseIntArg('--files', opts.files, 1, 1_000_000);
      const duration =
        opts.duration === undefined
          ? undefined
          : parseIntArg('--duration', opts.duration, 1, MAX_TIMER_SECONDS);
      const configFile = await writeDemoConfig(dir);
      const out = process.stdout;
      out.write(
        `Sluice demo in ${dir}\n  config   ${configFile}\n  starting embedded PostgreSQL (first start initialises it)…\n`,
      );
      const ctx = await openContext({ config: configFile, env: 'local' }, { schema: 'migrate' });
      ctx.embedded?.supervise(); // a killed embedded PostgreSQL is started again
      const sim = new InstrumentSimulator({
        thermoDir: ctx.config.instruments['demo-astral']!.watch,
        brukerDir: ctx.config.instruments['demo-tims']!.watch,
        maxFiles,
      });
      try {
        await mkdir(sim.o.thermoDir, { recursive: true });
        await mkdir(sim.o.brukerDir, { recursive: true });
        const running = await runProcess(ctx, { role: 'all', tags: [] });
        out.write(
          `  web      ${running.webUrl}  (the dashboard; the API under /api)\n  backups  ${ctx.config.backup.path}\n`,
        );
        if (!(await announceFirstAdmin(ctx.db, out, running.webUrl, ctx.config.data_dir))) {
          out.write(
            `  login    admin (password shown at the first start; a new one: sluice --config ${configFile} users reset-password admin)\n`,
          );
        }
        out.write(`  try      sluice --config ${configFile} files list    (in another terminal)\n\n`);
        out.write(`The simulated instrument writes a raw file every few seconds. Ctrl-C stops.\n\n`);
        sim.start();
        const follow = await followFiles(ctx.db);
        const stopAfter = duration
          ? new Promise<string>((r) => setTimeout(() => r('duration'), duration * 1000))
          : new Promise<string>(() => {});
        const why = await Promise.race([untilSignal(() => out.write('\nstopping…\n')), stopAfter]);
        follow.stop();
        await sim.stop();
        await running.stop();
        await printEnd(ctx, dir, why);
      } finally {
        await sim.stop();
        await ctx.close();
      }
    });
}
