/**
 * Bench `stream` (issue #21): N small JSON events (default 100,000; `SLUICE_BENCH_STREAM_N`) through a
 * field filter and a compute unit into PostgreSQL with ack-after-commit on two replicas (child
 * processes running src/streams/consumer.ts, bench/stream-worker.ts), against a bare JetStream consumer
 * in the same run that COPYs the raw messages into a table and acks them (the same durable work without
 * Sluice). Rounds alternate bare / ours (`SLUICE_BENCH_STREAM_ROUNDS`, default 2); medians reported.
 * Needs `nats-server` on the PATH. Figures: `events_per_s`, `ratio_vs_bare` (goal ≥ 0.6),
 * `ack_latency_p99_ms`, `rss_mb`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { AckPolicy, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createDb, type Db } from '../src/core/db/db.ts';
import { freePort, startEmbedded } from '../src/core/db/embedded.ts';
import { migrate } from '../src/core/db/migrate.ts';
import { silentLogger } from '../src/core/log.ts';
import { isMain, percentile, printTable } from './lib.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const N = Number(process.env.SLUICE_BENCH_STREAM_N) || 100_000;
const ROUNDS = Number(process.env.SLUICE_BENCH_STREAM_ROUNDS) || 2;
const BATCH = 256;
const STREAM = 'EV';

const UNIT = `export default { version: '1', compute: (item, config) => ({ scaled: item.payload.value * config.factor }) };\n`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const round = (x: number, d = 0) => Math.round(x * 10 ** d) / 10 ** d;

async function startNats(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('nats-server', ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], {
    stdio: 'ignore',
  });
  const url = `nats://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await (await connect({ servers: url })).close();
      return { url, child };
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function publishAll(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: STREAM, subjects: ['ev.>'] });
  const js = jetstream(nc);
  for (let i = 0; i < N; i += 1000) {
    const n = Math.min(1000, N - i);
    await Promise.all(
      Array.from({ length: n }, (_, k) =>
        js.publish('ev.pressure', JSON.stringify({ kind: 'pressure', instrument: 'pump-1', value: i + k })),
      ),
    );
  }
}

/** The bare baseline: one pull consumer, COPY each batch's raw messages into a table, then ack. */
async function bare(nc: NatsConnection, db: Db, durable: string): Promise<{ perS: number; lat: number[] }> {
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add(STREAM, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    max_ack_pending: 4096,
  });
  await db.exec('truncate bare_events');
  const consumer = await jetstream(nc).consumers.get(STREAM, durable);
  const lat: number[] = [];
  const client = await db.pool.connect();
  const t0 = performance.now();
  let done = 0;
  try {
    while (done < N) {
      const msgs: JsMsg[] = [];
      for await (const m of await consumer.fetch({ max_messages: BATCH, expires: 1000 })) msgs.push(m);
      if (msgs.length === 0) continue;
      const started = performance.now();
      const rows = msgs.map((m) => `${m.seq}\t${m.subject}\t${m.string().replace(/\\/g, '\\\\')}\n`).join('');
      await client.query('begin');
      await pipeline(
        async function* () {
          yield rows;
        },
        client.query(copyFrom('copy bare_events (seq, subject, payload) from stdin')),
      );
      await client.query('commit');
      for (const m of msgs) m.ack();
      const ms = performance.now() - started;
      for (let i = 0; i < msgs.length; i++) lat.push(ms);
      done += msgs.length;
    }
  } finally {
    client.release();
  }
  return { perS: N / ((performance.now() - t0) / 1000), lat };
}

function replica(
  url: string,
  streamsJson: string,
  baseDir: string,
): Promise<ChildProcess & { out: () => string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(here, 'stream-worker.ts'), url, streamsJson, baseDir],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    const check = () => out.includes('ready\n') && resolve(Object.assign(child, { out: () => out }));
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`stream-worker exited with ${code}`)));
  });
}

/** Ours: two replicas of Sluice's consumer on one durable; timed until every item is stored. */
async function ours(natsUrl: string, db: Db, dbUrl: string, baseDir: string, durable: string) {
  await db.exec('truncate stream_items cascade');
  const streams = {
    sources: {
      ev: {
        servers: [natsUrl],
        stream: STREAM,
        subjects: [],
        durable,
        max_in_flight: BATCH,
        max_ack_pending: 4096,
        ack_wait_seconds: 30,
        max_deliveries: 5,
      },
    },
    channels: { pumps: { filters: [{ field: 'value', op: 'gte', value: 0 }] } },
    units: { scale: { kind: 'compute', module: './unit.mjs', config: { factor: 2 }, depends_on: [] } },
  };
  const reps = await Promise.all([0, 1].map(() => replica(dbUrl, JSON.stringify(streams), baseDir)));
  // timed from the first item stored (not from the replicas' start-up) to the moment all are stored
  let seconds = 0;
  for (;;) {
    const r = await db.one<{ n: number; s: number }>(
      'select count(*)::int as n, extract(epoch from clock_timestamp() - min(received_at))::float8 as s from stream_items',
    );
    seconds = r.s;
    if (r.n >= N) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const perS = N / seconds;
  const reports = await Promise.all(
    reps.map(
      (c) =>
        new Promise<{ batches: [number, number][]; rss: number }>((resolve) => {
          c.once('exit', () => resolve(JSON.parse(c.out().trim().split('\n').pop()!)));
          c.stdin!.write('stop\n');
        }),
    ),
  );
  const results = (await db.one<{ n: number }>('select count(*)::int as n from unit_results')).n;
  return {
    perS,
    lat: reports.flatMap((r) => r.batches.flatMap(([ms, n]) => Array<number>(n).fill(ms))),
    rss: Math.max(...reports.map((r) => r.rss)),
    results,
  };
}

export async function run(): Promise<Record<string, number | string>> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'sluice-bench-stream-'));
  const server = await startEmbedded({ dataDir: tmp, port: await freePort(), log: silentLogger });
  const adminUrl = server.url.replace(/\/sluice$/, '/postgres');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query('create database stream_bench');
  await admin.end();
  const dbUrl = adminUrl.replace(/\/postgres$/, '/stream_bench');
  const db = createDb(dbUrl, { max: 4 });
  const nats = await startNats(path.join(tmp, 'nats'));
  const nc = await connect({ servers: nats.url });
  try {
    await migrate(db);
    await db.exec(
      'create table bare_events (seq bigint primary key, subject text not null, payload jsonb not null)',
    );
    await writeFile(path.join(tmp, 'unit.mjs'), UNIT);
    const load0 = os.loadavg()[0]!;
    await publishAll(nc);
    const bareRounds: Awaited<ReturnType<typeof bare>>[] = [];
    const ourRounds: Awaited<ReturnType<typeof ours>>[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      bareRounds.push(await bare(nc, db, `bare-${r}`));
      ourRounds.push(await ours(nats.url, db, dbUrl, tmp, `sluice-${r}`));
    }
    const oursPerS = median(ourRounds.map((r) => r.perS));
    const barePerS = median(bareRounds.map((r) => r.perS));
    printTable([
      ...bareRounds.map((r, i) => ({
        run: `bare ${i + 1}`,
        events_per_s: round(r.perS),
        ack_p99_ms: round(percentile(r.lat, 99), 1),
      })),
      ...ourRounds.map((r, i) => ({
        run: `sluice x2 ${i + 1}`,
        events_per_s: round(r.perS),
        ack_p99_ms: round(percentile(r.lat, 99), 1),
        results: r.results,
      })),
    ]);
    return {
      events: N,
      events_per_s: round(oursPerS),
      bare_events_per_s: round(barePerS),
      ratio_vs_bare: round(oursPerS / barePerS, 2),
      ack_latency_p99_ms: round(median(ourRounds.map((r) => percentile(r.lat, 99))), 1),
      bare_ack_latency_p99_ms: round(median(bareRounds.map((r) => percentile(r.lat, 99))), 1),
      rss_mb: round(Math.max(...ourRounds.map((r) => r.rss)) / 2 ** 20),
      load_1min_at_start: round(load0, 2),
      load_1min_at_end: round(os.loadavg()[0]!, 2),
    };
  } finally {
    await nc.close().catch(() => undefined);
    nats.child.kill('SIGTERM');
    await db.close();
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const { printResult } = await import('./lib.ts');
  printResult(await run());
}
