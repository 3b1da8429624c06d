/**
 * A minimal worker process for `bench/engine.ts`: one `noop` handler that does nothing.
 * Configured by environment: DATABASE_URL, WORKER_ID, CONCURRENCY (default 12).
 * Prints "ready" on stdout once started; on SIGTERM it stops, prints `rss <bytes>` and exits.
 */
import { createDb } from '../src/core/db/db.ts';
import { silentLogger } from '../src/core/log.ts';
import { Worker } from '../src/engine/worker.ts';

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
  process.exit(0);
});
