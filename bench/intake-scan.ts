/**
 * Benchmark: scanFolder on a watch folder with 100,000 small Thermo files, against
 * `find <dir> -maxdepth 1 -printf '%s %T@\n'` (one directory read plus one stat per entry, in C)
 * measured in the same run.
 *
 * Prints a table; the figures (printed as JSON on the last line by bench/run.ts, or by this file when
 * run directly):
 *   { "scan_ms_100k": median, "baseline_find_ms": median, "ratio_vs_find": scan / find, ... }
 *
 * Run: `npm run bench -- intake-scan` or `npx tsx bench/intake-scan.ts` (env BENCH_FILES: file count).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { scanFolder } from '../src/intake/scan.ts';
import { isMain, printResult, printTable } from './lib.ts';

const execFileP = promisify(execFile);
const RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/**
 * Create `count` tiny files. Synchronous writes: on a small machine they beat promise-based writes
 * by ~3x (each async write is open + write + close round trips through libuv's 4 threads).
 */
function populate(dir: string, count: number): void {
  for (let i = 1; i <= count; i++) {
    writeFileSync(path.join(dir, `run_${String(i).padStart(5, '0')}.raw`), 'x'.repeat(i % 64));
  }
  // A few entries that are not raw data, as in a real instrument folder.
  writeFileSync(path.join(dir, 'sequence.csv'), 'a,b\n');
  mkdirSync(path.join(dir, 'Backup'));
}

export async function run(): Promise<Record<string, number>> {
  const count = Number(process.env.BENCH_FILES ?? 100_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-scan-'));
  try {
    const tCreate = performance.now();
    populate(dir, count);
    const createMs = performance.now() - tCreate;
    await execFileP('sync'); // let writeback of the new files finish before measuring

    const find = () => execFileP('sh', ['-c', `find "${dir}" -maxdepth 1 -printf '%s %T@\\n' > /dev/null`]);
    const scan = async () => {
      const r = await scanFolder(dir, 'thermo');
      if (r.candidates.length !== count)
        throw new Error(`scan found ${r.candidates.length} of ${count} files`);
    };
    // Warm-up (page cache, dentry cache, JIT), then interleave so background load hits both alike.
    await find();
    await scan();
    const scanMs: number[] = [];
    const findMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      findMs.push(await timeIt(find));
      scanMs.push(await timeIt(scan));
    }
    const result = {
      scan_ms_100k: round(median(scanMs) * (100_000 / count)),
      baseline_find_ms: round(median(findMs) * (100_000 / count)),
      ratio_vs_find: round(median(scanMs) / median(findMs), 2),
      files: count,
      cpus: os.availableParallelism(),
      create_ms: round(createMs),
    };
    console.log(`intake scan of ${count} files (${RUNS} warm runs each, interleaved; medians)`);
    printTable([
      {
        what: 'scanFolder (thermo)',
        'median ms': round(median(scanMs)),
        runs: scanMs.map((x) => round(x)).join(' '),
      },
      {
        what: "find -maxdepth 1 -printf '%s %T@'",
        'median ms': round(median(findMs)),
        runs: findMs.map((x) => round(x)).join(' '),
      },
      { what: 'ratio scan / find', 'median ms': result.ratio_vs_find, runs: '' },
    ]);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (isMain(import.meta.url)) {
  run().then(printResult, (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
