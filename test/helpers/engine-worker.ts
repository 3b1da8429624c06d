/**
 * A worker process for multi-process engine tests. Configured by environment:
 * DATABASE_URL, WORKER_ID, CONCURRENCY, LEASE_MS, HEARTBEAT_MS, TAGS (comma list).
 * Handlers:
 *   sleep   payload {ms}: records (task, worker, token, start, end) in test_runs when it completes
 *   noop    completes at once
 *   tick    records a row in test_ticks (for schedule tests)
 * Prints "ready" on stdout once started; SIGTERM stops it gracefully.
 */
import { createDb } from '../../src/core/db/db.ts';
import { createLogger } from '../../src/core/log.ts';
import { Worker } from '../../src/engine/worker.ts';

const env = process.env;
const db = createDb(env.DATABASE_URL!, { max: 6 });
const log = createLogger({ level: env.WORKER_LOG ?? 'warn' });
const worker = new Worker({
  db,
  log,
  id: env.WORKER_ID,
  concurrency: Number(env.CONCURRENCY ?? 4),
  leaseMs: Number(env.LEASE_MS ?? 5000),
  heartbeatMs: Number(env.HEARTBEAT_MS ?? 1000),
  pollMs: Number(env.POLL_MS ?? 500),
  scheduleTickMs: Number(env.SCHEDULE_TICK_MS ?? 200),
  graceMs: Number(env.GRACE_MS ?? 5000),
  tags: env.TAGS ? env.TAGS.split(',') : [],
  handlers: [
    {
      kind: 'sleep',
      async run(ctx) {
        const start = Date.now();
        await new Promise((r) => setTimeout(r, Number(ctx.task.payload.ms ?? 10)));
        await ctx.complete(async (tx) => {
          await tx.exec(
            'insert into test_runs (task_id, worker, token, started_ms, ended_ms) values ($1, $2, $3, $4, $5)',
            [ctx.task.id, worker.id, ctx.task.token, start, Date.now()],
          );
        });
      },
    },
    { kind: 'noop', async run() {} },
    {
      kind: 'tick',
      async run(ctx) {
        await ctx.complete(async (tx) => {
          await tx.exec('insert into test_ticks (schedule, scheduled_for, worker) values ($1, $2, $3)', [
            ctx.task.subject,
            ctx.task.payload.scheduledFor,
            worker.id,
          ]);
        });
      },
    },
  ],
});
await worker.start();
process.stdout.write('ready\n');
process.on('SIGTERM', async () => {
  await worker.stop();
  await db.close();
  process.exit(0);
});
