/**
 * Facts about the filesystem under a folder (a watch folder, a backup target): is it mounted, how
 * much space is free.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { offlineError } from './offline.ts';

/** True when `dir` is the root of a mounted filesystem (its device differs from its parent's). */
export async function isMountPoint(dir: string): Promise<boolean> {
  const abs = path.resolve(dir);
  try {
    const [self, parent] = await Promise.all([fsp.stat(abs), fsp.stat(path.dirname(abs))]);
    return self.dev !== parent.dev || self.ino === parent.ino; // '/' is its own parent
  } catch (err) {
    throw offlineError(abs, err as NodeJS.ErrnoException, err);
  }
}

/** Free and total bytes on the filesystem holding `dir` (free = available to unprivileged users). */
export async function freeSpace(dir: string): Promise<{ freeBytes: number; totalBytes: number }> {
  try {
    const s = await fsp.statfs(path.resolve(dir));
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch (err) {
    throw offlineError(path.resolve(dir), err as NodeJS.ErrnoException, err);
  }
}
