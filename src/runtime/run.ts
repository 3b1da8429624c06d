/**
 * Runs a Sluice process: the worker (claims tasks), the web server, or both. Used by
 * `sluice start` and `sluice demo`. Stops gracefully on SIGTERM/SIGINT: no new claims, running
 * tasks get `worker.shutdown_grace_seconds` to finish, then their leases are released.
 */

import path from 'node:path';
import { createApp } from '../api/app.ts';
import { startServer } from '../api/server.ts';
import { syncProjects } from '../catalog/projects.ts';
import { UsageError } from '../core/errors.ts';
import { assertSharedLocations, FALLBACK_KEEPS_DATA, isFallback } from '../core/instance.ts';
import { ensureSchedules, removeSchedulesExcept, type ScheduleSpec } from '../engine/schedules.ts';
import { Worker } from '../engine/worker.ts';
import { syncInstruments } from '../files/repo.ts';
import { executorProvider } from '../process/executor.ts';
import { syncSettings } from '../process/settings.ts';
import { startStreams } from '../streams/consumer.ts';
import { startPublisher } from '../streams/outbox.ts';
import { setOutboxEnabled } from '../streams/outbox-repo.ts';
import { type AppContext, VERSION } from './context.ts';
import { buildDashboardIfStale } from './dashboard-build.ts';
import { collect, SCHEDULE_PREFIXES } from './handlers.ts';

export type Role = 'web' | 'worker' | 'all';

export function parseRole(raw: string): Role {
  if (raw === 'web' || raw === 'worker' || raw === 'all') return raw;
  throw new UsageError(`--role must be web, worker or all, got '${raw}'`);
}

export interface Running {
  worker?: Worker;
  webUrl?: string;
  stop(): Promise<void>;
}

/** Instruments, processing settings and schedules as the config says (before a worker starts). */
async function syncWorkerState(ctx: AppContext, schedules: ScheduleSpec[]): Promise<void> {
  const { db, config } = ctx;
  await syncInstruments(db, config.instruments);
  await syncSettings(db, config);
  await ensureSchedules(db, schedules);
  // instruments removed from the config stop being scanned and cleaned
  for (const prefix of SCHEDULE_PREFIXES) {
    await removeSchedulesExcept(
      db,
      prefix,
      schedules.map((s) => s.name).filter((n) => n.startsWith(prefix)),
    );
  }
}

export async function runProcess(
  ctx: AppContext,
  opts: { role: Role; tags: string[]; concurrency?: number; port?: number },
): Promise<Running> {
  const { config, db, log } = ctx;
  const stops: (() => Promise<void>)[] = [];
  const running: Running = {
    async stop() {
      for (const s of stops.reverse()) await s();
    },
  };
  assertSharedLocations(config);
  try {
    await syncProjects(db, config);
    if (isFallback(config)) log.warn({ mode: 'fallback' }, `FALLBACK INSTANCE: ${FALLBACK_KEEPS_DATA}`);
    // file events go to the outbox (a trigger) only while streams.publish is configured
    await setOutboxEnabled(db, config.streams.publish !== undefined);
    if (opts.role === 'worker' || opts.role === 'all') {
      const executors = executorProvider(config);
      stops.push(() => executors.close());
      const baseDir = path.dirname(ctx.loaded.files[0] ?? '.');
      // aborted after the worker stopped (stops run in reverse): handlers clear their wake timers
      const stopped = new AbortController();
      stops.push(async () => stopped.abort());
      const stage = collect(config, ctx.vars, {
        baseDir,
        executor: executors.get,
        stopped: stopped.signal,
      });
      await syncWorkerState(ctx, stage.schedules);
      const worker = new Worker({
        db,
        log,
        handlers: stage.handlers,
        role: opts.role,
        version: VERSION,
        mode: config.instance.mode,
        tags: opts.tags,
        concurrency: opts.concurrency ?? config.worker.concurrency,
        leaseMs: config.worker.lease_seconds * 1000,
        heartbeatMs: config.worker.heartbeat_seconds * 1000,
        pollMs: config.worker.poll_seconds * 1000,
        graceMs: config.worker.shutdown_grace_seconds * 1000,
      });
      await worker.start();
      running.worker = worker;
      stops.push(() => worker.stop());
      stops.push(...(await startStreamWork(ctx, baseDir, opts.tags)));
    }
    if (opts.role === 'web' || opts.role === 'all') {
      const server = await startServer(
        createApp({
          db,
          config,
          vars: ctx.vars,
          version: VERSION,
          log,
          baseDir: path.dirname(ctx.loaded.files[0] ?? '.'),
        }),
        {
          host: config.server.host,
          port: opts.port ?? config.server.port,
          log,
        },
      );
      running.webUrl = server.url;
      stops.push(() => server.close());
      void buildDashboardIfStale(log); // in the background; `/` says it is being built meanwhile
    }
  } catch (err) {
    await running.stop();
    throw err;
  }
  return running;
}

/**
 * The worker's stream work: consumers of the sources its tags serve (acquisition signals included), and
 * the publisher of file events when `streams.publish` is set. Returns their stops (run before the worker's).
 */
async function startStreamWork(
  ctx: AppContext,
  baseDir: string,
  tags: string[],
): Promise<(() => Promise<void>)[]> {
  const { config, db, log } = ctx;
  const streams = await startStreams({
    db,
    log,
    streams: config.streams,
    baseDir,
    tags,
    instruments: config.instruments,
  });
  const stops = [() => streams.stop()];
  if (config.streams.publish) {
    const publisher = await startPublisher({ db, log, publish: config.streams.publish }).catch(
      async (err: unknown) => {
        await streams.stop();
        throw err;
      },
    );
    stops.push(() => publisher.stop());
  }
  return stops;
}

/** Resolves on the first SIGINT/SIGTERM; a second one exits at once. */
export function untilSignal(onFirst?: (sig: string) => void): Promise<string> {
  return new Promise((resolve) => {
    let seen = false;
    const handler = (sig: string) => {
      if (seen) {
        process.stderr.write('second signal: exiting now; leases will expire and other workers take over\n');
        process.exit(130);
      }
      seen = true;
      onFirst?.(sig);
      resolve(sig);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
