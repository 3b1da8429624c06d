/**
 * The acquired fingerprint: what the scan saw when it declared an acquisition finished, kept on the
 * record (`files.acquired_fingerprint`). A record stands for exactly those bytes: the backup copies
 * its source only while the source still matches it (backup-task.ts), and an earlier record is a
 * same-content twin only if its backup matches it (backup/duplicate.ts).
 *
 * What it holds: total size, newest mtime (as the scan saw it: for a folder also its subfolders),
 * and every member file with its size and mtime (a folder's files with `/`-separated paths, a file
 * set's main file and companions, a single file's own name). Names, sizes and mtimes only: content
 * is not hashed at acquisition (that would read every file twice), so data replaced with the same
 * size and the same mtime (`cp -p` of other bytes of equal length) cannot be told apart — by this
 * check or by the scan.
 *
 * Records acquired before migration 0012, and records an operator declared acquired without the
 * scan ever doing so, have none: `recordFingerprint` falls back to the record's size and mtime
 * (members unknown).
 *
 * Pure functions; nothing here touches the filesystem or the database.
 */
import { join } from 'node:path';

export interface Member {
  /** Path relative to the raw data's root, `/`-separated (manifest `rel`); a single file's own name. */
  rel: string;
  size: number;
  mtimeMs: number;
}

export interface AcquiredFingerprint {
  /** Total bytes. */
  size: number;
  /** Newest mtime (ms, whole) the scan saw. */
  mtimeMs: number;
  /** Every file, sorted by `rel`; absent when unknown (records from before the fingerprint). */
  members?: Member[];
}

type Kind = 'file' | 'folder' | 'files';

function byRel(a: Member, b: Member): number {
  return a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0;
}

/** The fingerprint of what a scan saw (mtimes cut to whole milliseconds, as the database keeps them). */
export function fingerprint(size: number, mtimeMs: number, members: Member[]): AcquiredFingerprint {
  return {
    size,
    mtimeMs: Math.floor(mtimeMs),
    members: members.map((m) => ({ rel: m.rel, size: m.size, mtimeMs: Math.floor(m.mtimeMs) })).sort(byRel),
  };
}

/** The record's fingerprint: the one taken at acquisition, else its size and mtime (members unknown). */
export function recordFingerprint(file: {
  acquired_fingerprint?: AcquiredFingerprint | null;
  size_bytes: string | number;
  mtime: Date;
}): AcquiredFingerprint {
  return file.acquired_fingerprint ?? { size: Number(file.size_bytes), mtimeMs: file.mtime.getTime() };
}

/**
 * How `files` (a listing of the source or the manifest of a copy: every regular file with its size
 * and mtime) differs from what was acquired; one line per difference, empty when it is the same.
 * `root` names the paths in the lines. Without members (an old record): the total size, and the
 * mtime — equal for a single file or a set, not newer for a folder (whose recorded mtime may be a
 * subfolder's).
 */
export function fingerprintDiffers(
  kind: Kind,
  acquired: AcquiredFingerprint,
  files: readonly Member[],
  root: string,
): string[] {
  const problems: string[] = [];
  const total = files.reduce((s, f) => s + f.size, 0);
  const newest = files.reduce((m, f) => Math.max(m, Math.floor(f.mtimeMs)), 0);
  const at = (rel: string) => (kind === 'file' ? root : join(root, ...rel.split('/')));
  if (!acquired.members) {
    if (total !== acquired.size) {
      problems.push(`${root}: ${total} bytes, ${acquired.size} were acquired`);
    }
    const mtimeOk = kind === 'folder' ? newest <= acquired.mtimeMs : newest === acquired.mtimeMs;
    if (!mtimeOk) {
      problems.push(
        `${root}: modified ${new Date(newest).toISOString()}, acquired as of ${new Date(acquired.mtimeMs).toISOString()}`,
      );
    }
    return problems;
  }
  // a single file is compared whatever its name (the record's name is the file's)
  const key = (rel: string) => (kind === 'file' ? '' : rel);
  const now = new Map(files.map((f) => [key(f.rel), f]));
  for (const m of acquired.members) {
    const f = now.get(key(m.rel));
    now.delete(key(m.rel));
    if (!f) problems.push(`${at(m.rel)}: gone`);
    else if (f.size !== m.size) problems.push(`${at(m.rel)}: ${f.size} bytes, ${m.size} were acquired`);
    else if (Math.floor(f.mtimeMs) !== m.mtimeMs) {
      problems.push(
        `${at(m.rel)}: modified ${new Date(Math.floor(f.mtimeMs)).toISOString()}, acquired as of ${new Date(m.mtimeMs).toISOString()}`,
      );
    }
  }
  for (const f of now.values()) problems.push(`${at(f.rel)}: not there when it was acquired`);
  return problems;
}
