/**
 * A minimal worker process for `bench/engine.ts`: one `noop` handler that does nothing.
 * Configured by environment: DATABASE_URL, WORKER_ID, CONCURRENCY (default 12).
 * Prints "ready" on stdout once started; on SIGTERM it stops, prints `rss <bytes>` and
 * `stats <json>` (the statements it sent, by what they do: count and total ms) and exits.
 */
import pg from 'pg';
import { createDb } from '../src/core/db/db.ts';
import { silentLogger } from '../src/core/log.ts';
import { Worker } from '../src/engine/worker.ts';

/** What a statement does, from its text: the bench counts round trips per task by these. */
function statementKind(sql: string): string {
  if (/sluice_claim/.test(sql)) return 'claim';
  if (/sluice_finish/.test(sql)) return 'finish';
  if (/state = 'succeeded'/.test(sql)) return 'complete';
  if (/^(begin|commit|rollback)/i.test(sql)) return sql.toLowerCase();
  return 'other';
}

const stats: Record<string, { n: number; ms: number }> = {};
// Counted where every statement passes, promise or callback style (pg-pool uses callbacks).
const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const sql = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string })?.text ?? '');
  const t0 = performance.now();
  const note = () => {
    const kind = statementKind(sql);
    const s = stats[kind] ?? { n: 0, ms: 0 };
    s.n++;
    s.ms += performance.now() - t0;
    stats[kind] = s;
  };
  const cb = args.at(-1);
  if (typeof cb === 'function') {
    args[args.length - 1] = (...r: unknown[]) => {
      note();
      return (cb as (...a: unknown[]) => unknown)(...r);
    };
  }
  const r = query.apply(this, args);
  if (r instanceof Promise) void r.then(note, () => undefined);
  return r;
} as typeof pg.Client.prototype.query;

const env = process.env;
const concurrency = Number(env.CONCURRENCY ?? 12);
const db = createDb(env.DATABASE_URL!, { max: concurrency + 2, applicationName: 'sluice-bench-worker' });
const worker = new Worker({
  db,
  log: silentLogger,
  id: env.WORKER_ID,
  concurrency,
  graceMs: 5000,
  handlers: [{ kind: 'noop', async run() {} }],
});
await worker.start();
process.stdout.write('ready\n');
process.once('SIGTERM', async () => {
  await worker.stop();
  await db.close();
  process.stdout.write(`rss ${process.memoryUsage().rss}\n`);
  process.stdout.write(`stats ${JSON.stringify(stats)}\n`);
  process.exit(0);
});
