/**
 * Checks before a copy writes anything: the destination is not the source, its parent exists (made
 * durable when created), and there is room for the copy.
 *
 * Crash points: `ensureParent` killed half-way leaves some new empty parent directories, which the
 * next attempt reuses; the other checks only read.
 */
import { dirname, resolve, sep } from 'node:path';
import { PermanentError } from '../core/errors.ts';
import { lstat, mkdir, statfs } from '../core/text-fs.ts';
import { fsyncDir, targetFull } from '../storage/fsutil.ts';
import type { SourceSpec } from './manifest.ts';

/** mkdir -p the parent of dest, making new directory entries durable. */
export async function ensureParent(parent: string): Promise<void> {
  const first = await mkdir(parent, { recursive: true });
  if (first === undefined) return;
  // Each new directory's entry lives in its parent: fsync parent, ..., dirname(first).
  for (let d = parent; ; d = dirname(d)) {
    await fsyncDir(dirname(d));
    if (d === first || dirname(d) === d) break;
  }
}

/**
 * Refuse a destination that is the source itself (same inode: same path, a hard link, a bind mount)
 * or lies inside a source folder: such a "backup" would let the remover delete the only copy.
 */
export async function checkNotSource(spec: SourceSpec, dest: string): Promise<void> {
  const root = resolve(spec.kind === 'files' ? spec.dir : spec.path);
  const inside = spec.kind === 'folder' && (dest + sep).startsWith(root + sep);
  let same = false;
  if (!inside) {
    const [a, b] = await Promise.all([
      lstat(dest).catch(() => undefined),
      lstat(root).catch(() => undefined),
    ]);
    same = !!a && !!b && a.dev === b.dev && a.ino === b.ino;
  }
  if (inside || same) {
    throw new PermanentError(
      'backup.bad_target',
      `the backup destination ${dest} is ${inside ? 'inside' : 'the same as'} the source ${root}`,
      'point the backup location at different storage than the instrument folder',
    );
  }
}

export async function checkFreeSpace(dir: string, bytes: number, files: number): Promise<void> {
  const needed = bytes + files * 4096;
  const st = await statfs(dir).catch(() => undefined); // not every filesystem answers
  if (st && st.bavail * st.bsize < needed) throw targetFull(dir, needed, st.bavail * st.bsize);
}
