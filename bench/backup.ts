/**
 * Benchmark of the verified copy (src/backup) against baselines measured in the same run:
 *   (a) copyVerified of a 1 GiB file          vs (b) `cp src dst && sync`
 *                                              and (c) AlphaKraken's `md5sum src; cp; sync; md5sum dst`
 *   (d) copyVerified of a Bruker-like folder  vs `cp -r src dst && sync`
 * Every method runs twice, in alternating order, and its minimum counts. The page cache cannot be
 * dropped reliably, so every method reads a warm source; that favours the baselines least of all
 * (they read less). Run: `npx tsx bench/backup.ts`. The last line is a JSON object.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { copyVerified } from '../src/backup/copy.ts';
import { removeTree } from '../src/backup/fsutil.ts';
import { makeBrukerLike, makeTmp, writeDataFile } from '../src/backup/testing.ts';
import { isMain, printResult, printTable } from './lib.ts';

const run$ = promisify(execFile);
/** Rounds (alternating order); the minimum per method counts. */
const ROUNDS = Math.max(1, Number(process.env.SLUICE_BENCH_ROUNDS ?? 2));
const GiB = 1024 * 1024 * 1024;
const sh = (cmd: string) => run$('sh', ['-c', cmd], { maxBuffer: 1 << 20 });
const q = (p: string) => `'${p.replaceAll("'", "'\\''")}'`;

export async function run(): Promise<Record<string, number>> {
  const tmp = await makeTmp('sluice-bench-backup-');
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  try {
    const file = join(tmp.dir, 'src', 'run.raw');
    const folder = join(tmp.dir, 'src', 'run.d');
    const out = join(tmp.dir, 'out');
    await writeDataFile(file, GiB);
    await makeBrukerLike(folder, { bigBytes: GiB, smallFiles: 50 });
    await mkdir(out);
    await sh('sync');

    const methods: Record<string, (dst: string) => Promise<unknown>> = {
      'copyVerified file': (dst) => copyVerified({ source: { kind: 'file', path: file }, dest: dst }),
      'cp && sync': (dst) => sh(`cp ${q(file)} ${q(dst)} && sync`),
      'alphakraken md5sum;cp;sync;md5sum': (dst) =>
        sh(`md5sum ${q(file)} >/dev/null && cp ${q(file)} ${q(dst)} && sync && md5sum ${q(dst)} >/dev/null`),
      'copyVerified folder': (dst) => copyVerified({ source: { kind: 'folder', path: folder }, dest: dst }),
      'cp -r folder && sync': (dst) => sh(`cp -r ${q(folder)} ${q(dst)} && sync`),
    };
    const names = Object.keys(methods);
    const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    const cpu: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    const load0 = loadavg()[0]!;
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of round % 2 === 0 ? names : [...names].reverse()) {
        const dst = join(out, 'dst');
        await removeTree(dst);
        await sh('sync'); // the removal's writeback is not part of the next measurement
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await methods[name]!(dst);
        times[name]!.push((performance.now() - t0) / 1000);
        const c = process.cpuUsage(c0);
        cpu[name]!.push((c.user + c.system) / 1e6);
      }
    }
    const best = (n: string) => Math.min(...times[n]!);
    const fileBytes = GiB;
    const folderBytes = GiB + 64 * 1024 + 50 * 260 * 1024; // roughly; for the MB/s column only
    printTable(
      names.map((n) => ({
        method: n,
        ...Object.fromEntries(times[n]!.map((t, i) => [`run ${i + 1} s`, t])),
        'min s': best(n),
        'MB/s': Math.round((n.includes('folder') ? folderBytes : fileBytes) / 1e6 / best(n)),
        // CPU of this process (threads included); shell baselines run in child processes.
        'own cpu s': n.startsWith('copyVerified') ? Math.min(...cpu[n]!) : '-',
      })),
    );
    console.log(
      `load average (1 min) before: ${load0.toFixed(2)}, after: ${loadavg()[0]!.toFixed(2)} on ${cpus().length} CPUs`,
    );
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const result = {
      seconds: best('copyVerified file'),
      ratio_vs_cp_sync: best('copyVerified file') / best('cp && sync'),
      ratio_vs_alphakraken: best('copyVerified file') / best('alphakraken md5sum;cp;sync;md5sum'),
      folder_ratio_vs_cp_sync: best('copyVerified folder') / best('cp -r folder && sync'),
      rss_mb: Math.round(peakRss / 1024 / 1024),
    };
    return result;
  } finally {
    clearInterval(sampler);
    await tmp.cleanup();
  }
}

if (isMain(import.meta.url)) {
  const result = await run();
  printResult(result);
}
