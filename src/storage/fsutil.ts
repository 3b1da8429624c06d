/**
 * Small filesystem and error helpers shared across folders (backup, cleanup, ops): errno codes,
 * source/target error mapping, fsync of a directory, tree removal, existence checks.
 *
 * Error mapping: every fs error on the SOURCE side becomes `sourceError(...)`, every error on the
 * TARGET side `targetError(...)`, so callers never leak a bare `ENOENT` without saying which path and
 * what to do. Retryable faults are plain `SluiceError`s; faults a retry cannot fix (permissions, a
 * read-only target) are `PermanentError`s.
 *
 * Paths are text (core/names.ts); the file-system calls take their bytes (core/text-fs.ts).
 *
 * Crash points: nothing here keeps state. `removeTree` killed half-way leaves a partly removed temp,
 * which the next attempt's leftover sweep (backup/temp.ts) removes; `fsyncDir` killed leaves the directory
 * as durable as the kernel had made it, and the caller has not reported success yet.
 */
import { constants as fsc } from 'node:fs';
import { join } from 'node:path';
import { PermanentError, SluiceError } from '../core/errors.ts';
import { chmod, lstat, open, readdirTypes, rm, type TextDirent } from '../core/text-fs.ts';

export function errnoCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

export function isMissing(err: unknown): boolean {
  const c = errnoCode(err);
  return c === 'ENOENT' || c === 'ENOTDIR';
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/**
 * A time for `utimes`/`futimes`, in seconds, that sets the same microsecond as `ns` (a `bigint` stat's
 * `atimeNs`/`mtimeNs`). Node passes seconds as a double and libuv keeps microseconds, truncating: a
 * `Date` keeps only milliseconds, and an exact millisecond such as .123 s (a double just below it)
 * landed on .122999 s, a different millisecond. Half a microsecond more truncates to the right one.
 * Nanoseconds below the microsecond are lost (libuv's limit). The small-file thread
 * (small-files.ts) computes the same in its own code.
 */
export function utimeSeconds(ns: bigint): number {
  return (Number(ns / 1000n) + 0.5) / 1e6;
}

/** Map an fs error raised while reading the source `path`. SluiceErrors pass through unchanged. */
export function sourceError(err: unknown, path: string): Error {
  if (err instanceof SluiceError) return err;
  const code = errnoCode(err);
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new SluiceError(
      'backup.source_missing',
      `source ${path} does not exist (it vanished or was moved)`,
      {
        hint: 'check that the instrument share is mounted; if the acquisition was deleted or moved on purpose, ignore the file. The copy is retried automatically.',
        cause: err,
      },
    );
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new PermanentError(
      'backup.source_unreadable',
      `cannot read source ${path}: permission denied`,
      `give the user running sluice read access to ${path}, then retry the file`,
      err,
    );
  }
  return new SluiceError('backup.read_failed', `reading source ${path} failed: ${code ?? String(err)}`, {
    hint: 'the copy is retried automatically; if it keeps failing, check the instrument share and its disk',
    cause: err,
  });
}

/** Map an fs error raised while writing below the target directory `dir` (the copy of `path`). */
export function targetError(err: unknown, path: string, ctx: { dir: string; bytesNeeded: number }): Error {
  if (err instanceof SluiceError) return err;
  const code = errnoCode(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return targetFull(ctx.dir, ctx.bytesNeeded, undefined, err);
  }
  if (code === 'ENAMETOOLONG') {
    // Names Sluice derives are kept within 255 bytes (core/names.ts fitName); a layout can still add
    // to the id within one path part. Retrying cannot help.
    return new PermanentError(
      'backup.name_too_long',
      `cannot write ${path} on the backup target: a name in the path is longer than the target allows (255 bytes on most filesystems)`,
      'make backup.layout put {file_id} in a path part of its own (the default does), then `sluice files retry` the file',
      err,
    );
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new PermanentError(
      'backup.target_unwritable',
      `cannot write ${path} on the backup target ${ctx.dir}: ${code}`,
      `make ${ctx.dir} writable for the user running sluice (or fix the mount), then retry the file`,
      err,
    );
  }
  return new SluiceError(
    'backup.write_failed',
    `writing ${path} on the backup target failed: ${code ?? String(err)}`,
    {
      hint: `the copy is retried automatically; if it keeps failing, check the target storage ${ctx.dir}`,
      cause: err,
    },
  );
}

export function targetFull(
  dir: string,
  bytesNeeded: number,
  available?: number,
  cause?: unknown,
): SluiceError {
  const avail = available === undefined ? '' : `, ${formatBytes(available)} available`;
  return new SluiceError(
    'backup.target_full',
    `backup target ${dir} is full: the copy needs ${bytesNeeded} bytes (${formatBytes(bytesNeeded)})${avail}`,
    {
      hint: `free space on ${dir} or point this backup location at a bigger volume; the copy is retried automatically`,
      cause,
    },
  );
}

export function abortedError(what: string, reason?: unknown): SluiceError {
  return new SluiceError('backup.aborted', `${what} was aborted; any partial copy was removed`, {
    hint: 'nothing to do: the copy runs again when the task is retried',
    cause: reason,
  });
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortedError(what, signal.reason);
}

/** fsync a directory so that entries created, renamed or removed in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * `rm -rf` that also works when the tree holds read-only directories (a copied Bruker `.d` may have
 * them): first make every directory owner-writable, then remove. A missing path is not an error.
 */
export async function removeTree(path: string): Promise<void> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  if (st.isDirectory()) await makeDirsWritable(path, st.mode);
  await rm(path, { recursive: true, force: true, maxRetries: 3 });
}

async function makeDirsWritable(dir: string, mode: number): Promise<void> {
  if ((mode & 0o700) !== 0o700) await chmod(dir, (mode & 0o7777) | 0o700).catch(() => {});
  let names: TextDirent[];
  try {
    names = await readdirTypes(dir);
  } catch {
    return; // rm reports what is really wrong
  }
  for (const d of names) {
    if (!d.isDirectory()) continue;
    const p = join(dir, d.name);
    const st = await lstat(p).catch(() => undefined);
    if (st) await makeDirsWritable(p, st.mode);
  }
}

/** True when something (file, dir, symlink, even a dangling one) exists at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}
