/**
 * Benchmark of the archive write side (src/archive/) against a baseline measured in the same run:
 *   (a) packArchive (pax tar via tar-stream, every member hashed against its recorded sha256) written
 *       to the filesystem target (writeFsArchive: .partial, fsync, rename) and read back verified
 *       (verifyArchive: every member re-hashed at its recorded offset, the tar parsed)
 *   vs (b) GNU `tar -cf` of the same sets + `sync` + `sha256sum` of the tar.
 * The sets (SLUICE_BENCH_ARCHIVE_MB, default 2048): large `.raw`-like files and a Bruker-like `.d`
 * with many small files. Rounds (SLUICE_BENCH_ROUNDS, default 3) alternate the order; medians count.
 * `rss_mb` is this process's peak resident memory while archiving. `s3_archive_mb_per_s`: the same
 * archive written to s3rver (in a child process) with a multipart upload and read back verified.
 * This measures the packing, writing and verification path without the task engine and database
 * (the archive's rows are a few statements per archive). The last line is a JSON object.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { writeFsArchive } from '../src/archive/fs-target.ts';
import { type PackSource, packArchive } from '../src/archive/pack.ts';
import { readS3Archive, writeS3Archive } from '../src/archive/s3-target.ts';
import { verifyArchive } from '../src/archive/verify.ts';
import { makeBrukerLike, makeTmp, writeDataFile } from '../src/backup/testing.ts';
import {
  archiveSchema,
  type FsArchiveTarget,
  type S3ArchiveTarget,
} from '../src/core/config/schema/archive.ts';
import { silentLogger } from '../src/core/log.ts';
import { retrieveFigures } from './archive-retrieve.ts';
import { isMain, printResult, printTable, startS3rver, stopS3rver } from './lib.ts';

const run$ = promisify(execFile);
const MiB = 1024 * 1024;
const TOTAL_MB = Math.max(64, Number(process.env.SLUICE_BENCH_ARCHIVE_MB ?? 2048));
const ROUNDS = Math.max(1, Number(process.env.SLUICE_BENCH_ROUNDS ?? 3));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: MiB })) h.update(c as Buffer);
  return h.digest('hex');
}

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(relative(root, join(e.parentPath, e.name)));
  }
  return out.sort();
}

/** The sets, with their recorded hashes (as a verified backup copy holds them). */
async function makeSets(dir: string): Promise<PackSource[]> {
  const sets: PackSource[] = [];
  const smallMb = Math.min(256, Math.floor(TOTAL_MB / 8));
  const bigCount = 3;
  const bigBytes = Math.floor(((TOTAL_MB - smallMb) * MiB) / bigCount);
  for (let i = 0; i < bigCount; i++) await writeDataFile(join(dir, 'sets', `run${i}.raw`), bigBytes);
  await makeBrukerLike(join(dir, 'sets', 'run.d'), {
    bigBytes: smallMb * MiB - 600 * 256 * 1024,
    smallFiles: 600,
  });
  const entry = async (path: string, rel: string) => {
    const st = await stat(path);
    return { rel, size: st.size, mtimeMs: st.mtimeMs, hash: await sha256(path) };
  };
  for (let i = 0; i < bigCount; i++) {
    const p = join(dir, 'sets', `run${i}.raw`);
    const e = await entry(p, `run${i}.raw`);
    sets.push({
      fileId: `run${i}.raw`,
      instrumentId: 'astral1',
      kind: 'file',
      location: p,
      manifest: { algorithm: 'sha256', entries: [e], totalBytes: e.size },
    });
  }
  const d = join(dir, 'sets', 'run.d');
  const entries = [];
  for (const rel of await listFiles(d)) entries.push(await entry(join(d, rel), rel));
  sets.push({
    fileId: 'run.d',
    instrumentId: 'tims1',
    kind: 'folder',
    location: d,
    manifest: { algorithm: 'sha256', entries, totalBytes: entries.reduce((s, e) => s + e.size, 0) },
  });
  return sets;
}

async function ours(t: FsArchiveTarget, sets: PackSource[], round: number): Promise<number> {
  const started = performance.now();
  const key = `r${round}.tar`;
  const r = await writeFsArchive(t, key, (sink) => packArchive(sets, sink));
  const v = await verifyArchive(createReadStream(join(t.path, key), { highWaterMark: MiB }), {
    members: r.members,
    sizeBytes: r.bytes,
    manifestSha256: r.manifestSha256,
  });
  if (!v.ok) throw new Error(`archive did not verify: ${v.problems.slice(0, 3).join('; ')}`);
  const s = (performance.now() - started) / 1000;
  await rm(join(t.path, key));
  return s;
}

async function baseline(dir: string, round: number): Promise<number> {
  const out = join(dir, 'base', `r${round}.tar`);
  const started = performance.now();
  await run$('sh', [
    '-c',
    `tar -cf "${out}" -C "${join(dir, 'sets')}" . && sync && sha256sum "${out}" >/dev/null`,
  ]);
  const s = (performance.now() - started) / 1000;
  await rm(out);
  return s;
}

/** One archive of the sets to s3rver and read back verified: MB of content per second. */
async function s3Round(dir: string, sets: PackSource[]): Promise<number> {
  await mkdir(join(dir, 's3'), { recursive: true });
  const { child, port } = await startS3rver(join(dir, 's3'));
  try {
    const t = archiveSchema.parse({
      targets: [
        {
          name: 'bench',
          type: 's3',
          endpoint: `http://127.0.0.1:${port}`,
          bucket: 'bench',
          force_path_style: true,
          access_key_id: 'S3RVER',
          secret_access_key: 'S3RVER',
          storage_class: 'STANDARD',
        },
      ],
    }).targets[0] as S3ArchiveTarget;
    const payload: { uploads?: { bucket: string; key: string; uploadId: string }[] } = {};
    const ctx = {
      payload,
      signal: new AbortController().signal,
      log: silentLogger,
      progress() {},
      async remember(p: typeof payload) {
        Object.assign(payload, p);
      },
    } as unknown as Parameters<typeof writeS3Archive>[0];
    const started = performance.now();
    const r = await writeS3Archive(ctx, t, 'bench.tar', (sink) => packArchive(sets, sink));
    const v = await verifyArchive(readS3Archive(t, 'bench.tar'), {
      members: r.members,
      sizeBytes: r.bytes,
      manifestSha256: r.manifestSha256,
    });
    if (!v.ok) throw new Error(`s3 archive did not verify: ${v.problems.slice(0, 3).join('; ')}`);
    const s = (performance.now() - started) / 1000;
    return r.bytes / MiB / s;
  } finally {
    await stopS3rver(child);
  }
}

export async function run(): Promise<Record<string, number>> {
  const tmp = await makeTmp('sluice-bench-archive-');
  try {
    const sets = await makeSets(tmp.dir);
    await mkdir(join(tmp.dir, 'lts'));
    await mkdir(join(tmp.dir, 'base'));
    const t = archiveSchema.parse({
      targets: [{ name: 'lts', type: 'filesystem', path: join(tmp.dir, 'lts'), min_free_share: 0 }],
    }).targets[0] as FsArchiveTarget;
    let rss = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      rss = Math.max(rss, process.memoryUsage().rss);
    }, 50);
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      if (i % 2 === 0) {
        a.push(await ours(t, sets, i));
        b.push(await baseline(tmp.dir, i));
      } else {
        b.push(await baseline(tmp.dir, i));
        a.push(await ours(t, sets, i));
      }
    }
    clearInterval(sampler);
    const s3 = process.env.SLUICE_BENCH_ARCHIVE_S3 === '0' ? 0 : await s3Round(tmp.dir, sets);
    const mb = sets.reduce((s, x) => s + x.manifest.totalBytes, 0) / MiB;
    printTable([
      {
        method: 'archive (pack + fsync + read back verified)',
        seconds: median(a).toFixed(2),
        rounds: a.map((x) => x.toFixed(2)).join(' '),
      },
      {
        method: 'tar -cf + sync + sha256sum',
        seconds: median(b).toFixed(2),
        rounds: b.map((x) => x.toFixed(2)).join(' '),
      },
    ]);
    return {
      archive_mb: Math.round(mb),
      archive_seconds: Number(median(a).toFixed(3)),
      tar_sha256_seconds: Number(median(b).toFixed(3)),
      archive_ratio_vs_tar_sha256: Number((median(a) / median(b)).toFixed(3)),
      rss_mb: Math.round(rss / MiB),
      s3_archive_mb_per_s: Number(s3.toFixed(1)),
      load_1m: Number(loadavg()[0]!.toFixed(2)),
      ...(await retrieveFigures()), // h31: the retrieval side (bench/archive-retrieve.ts)
    };
  } finally {
    await tmp.cleanup();
  }
}

if (isMain(import.meta.url)) printResult(await run());
