/**
 * Is a folder the root of a mounted filesystem? Asked of watch folders (intake/disk.ts, which
 * turns a failure into `intake.offline`) and of the backup target (backup/target.ts).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

/**
 * True when `dir` is the root of a mounted filesystem (its device differs from its parent's).
 * Throws the filesystem's error when `dir` or its parent cannot be read.
 */
export async function isMountPoint(dir: string): Promise<boolean> {
  const abs = path.resolve(dir);
  const [self, parent] = await Promise.all([fsp.stat(abs), fsp.stat(path.dirname(abs))]);
  return self.dev !== parent.dev || self.ino === parent.ino; // '/' is its own parent
}
