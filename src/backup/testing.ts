/**
 * Helpers for the backup tests and the benchmark: temp folders and quickly written test data.
 * Not used by production code.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { removeTree } from '../storage/fsutil.ts';

export async function makeTmp(
  prefix = 'sluice-backup-',
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => removeTree(dir) };
}

/** Write `bytes` of random-looking data fast: a random 1 MiB block repeated (each copy varied). */
export async function writeDataFile(path: string, bytes: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const block = randomBytes(1024 * 1024);
  const fh = await open(path, 'w');
  try {
    let pos = 0;
    let i = 0;
    while (pos < bytes) {
      const n = Math.min(block.length, bytes - pos);
      block.writeUInt32LE(i++, 0); // no two blocks alike
      await fh.write(block, 0, n, pos);
      pos += n;
    }
  } finally {
    await fh.close();
  }
}

/**
 * A Bruker-like `.d` folder: one big `analysis.tdf_bin`, `analysis.tdf`, a sub-folder of method
 * files, `smallFiles` files of 10–500 KiB, a read-only file and an empty directory.
 */
export async function makeBrukerLike(
  root: string,
  opts: { bigBytes: number; smallFiles: number },
): Promise<void> {
  await mkdir(join(root, 'method.m'), { recursive: true });
  await mkdir(join(root, 'empty'), { recursive: true });
  await writeDataFile(join(root, 'analysis.tdf_bin'), opts.bigBytes);
  await writeFile(join(root, 'analysis.tdf'), randomBytes(64 * 1024));
  for (let i = 0; i < opts.smallFiles; i++) {
    const size = (10 + ((i * 97) % 491)) * 1024;
    const sub = i % 3 === 0 ? 'method.m' : '';
    await writeFile(join(root, sub, `part-${String(i).padStart(3, '0')}.bin`), randomBytes(size));
  }
  await chmod(join(root, 'analysis.tdf'), 0o444);
}

/** Whether two file times (stat with `bigint: true`, in ns) fall in the same microsecond. */
export function sameMicrosecond(a: bigint, b: bigint): boolean {
  return a / 1000n === b / 1000n;
}
