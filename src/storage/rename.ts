/**
 * Renames that never replace anything: `commitFile` (link, then unlink; check-then-rename where the
 * filesystem has no hard links), `commitDir` (rename(2) replaces only an empty folder), and
 * `renameNoReplace` for either. An existing destination is `DestinationExists`, never overwritten.
 * Used by the backup's commit (backup/temp.ts), the move after backup and the remover (cleanup/).
 *
 * Crash points: killed inside `commitFile` between `link` and `unlink`, the file has both names (the
 * same inode); the caller's next attempt sees the destination and the leftover temp.
 */
import { link, lstat, rename, unlink } from '../core/text-fs.ts';
import { errnoCode, exists } from './fsutil.ts';

export class DestinationExists extends Error {
  constructor(readonly dest: string) {
    super(`${dest} appeared while the copy was running`);
  }
}

/**
 * Give the verified temp file its final name without ever replacing an existing file: `link` fails
 * with EEXIST where `rename` would silently overwrite. Filesystems without hard links (some SMB/FUSE
 * mounts) fall back to check-then-rename.
 */
export async function commitFile(temp: string, dest: string): Promise<void> {
  try {
    await link(temp, dest);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST') throw new DestinationExists(dest);
    if (
      code !== 'EPERM' &&
      code !== 'ENOTSUP' &&
      code !== 'EOPNOTSUPP' &&
      code !== 'EMLINK' &&
      code !== 'ENOSYS'
    ) {
      throw err;
    }
    if (await exists(dest)) throw new DestinationExists(dest);
    await rename(temp, dest);
    return;
  }
  await unlink(temp);
}

/**
 * Rename a verified temp directory to its final name. rename(2) replaces only an EMPTY directory (no
 * data can be lost that way) and fails with ENOTEMPTY/EEXIST on a non-empty one or ENOTDIR on a file.
 */
export async function commitDir(temp: string, dest: string): Promise<void> {
  if (await exists(dest)) throw new DestinationExists(dest);
  try {
    await rename(temp, dest);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
      throw new DestinationExists(dest);
    }
    throw err;
  }
}

/** Rename a file or folder to `to`, never replacing anything there (`DestinationExists`). */
export async function renameNoReplace(from: string, to: string): Promise<void> {
  if ((await lstat(from)).isDirectory()) await commitDir(from, to);
  else await commitFile(from, to);
}
