/**
 * Benchmark of the verified S3 copy (src/backup/s3/) against a baseline measured in the same run:
 *   (a) uploadMember + readBackS3Copy of a 1 GiB file into s3rver — per-part MD5s, ETag compared,
 *       the whole-file sha256 checked against the recorded one, then every byte read back and hashed
 *   vs (b) a plain `@aws-sdk/lib-storage` Upload of the same file, same part size and parts in
 *       flight, with no hashing and no verification.
 * Rounds alternate (SLUICE_BENCH_S3_ROUNDS, default 2), the minimum per method counts; the file size
 * is SLUICE_BENCH_S3_MB (default 1024). s3rver runs in a child process (bench/s3rver-process.ts,
 * writing to a temp dir), so `s3_rss_mb` (the peak RSS of this process during (a)) is Sluice's
 * upload and read-back path with the AWS SDK, not the server's; `s3_plain_upload_rss_mb` is the
 * same for (b), for comparison. The peak is sampled every 100 ms from each method's start, so
 * memory the method before it kept and did not return counts too (rounds alternate the order).
 * Registered in bench/backup.ts (`npm run bench -- backup`); alone: `npx tsx bench/backup-s3.ts`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Manifest } from '../src/backup/s3/keys.ts';
import { uploadMember } from '../src/backup/s3/upload.ts';
import { readBackS3Copy } from '../src/backup/s3/verify.ts';
import { makeTmp, writeDataFile } from '../src/backup/testing.ts';
import { s3Client } from '../src/storage/s3-client.ts';
import { isMain, printResult } from './lib.ts';

const MiB = 1024 * 1024;
const ROUNDS = Math.max(1, Number(process.env.SLUICE_BENCH_S3_ROUNDS ?? 2));
const SIZE = Math.max(1, Number(process.env.SLUICE_BENCH_S3_MB ?? 1024)) * MiB;
const PART = 16 * MiB;
const IN_FLIGHT = 4;

async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: MiB })) h.update(c as Buffer);
  return h.digest('hex');
}

/** s3rver in a child process (bench/s3rver-process.ts) and the port it listens on. */
async function startServer(dir: string): Promise<{ child: ChildProcess; port: number }> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 's3rver-process.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, dir], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /port (\d+)\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`s3rver-process exited with ${code}: ${out}`)));
  });
  return { child, port };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.stdin!.end();
  await exited;
}

export async function runS3(): Promise<Record<string, number>> {
  const tmp = await makeTmp('sluice-bench-s3-');
  await mkdir(join(tmp.dir, 's3'));
  const { child, port } = await startServer(join(tmp.dir, 's3'));
  const client = s3Client({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    force_path_style: true,
    access_key_id: 'S3RVER',
    secret_access_key: 'S3RVER',
  });
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  try {
    const file = join(tmp.dir, 'raw.bin');
    await writeDataFile(file, SIZE);
    const hash = await sha256Of(file);
    const times: Record<'verified' | 'plain', number[]> = { verified: [], plain: [] };
    const rss = { verified: 0, plain: 0 };
    const ours = async (i: number) => {
      const key = `v/${i}`;
      const t0 = performance.now();
      const up = await uploadMember({
        client,
        bucket: 'bench',
        key,
        path: file,
        size: SIZE,
        algorithm: 'sha256',
        hash,
        partSize: PART,
        partsInFlight: IN_FLIGHT,
        storageClass: 'STANDARD',
        metadata: { 'sluice-sha256': hash },
      });
      const m: S3Manifest = {
        algorithm: 'sha256',
        totalBytes: SIZE,
        entries: [{ rel: 'raw.bin', size: SIZE, mtimeMs: 0, hash }],
        s3: {
          bucket: 'bench',
          place: '',
          objects: [{ rel: 'raw.bin', key, etag: up.etag }],
          storageClass: 'STANDARD',
        },
      };
      const back = await readBackS3Copy(client, m);
      if (!back.ok) throw new Error(`read-back failed: ${back.problems.join('; ')}`);
      times.verified.push((performance.now() - t0) / 1000);
    };
    const plain = async (i: number) => {
      const t0 = performance.now();
      const u = new Upload({
        client,
        params: { Bucket: 'bench', Key: `p/${i}`, Body: createReadStream(file, { highWaterMark: MiB }) },
        partSize: PART,
        queueSize: IN_FLIGHT,
      });
      await u.done();
      times.plain.push((performance.now() - t0) / 1000);
    };
    for (let i = 0; i < ROUNDS; i++) {
      // alternating order: neither method always runs on the cache the other warmed
      for (const [name, m] of i % 2 === 0
        ? ([
            ['verified', ours],
            ['plain', plain],
          ] as const)
        : ([
            ['plain', plain],
            ['verified', ours],
          ] as const)) {
        peakRss = process.memoryUsage().rss;
        await m(i);
        rss[name] = Math.max(rss[name], peakRss);
      }
    }
    const best = (k: keyof typeof times) => Math.min(...times[k]);
    console.log(
      `s3: verified ${times.verified.map((t) => t.toFixed(1)).join(', ')} s; plain ${times.plain.map((t) => t.toFixed(1)).join(', ')} s`,
    );
    return {
      s3_seconds: best('verified'),
      s3_plain_upload_seconds: best('plain'),
      s3_ratio_vs_plain_upload: best('verified') / best('plain'),
      s3_rss_mb: Math.round(rss.verified / MiB),
      s3_plain_upload_rss_mb: Math.round(rss.plain / MiB),
    };
  } finally {
    clearInterval(sampler);
    await stopServer(child);
    await tmp.cleanup();
  }
}

if (isMain(import.meta.url)) printResult(await runS3());
