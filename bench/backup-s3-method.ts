/**
 * One round of one method of the backup-s3 bench (bench/backup-s3.ts), in a fresh process so its
 * peak RSS is that method's alone: `verified` (uploadMember + readBackS3Copy, Sluice's path) or
 * `plain` (a bare `@aws-sdk/lib-storage` Upload). Arguments: method, s3rver port, file, its size,
 * its sha256, key. Prints `{"seconds":…,"rss":…,"cpu":…,"upload":…}`: RSS in bytes, sampled every
 * 100 ms; `cpu` the process's CPU seconds (user + system, its hashing threads included) over the
 * timed part; `upload` the seconds until the upload completed (for `verified`, the rest is the
 * read-back). The object is deleted afterwards (untimed), so every run finds the same store.
 */
import { createReadStream } from 'node:fs';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Manifest } from '../src/backup/s3/keys.ts';
import { uploadMember } from '../src/backup/s3/upload.ts';
import { readBackS3Copy } from '../src/backup/s3/verify.ts';
import { s3Client } from '../src/storage/s3-client.ts';

const MiB = 1024 * 1024;
const PART = 16 * MiB;
const IN_FLIGHT = 4;

const [method, port, file, sizeText, hash, key] = process.argv.slice(2) as [
  'verified' | 'plain',
  string,
  string,
  string,
  string,
  string,
];
const size = Number(sizeText);
const client = s3Client({
  region: 'us-east-1',
  endpoint: `http://127.0.0.1:${port}`,
  force_path_style: true,
  access_key_id: 'S3RVER',
  secret_access_key: 'S3RVER',
});

let uploaded = 0;

async function verified(): Promise<void> {
  const up = await uploadMember({
    client,
    bucket: 'bench',
    key,
    path: file,
    size,
    algorithm: 'sha256',
    hash,
    partSize: PART,
    partsInFlight: IN_FLIGHT,
    storageClass: 'STANDARD',
    metadata: { 'sluice-sha256': hash },
  });
  uploaded = performance.now();
  const m: S3Manifest = {
    algorithm: 'sha256',
    totalBytes: size,
    entries: [{ rel: 'raw.bin', size, mtimeMs: 0, hash }],
    s3: {
      bucket: 'bench',
      place: '',
      objects: [{ rel: 'raw.bin', key, etag: up.etag }],
      storageClass: 'STANDARD',
    },
  };
  const back = await readBackS3Copy(client, m);
  if (!back.ok) throw new Error(`read-back failed: ${back.problems.join('; ')}`);
}

async function plain(): Promise<void> {
  const u = new Upload({
    client,
    params: { Bucket: 'bench', Key: key, Body: createReadStream(file, { highWaterMark: MiB }) },
    partSize: PART,
    queueSize: IN_FLIGHT,
  });
  await u.done();
  uploaded = performance.now();
}

let rss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  rss = Math.max(rss, process.memoryUsage().rss);
}, 100);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await (method === 'verified' ? verified() : plain());
const seconds = (performance.now() - t0) / 1000;
const c = process.cpuUsage(cpu0);
clearInterval(sampler);
rss = Math.max(rss, process.memoryUsage().rss);
const cpu = (c.user + c.system) / 1e6;
const upload = (uploaded - t0) / 1000;
await client.send(new DeleteObjectCommand({ Bucket: 'bench', Key: key })); // untimed: the next run finds the same store
process.stdout.write(`${JSON.stringify({ seconds, rss, cpu, upload })}\n`);
