/**
 * Benchmark: scanFolder on a watch folder with 100,000 small Thermo files, against
 * `find <dir> -maxdepth 1 -printf '%s %T@\n'` (one directory read plus one stat per entry, in C)
 * measured in the same run.
 *
 * Prints a table; the figures (printed as JSON on the last line by bench/run.ts, or by this file when
 * run directly):
 *   { "scan_ms_100k": median, "baseline_find_ms": median, "ratio_vs_find": scan / find, ... }
 *
 * Run: `npm run bench -- intake-scan` or `npx tsx bench/intake-scan.ts`. BENCH_SCAN_FILES changes the
 * entry count (figures are then for that count; the keys keep their names). The scan uses the native
 * stat helper when it is built (`npm run build:native`); SLUICE_NATIVE=0 forces the pure-Node path
 * for an A/B comparison (`native` in the figures: 1 or 0).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { nativeStatStatus } from '../src/intake/native-stat.mjs';
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

export async function run(
  count = Number(process.env.BENCH_SCAN_FILES ?? 100_000),
): Promise<Record<string, number>> {
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
    let scanCpu = 0;
    let findCpu = 0;
    for (let i = 0; i < RUNS; i++) {
      const c0 = childCpuMs();
      findMs.push(await timeIt(find));
      findCpu += childCpuMs() - c0;
      const u0 = process.cpuUsage(); // all threads of this process, workers included
      scanMs.push(await timeIt(scan));
      const u = process.cpuUsage(u0);
      scanCpu += (u.user + u.system) / 1000;
    }
    const result = {
      scan_ms_100k: round(median(scanMs)),
      baseline_find_ms: round(median(findMs)),
      ratio_vs_find: round(median(scanMs) / median(findMs), 2),
      // CPU time (user + system) per run: steadier than wall time on a busy machine.
      scan_cpu_ms: round(scanCpu / RUNS),
      find_cpu_ms: round(findCpu / RUNS),
      cpu_ratio_vs_find: findCpu > 0 ? round(scanCpu / findCpu, 2) : -1,
      files: count,
      native: nativeStatStatus().loaded ? 1 : 0,
      cpus: os.availableParallelism(),
      load_avg_1m: round(os.loadavg()[0] ?? 0, 2),
      create_ms: round(createMs),
    };
    console.log(
      `intake scan of ${count} files (${RUNS} warm runs each, interleaved; wall medians, CPU means)`,
    );
    printTable([
      {
        what: 'scanFolder (thermo)',
        'wall ms': round(median(scanMs)),
        'cpu ms': round(scanCpu / RUNS),
        'wall runs': scanMs.map((x) => round(x)).join(' '),
      },
      {
        what: "find -maxdepth 1 -printf '%s %T@'",
        'wall ms': round(median(findMs)),
        'cpu ms': round(findCpu / RUNS),
        'wall runs': findMs.map((x) => round(x)).join(' '),
      },
      { what: 'ratio scan / find', 'wall ms': result.ratio_vs_find, 'cpu ms': result.cpu_ratio_vs_find },
    ]);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU time (ms) of this process's waited-for children, from /proc (Linux; 10 ms ticks). */
function childCpuMs(): number {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[13]) + Number(fields[14])) * (1000 / 100);
  } catch {
    return 0;
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
