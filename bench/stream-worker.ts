/**
 * One replica of the `stream` bench (bench/stream.ts): runs Sluice's stream consumer
 * (src/streams/consumer.ts) against the bench's nats-server and database until told to stop on stdin,
 * then prints its acknowledgement latencies (per batch: ms from the start of the batch to its ack, and
 * how many messages) and peak RSS as one JSON line.
 */

import type { StreamsConfig } from '../src/core/config/schema/streams.ts';
import { createDb } from '../src/core/db/db.ts';
import { silentLogger } from '../src/core/log.ts';
import { startStreams } from '../src/streams/consumer.ts';

const [url, streamsJson, baseDir] = process.argv.slice(2) as [string, string, string];
const db = createDb(url, { max: 4 });
const batches: [ms: number, n: number][] = [];
let rss = 0;
const streams = await startStreams({
  db,
  log: silentLogger,
  streams: JSON.parse(streamsJson) as StreamsConfig,
  baseDir,
  tags: [],
  observe: (acked, startedAt) => {
    batches.push([performance.now() - startedAt, acked.length]);
    rss = Math.max(rss, process.memoryUsage().rss);
  },
});
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.once('data', async () => {
  await streams.stop();
  await db.close();
  process.stdout.write(`${JSON.stringify({ batches, rss })}\n`, () => process.exit(0));
});
