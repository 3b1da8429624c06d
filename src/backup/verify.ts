/**
 * Check a stored copy (or the instrument original) against a recorded manifest. The remover calls this
 * before deleting anything, so it is conservative: every difference is a problem, and so is a file it
 * cannot read or an entry without a recorded hash.
 *
 * - kind `file`: `path` is the file; its name may differ from the recorded `rel`.
 * - kind `folder`: `path` is the folder; files not in the manifest, links and special files are
 *   problems ("unexpected extra file"). Empty directories are not compared.
 * - kind `files`: `path` is the directory holding the companions; only the recorded names are checked
 *   (an instrument folder holds other acquisitions too, so other files are not problems).
 *
 * Members are listed by their bytes (names in text form, core/names.ts, compared exactly), so a name
 * that is not UTF-8 is a member like any other: missing in the copy, or extra, it is a problem. A
 * folder or member that cannot be listed or stat'ed is a problem too, never skipped. The member list
 * and the total byte count must both equal the record's.
 * Sizes are compared first; only when all sizes match are the files hashed (one read pass each).
 * The hashes are of what the filesystem returns now; a copy just written may still be served from the
 * page cache — unless `fromStorage` asks for reads that bypass it (O_DIRECT, storage-read.ts), as the
 * remover and the fixity audits do.
 *
 * Crash points: only reads; a kill leaves nothing behind. Throws only for a bad algorithm
 * (`backup.bad_hash`) or an abort (`backup.aborted`); everything else is reported as a problem.
 */
import { basename, join } from 'node:path';
import { SluiceError } from '../core/errors.ts';
import { lstat } from '../core/text-fs.ts';
import { errnoCode, isMissing } from '../storage/fsutil.ts';
import { compareEntries } from './compare.ts';
import { checkAlgorithm, hashFile, sameHash } from './hash.ts';
import { type Manifest, type ManifestEntry, type SourceKind, walkFolder } from './manifest.ts';
import { hashFromStorage, type ReadMode, type StorageReadOptions, Throttle } from './storage-read.ts';

/**
 * `read` (with `fromStorage`): how the files were hashed — `direct` when every file was read with
 * O_DIRECT, `cached` when any went through the page cache (see storage-read.ts).
 */
export type VerifyResult =
  | { ok: true; read?: ReadMode; fallback?: string }
  | { ok: false; problems: string[]; read?: ReadMode; fallback?: string };

export interface VerifyOptions {
  /** Compare hashes too (default true). With false only presence and sizes are checked. */
  hashes?: boolean;
  signal?: AbortSignal;
  /** Called after each chunk with the bytes hashed so far over all files. */
  onBytes?: (bytesDone: number) => void;
  /**
   * Hash from storage (O_DIRECT, storage-read.ts), not from the page cache, at most `bytesPerSecond`
   * on average; the result's `read` says what was done.
   */
  fromStorage?: Pick<StorageReadOptions, 'bytesPerSecond' | 'openDirect'>;
}

function entryPath(path: string, kind: SourceKind, rel: string): string {
  return kind === 'file' ? path : join(path, ...rel.split('/'));
}

function what(st: import('node:fs').Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return st.isFile() ? 'a regular file' : 'a special file';
}

async function listActual(
  path: string,
  kind: SourceKind,
  manifest: Manifest,
  problems: string[],
): Promise<ManifestEntry[] | undefined> {
  const actual: ManifestEntry[] = [];
  let root: import('node:fs').Stats;
  try {
    root = await lstat(path);
  } catch (err) {
    problems.push(isMissing(err) ? `${path}: missing` : `${path}: cannot stat (${errnoCode(err) ?? err})`);
    return undefined;
  }
  const wantDir = kind !== 'file';
  if (wantDir ? !root.isDirectory() : !root.isFile()) {
    problems.push(`${path}: is ${what(root)}, expected ${wantDir ? 'a directory' : 'a regular file'}`);
    return undefined;
  }
  if (kind === 'file') {
    actual.push({ rel: basename(path), size: root.size, mtimeMs: root.mtimeMs, hash: '' });
  } else if (kind === 'folder') {
    try {
      const walked = await walkFolder(path);
      actual.push(...walked.files);
      for (const o of walked.odd)
        problems.push(`${entryPath(path, kind, o.rel)}: is ${o.what}, not a regular file`);
    } catch (err) {
      const where = (err as { textPath?: string } | null)?.textPath ?? path;
      problems.push(`${where}: cannot list (${errnoCode(err) ?? err})`);
      return undefined;
    }
  } else {
    for (const e of manifest.entries) {
      const p = entryPath(path, kind, e.rel);
      try {
        const st = await lstat(p);
        if (st.isFile()) actual.push({ rel: e.rel, size: st.size, mtimeMs: st.mtimeMs, hash: '' });
        else problems.push(`${p}: is ${what(st)}, expected a regular file`);
      } catch (err) {
        if (!isMissing(err)) problems.push(`${p}: cannot stat (${errnoCode(err) ?? err})`);
      }
    }
  }
  return actual;
}

export async function verifyCopy(
  path: string,
  kind: SourceKind,
  manifest: Manifest,
  opts: VerifyOptions = {},
): Promise<VerifyResult> {
  const algorithm = checkAlgorithm(manifest.algorithm);
  const problems: string[] = [];
  const actual = await listActual(path, kind, manifest, problems);
  if (actual === undefined) return { ok: false, problems }; // the root itself is missing or wrong
  const seen = new Set(problems.map((p) => p.split(': ')[0]));
  for (const p of compareEntries(kind, manifest.entries, actual, { root: path, extras: kind === 'folder' })) {
    // A link or special file at an expected name was reported already; do not also call it missing.
    if (!seen.has(p.split(': ')[0])) problems.push(p);
  }
  const bytes = actual.reduce((sum, e) => sum + e.size, 0);
  if (problems.length === 0 && typeof manifest.totalBytes === 'number' && bytes !== manifest.totalBytes) {
    problems.push(`${path}: holds ${bytes} bytes, the record says ${manifest.totalBytes}`);
  }
  if (problems.length > 0) return { ok: false, problems };
  if (opts.hashes === false) return { ok: true };

  let done = 0;
  const storage = opts.fromStorage;
  const throttle = new Throttle(storage?.bytesPerSecond);
  let read: ReadMode | undefined = storage ? 'direct' : undefined;
  let fallback: string | undefined;
  for (const e of manifest.entries) {
    const p = entryPath(path, kind, e.rel);
    if (!e.hash) {
      problems.push(`${p}: no recorded ${algorithm} to compare with`);
      continue;
    }
    try {
      const before = done;
      const hashOpts = { algorithm, signal: opts.signal, onBytes: (n: number) => opts.onBytes?.(before + n) };
      const got: { hash: string; size: number; read?: ReadMode; fallback?: string } = storage
        ? await hashFromStorage(p, { ...hashOpts, ...storage }, throttle)
        : await hashFile(p, hashOpts);
      if (got.read === 'cached') {
        read = 'cached';
        fallback ??= got.fallback;
      }
      done += got.size;
      if (got.size !== e.size)
        problems.push(`${p}: size differs (expected ${e.size} bytes, found ${got.size})`);
      else if (!sameHash(got.hash, e.hash)) {
        problems.push(`${p}: ${algorithm} differs (expected ${e.hash}, found ${got.hash})`);
      }
    } catch (err) {
      if (err instanceof SluiceError) throw err; // aborted
      problems.push(isMissing(err) ? `${p}: missing` : `${p}: read error (${errnoCode(err) ?? err})`);
    }
  }
  const how = read ? { read, ...(fallback ? { fallback } : {}) } : {};
  return problems.length > 0 ? { ok: false, problems, ...how } : { ok: true, ...how };
}
