/**
 * Benchmark of the verified S3 copy (src/backup/s3/) against a baseline measured in the same run:
 *   (a) uploadMember + readBackS3Copy of a 1 GiB file into s3rver — per-part MD5s, ETag compared,
 *       the whole-file sha256 checked against the recorded one, then every byte read back and hashed
 *   vs (b) a plain `@aws-sdk/lib-storage` Upload of the same file, same part size and parts in
 *       flight, with no hashing and no verification.
 * Rounds alternate (SLUICE_BENCH_S3_ROUNDS, default 2), the minimum per method counts; the file size
 * is SLUICE_BENCH_S3_MB (default 1024); 16 MiB parts, 4 in flight. s3rver runs in a child process
 * (bench/s3rver-process.ts, writing to a temp dir) and each round of each method in a fresh process
 * of its own (bench/backup-s3-method.ts), so `s3_rss_mb` (the peak RSS of (a)'s process) is Sluice's
 * upload and read-back path with the AWS SDK alone — not the server's memory, nor what the other
 * method left behind; `s3_plain_upload_rss_mb` is the same for (b), for comparison.
 * Registered in bench/backup.ts (`npm run bench -- backup`); alone: `npx tsx bench/backup-s3.ts`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTmp, writeDataFile } from '../src/backup/testing.ts';
import { isMain, printResult, startS3rver, stopS3rver } from './lib.ts';

const MiB = 1024 * 1024;
const ROUNDS = Math.max(1, Number(process.env.SLUICE_BENCH_S3_ROUNDS ?? 2));
const SIZE = Math.max(1, Number(process.env.SLUICE_BENCH_S3_MB ?? 1024)) * MiB;

async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: MiB })) h.update(c as Buffer);
  return h.digest('hex');
}

type Method = 'verified' | 'plain';

/** One round of one method in a fresh process (bench/backup-s3-method.ts): its time and peak RSS. */
async function runMethod(
  m: Method,
  port: number,
  file: string,
  hash: string,
  round: number,
): Promise<{ seconds: number; rss: number }> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'backup-s3-method.ts');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', script, m, String(port), file, String(SIZE), hash, String(round)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`backup-s3-method ${m} exited with ${code}: ${out}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as { seconds: number; rss: number };
}

export async function runS3(): Promise<Record<string, number>> {
  const tmp = await makeTmp('sluice-bench-s3-');
  await mkdir(join(tmp.dir, 's3'));
  const { child, port } = await startS3rver(join(tmp.dir, 's3'));
  try {
    const file = join(tmp.dir, 'raw.bin');
    await writeDataFile(file, SIZE);
    const hash = await sha256Of(file);
    const times: Record<Method, number[]> = { verified: [], plain: [] };
    const rss: Record<Method, number> = { verified: 0, plain: 0 };
    for (let i = 0; i < ROUNDS; i++) {
      // alternating order: neither method always runs on the cache the other warmed
      for (const m of i % 2 === 0 ? (['verified', 'plain'] as const) : (['plain', 'verified'] as const)) {
        const r = await runMethod(m, port, file, hash, i);
        times[m].push(r.seconds);
        rss[m] = Math.max(rss[m], r.rss);
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
    await stopS3rver(child);
    await tmp.cleanup();
  }
}

if (isMain(import.meta.url)) printResult(await runS3());
