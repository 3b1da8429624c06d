/**
 * The backup-s3 bench's S3 server (bench/backup-s3.ts) in a process of its own, so the bench
 * process's RSS is the upload path's alone: s3rver on 127.0.0.1 (a free port), storing under the
 * directory given as the first argument, with bucket `bench`. Prints `port <n>` once listening and
 * closes when stdin ends.
 */
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: process.argv[2]!,
  configureBuckets: [{ name: 'bench', configs: [] }],
});
const { port } = (await server.run()) as AddressInfo;
process.stdout.write(`port ${port}\n`);
process.stdin.resume();
process.stdin.once('end', async () => {
  await server.close();
  process.exit(0);
});
