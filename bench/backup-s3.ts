/**
 * Benchmark of the verified S3 copy (src/backup/s3/) against a baseline measured in the same run:
 *   (a) uploadMember + readBackS3Copy of a 1 GiB file into s3rver — per-part MD5s, ETag compared,
 *       the whole-file sha256 checked against the recorded one, then every byte read back and hashed
 *   vs (b) a plain `@aws-sdk/lib-storage` Upload of the same file, same part size and parts in
 *       flight, with no hashing and no verification.
 * The file size is SLUICE_BENCH_S3_MB (default 1024); 16 MiB parts, 4 in flight. s3rver runs in a
 * child process (bench/s3rver-process.ts, writing to a temp dir) and each round of each method in a
 * fresh process of its own (bench/backup-s3-method.ts), so `s3_rss_mb` (the peak RSS of (a)'s
 * process) is Sluice's upload and read-back path with the AWS SDK alone — not the server's memory,
 * nor what the other method left behind; `s3_plain_upload_rss_mb` is the same for (b).
 *
 * Both methods are treated alike, so neither pays for the other's work: the data file is written and
 * flushed (`sync`) before anything is timed; one untimed warm-up run of each method (a 64 MiB file)
 * warms s3rver and the disk; before every timed run the disk is flushed (`sync`) and after it the
 * run's object is deleted (each run finds the same store). Why the flush: the data file's 1 GiB was
 * still dirty when the first run started (measured: 1.1–1.2 GiB), so round 0's verified run always
 * paid for its write-back; and s3rver writes each upload twice (the parts, then the object assembled
 * from them): what a run shorter than the kernel's 30 s dirty expiry leaves unwritten is written
 * back during the next run, the other method's. The MiB flushed before each run is printed. Before this, quiet runs gave
 * ratios from 1.11 to 1.33.
 * Rounds alternate the order (SLUICE_BENCH_S3_ROUNDS, default 3); the minimum per method counts, the
 * medians are printed too. Also printed per method: the client's CPU seconds (its hashing threads
 * included) and s3rver's (from /proc), the medians of the timed runs — CPU time is what competes on
 * a small machine, and it varies much less with the load than the seconds do. For a CPU profile of
 * every process (the methods' and s3rver's), set SLUICE_BENCH_S3_CPU_PROF to a directory.
 * Registered in bench/backup.ts (`npm run bench -- backup`); alone: `npx tsx bench/backup-s3.ts`.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeTmp, writeDataFile } from '../src/backup/testing.ts';
import { isMain, percentile, printResult, startS3rver, stopS3rver } from './lib.ts';

const MiB = 1024 * 1024;
const ROUNDS = Math.max(1, Number(process.env.SLUICE_BENCH_S3_ROUNDS ?? 3));
const SIZE = Math.max(1, Number(process.env.SLUICE_BENCH_S3_MB ?? 1024)) * MiB;
const WARM_UP = Math.min(SIZE, 64 * MiB);
const PROF = process.env.SLUICE_BENCH_S3_CPU_PROF;
/** Node's arguments for a CPU profile of each thread of a process, under PROF/`name`/. */
const profArgs = (name: string) => (PROF ? ['--cpu-prof', '--cpu-prof-dir', join(PROF, name)] : []);
const sync = () => promisify(execFile)('sync');

/** CPU seconds (user + system) a process has used so far, from /proc; 0 where there is none. */
function cpuOf(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}
const median = (xs: number[]) => percentile(xs, 50);

/** The page cache's dirty MiB (waiting to be written back), from /proc/meminfo; 0 where there is none. */
function dirtyMiB(): number {
  try {
    return Number(/^Dirty:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: MiB })) h.update(c as Buffer);
  return h.digest('hex');
}

type Method = 'verified' | 'plain';

interface RunResult {
  seconds: number;
  rss: number;
  /** The method's process's CPU seconds, its threads included. */
  cpu: number;
  /** Seconds until the upload completed (the rest: the read-back). */
  upload: number;
}

/** One run of one method in a fresh process (bench/backup-s3-method.ts), with key `key`. */
async function runMethod(
  m: Method,
  port: number,
  file: string,
  size: number,
  hash: string,
  key: string,
): Promise<RunResult> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'backup-s3-method.ts');
  const name = `${m}-${key.replaceAll('/', '-')}`;
  const child = spawn(
    process.execPath,
    [...profArgs(name), '--import', 'tsx', script, m, String(port), file, String(size), hash, key],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`backup-s3-method ${m} exited with ${code}: ${out}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as RunResult;
}

export async function runS3(): Promise<Record<string, number>> {
  const tmp = await makeTmp('sluice-bench-s3-');
  await mkdir(join(tmp.dir, 's3'));
  const { child, port } = await startS3rver(join(tmp.dir, 's3'), profArgs('s3rver'));
  try {
    const file = join(tmp.dir, 'raw.bin');
    const small = join(tmp.dir, 'warm-up.bin');
    await writeDataFile(file, SIZE);
    await writeDataFile(small, WARM_UP);
    const hash = await sha256Of(file);
    const smallHash = await sha256Of(small);
    /** One run, alike for both methods: the disk flushed before (the method deletes its object after). */
    const dirty: number[] = [];
    const timed = async (m: Method, f: string, size: number, h: string, key: string) => {
      dirty.push(dirtyMiB());
      await sync();
      const cpu0 = cpuOf(child.pid);
      const r = await runMethod(m, port, f, size, h, key);
      return { ...r, server: cpuOf(child.pid) - cpu0 };
    };
    await timed('verified', small, WARM_UP, smallHash, 'warm-up/v');
    await timed('plain', small, WARM_UP, smallHash, 'warm-up/p');
    const runs: Record<Method, (RunResult & { server: number })[]> = { verified: [], plain: [] };
    for (let i = 0; i < ROUNDS; i++) {
      // alternating order: neither method always runs first
      for (const m of i % 2 === 0 ? (['verified', 'plain'] as const) : (['plain', 'verified'] as const)) {
        runs[m].push(await timed(m, file, SIZE, hash, `${m[0]}/${i}`));
      }
    }
    const of = (m: Method, k: 'seconds' | 'cpu' | 'server' | 'upload') => runs[m].map((r) => r[k]);
    const best = (m: Method) => Math.min(...of(m, 'seconds'));
    const list = (xs: number[]) => xs.map((t) => t.toFixed(1)).join(', ');
    console.log(
      `s3: verified ${list(of('verified', 'seconds'))} s (upload ${list(of('verified', 'upload'))}); plain ${list(of('plain', 'seconds'))} s; ` +
        `median ratio ${(median(of('verified', 'seconds')) / median(of('plain', 'seconds'))).toFixed(2)}; ` +
        `CPU s (median) client ${median(of('verified', 'cpu')).toFixed(1)} vs ${median(of('plain', 'cpu')).toFixed(1)}, ` +
        `s3rver ${median(of('verified', 'server')).toFixed(1)} vs ${median(of('plain', 'server')).toFixed(1)}; ` +
        `dirty MiB flushed before each run ${dirty.map((d) => d.toFixed(0)).join(', ')}; ` +
        `load ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}`,
    );
    return {
      s3_seconds: best('verified'),
      s3_plain_upload_seconds: best('plain'),
      s3_ratio_vs_plain_upload: best('verified') / best('plain'),
      s3_rss_mb: Math.round(Math.max(...runs.verified.map((r) => r.rss)) / MiB),
      s3_plain_upload_rss_mb: Math.round(Math.max(...runs.plain.map((r) => r.rss)) / MiB),
    };
  } finally {
    await stopS3rver(child);
    await tmp.cleanup();
  }
}

if (isMain(import.meta.url)) printResult(await runS3());
