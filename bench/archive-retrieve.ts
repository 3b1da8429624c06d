/**
 * Benchmark `archive-retrieve` (issue #20, the retrieval side of `archive`): one archive of mixed
 * sets (large files and a `.d` folder of many small files; `SLUICE_BENCH_MB`, default 2048 MiB) in
 * the packer's layout, retrieved the way the `archive.retrieve` task does it (extractVerified: one
 * pass that writes, fsyncs and hashes every member against its recorded sha256) against GNU
 * `tar -xf` of the same tar + `sha256sum` of the members, alternated over `SLUICE_BENCH_ROUNDS`
 * rounds (default 3), medians compared: `retrieve_ratio_vs_tar_extract` (goal ≤ 1.3), `rss_mb`.
 * The tar is read from the page cache by both (it was just written); the baseline does not fsync.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type ExpectedMember, extractVerified } from '../src/archive/retrieve-extract.ts';
import { isMain, percentile, printResult, printTable } from './lib.ts';

const MB = 1024 * 1024;

async function makeSets(src: string, totalMb: number): Promise<Map<string, ExpectedMember>> {
  const expected = new Map<string, ExpectedMember>();
  const add = async (rel: string, data: Buffer) => {
    await mkdir(path.dirname(path.join(src, rel)), { recursive: true });
    await writeFile(path.join(src, rel), data);
    expected.set(rel, {
      name: rel,
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
    });
  };
  const smallMb = Math.max(1, Math.round(totalMb * 0.1));
  const bigMb = totalMb - smallMb;
  // written 4 MiB at a time, so the generator holds no large buffer (rss_mb is the retrieval's)
  const chunk = Buffer.alloc(4 * MB);
  for (let i = 0; i + 4 <= chunk.length; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i);
  let left = bigMb;
  for (let n = 0; left > 0; n++) {
    const mb = Math.min(left, 256);
    const rel = `data/astral1/run${n}.raw/run${n}.raw`;
    await mkdir(path.dirname(path.join(src, rel)), { recursive: true });
    const fh = await open(path.join(src, rel), 'w');
    const hash = createHash('sha256');
    const chunks = Math.ceil(mb / 4);
    for (let k = 0; k < chunks; k++) {
      chunk.writeUInt32LE(n * 100_000 + k, 0);
      hash.update(chunk);
      await fh.write(chunk);
    }
    await fh.close();
    expected.set(rel, { name: rel, size: chunks * chunk.length, sha256: hash.digest('hex') });
    left -= mb;
  }
  const small = Buffer.alloc(64 * 1024);
  for (let i = 0; i < (smallMb * MB) / small.length; i++) {
    small.writeUInt32LE(i, 0);
    await add(`data/tims1/sample.d/sample.d/frames/f${String(i).padStart(5, '0')}.bin`, Buffer.from(small));
  }
  return expected;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function listFiles(dir: string): Promise<string[]> {
  return ((await readdir(dir, { recursive: true, withFileTypes: true })) as import('node:fs').Dirent[])
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name));
}

export async function run(): Promise<Record<string, number>> {
  const totalMb = Number(process.env.SLUICE_BENCH_MB ?? process.env.SLUICE_BENCH_ARCHIVE_MB ?? 2048);
  const rounds = Number(process.env.SLUICE_BENCH_ROUNDS ?? 3);
  const dir = await mkdtemp(path.join(process.env.SLUICE_BENCH_DIR ?? os.tmpdir(), 'sluice-bench-retrieve-'));
  try {
    const src = path.join(dir, 'src');
    const expected = await makeSets(src, totalMb);
    const tar = path.join(dir, 'a.tar');
    execFileSync('tar', ['--format=pax', '-cf', tar, '-C', src, 'data']);
    await rm(src, { recursive: true, force: true });
    execFileSync('cat', [tar], { stdio: ['ignore', 'ignore', 'inherit'] }); // warm the page cache for both
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const ours: number[] = [];
    const base: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const outB = path.join(dir, `b${r}`);
      base.push(
        await timed(async () => {
          await mkdir(outB);
          execFileSync('tar', ['-xf', tar, '-C', outB]);
          const files = await listFiles(outB);
          for (let i = 0; i < files.length; i += 500)
            execFileSync('sha256sum', files.slice(i, i + 500), {
              stdio: ['ignore', 'ignore', 'inherit'],
              maxBuffer: 64 * MB,
            });
        }),
      );
      await rm(outB, { recursive: true, force: true });
      const outA = path.join(dir, `a${r}`);
      ours.push(
        await timed(
          async () =>
            void (await extractVerified(createReadStream(tar, { highWaterMark: MB }), outA, expected)),
        ),
      );
      await rm(outA, { recursive: true, force: true });
    }
    clearInterval(sampler);
    const oursMs = percentile(ours, 50);
    const baseMs = percentile(base, 50);
    printTable([
      {
        method: 'sluice retrieve (extract + fsync + verify)',
        median_ms: Math.round(oursMs),
        rounds: ours.map(Math.round).join(' '),
      },
      {
        method: 'tar -xf + sha256sum',
        median_ms: Math.round(baseMs),
        rounds: base.map(Math.round).join(' '),
      },
    ]);
    return {
      mb: totalMb,
      members: expected.size,
      rounds,
      load_avg_1m: Number(os.loadavg()[0]!.toFixed(2)),
      retrieve_ms: Math.round(oursMs),
      tar_extract_sha256_ms: Math.round(baseMs),
      retrieve_ratio_vs_tar_extract: Number((oursMs / baseMs).toFixed(2)),
      retrieve_mb_per_s: Number((totalMb / (oursMs / 1000)).toFixed(1)),
      rss_mb: Math.round(peak / MB),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The retrieval figures bench `archive` adds to its own (issue #20 names them there). */
export async function retrieveFigures(): Promise<Record<string, number>> {
  const r = await run();
  return {
    retrieve_ratio_vs_tar_extract: r.retrieve_ratio_vs_tar_extract!,
    retrieve_seconds: r.retrieve_ms! / 1000,
    tar_extract_sha256_seconds: r.tar_extract_sha256_ms! / 1000,
    retrieve_rss_mb: r.rss_mb!,
  };
}

if (isMain(import.meta.url)) {
  printResult(await run());
}
