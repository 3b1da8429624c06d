/**
 * What a piece of raw data consists of, and its per-file record (manifest).
 *
 * Raw data comes in three shapes (`SourceSpec`):
 * - `file`: one file (Thermo `.raw`). Its one entry's `rel` is the file's base name.
 * - `folder`: a directory tree (Bruker `.d`). Entries are the regular files below it, `rel` using `/`.
 *   Symbolic links are never followed: one is a PermanentError `backup.symlink` naming it, as is any
 *   other special file (fifo, socket, device).
 * - `files`: a main file with companions in one directory (Sciex `x.wiff` + `x.wiff2`, `x.wiff.scan`),
 *   given as plain names; `rel` is the name.
 * Entries are sorted by `rel` (code-unit order, locale independent) so manifests compare stably.
 *
 * Crash points: listing only reads; a kill leaves nothing behind.
 */
import { basename, join } from 'node:path';
import { PermanentError } from '../core/errors.ts';
import { lstat, readdir } from '../core/text-fs.ts';
import { isMissing, sourceError } from '../storage/fsutil.ts';
import type { Manifest, ManifestEntry, SourceSpec } from '../storage/raw-data.ts';

// The shapes live on the ground floor (storage/raw-data.ts), beside where raw data is stored.
export type { Manifest, ManifestEntry, SourceKind, SourceSpec } from '../storage/raw-data.ts';

/** A path in a walked tree that is neither a regular file nor a directory. */
export interface OddEntry {
  rel: string;
  what: string;
}

/** The path shown to people for a source (the file, the folder, or the main file of a `files` set). */
export function sourceLabel(spec: SourceSpec): string {
  if (spec.kind === 'files') return join(spec.dir, spec.names[0] ?? '');
  return spec.path;
}

/** The path `verifyCopy` takes for a source: the file, the folder, or the directory of a file set. */
export function sourceRoot(spec: SourceSpec): string {
  return spec.kind === 'files' ? spec.dir : spec.path;
}

/** Absolute path of entry `rel` of the source. */
export function sourcePath(spec: SourceSpec, rel: string): string {
  if (spec.kind === 'file') return spec.path;
  if (spec.kind === 'files') return join(spec.dir, rel);
  return join(spec.path, ...rel.split('/'));
}

export function byRel(a: { rel: string }, b: { rel: string }): number {
  return a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0;
}

export function makeManifest(algorithm: string, entries: ManifestEntry[]): Manifest {
  const sorted = [...entries].sort(byRel);
  return { algorithm, entries: sorted, totalBytes: sorted.reduce((s, e) => s + e.size, 0) };
}

function describe(st: import('node:fs').Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a fifo';
  if (st.isSocket()) return 'a socket';
  if (st.isBlockDevice() || st.isCharacterDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Walk a directory tree without following links. Raw fs errors are thrown; entries that vanish
 * between `readdir` and `lstat` are skipped (the caller's before/after comparison notices them).
 */
export async function walkFolder(
  root: string,
): Promise<{ files: ManifestEntry[]; dirs: string[]; odd: OddEntry[] }> {
  const files: ManifestEntry[] = [];
  const dirs: string[] = [];
  const odd: OddEntry[] = [];
  const visit = async (relDir: string): Promise<void> => {
    const abs = relDir === '' ? root : join(root, ...relDir.split('/'));
    const names = (
      await readdir(abs).catch((err: unknown) => {
        // which folder failed, in text form (Node's own `path` is decoded lossily)
        throw Object.assign(err as object, { textPath: abs });
      })
    ).sort();
    for (const name of names) {
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      let st: import('node:fs').Stats;
      try {
        st = await lstat(join(abs, name));
      } catch (err) {
        if (isMissing(err)) continue;
        throw err;
      }
      if (st.isDirectory()) {
        dirs.push(rel);
        await visit(rel);
      } else if (st.isFile()) {
        files.push({ rel, size: st.size, mtimeMs: st.mtimeMs, hash: '' });
      } else {
        odd.push({ rel, what: describe(st) });
      }
    }
  };
  await visit('');
  files.sort(byRel);
  return { files, dirs, odd };
}

function checkNames(spec: { dir: string; names: string[] }): void {
  const seen = new Set<string>();
  if (spec.names.length === 0) {
    throw new PermanentError('backup.bad_source', `no file names given for the companion set in ${spec.dir}`);
  }
  for (const n of spec.names) {
    if (n === '' || n === '.' || n === '..' || n.includes('/') || n.includes('\0') || seen.has(n)) {
      throw new PermanentError(
        'backup.bad_source',
        `bad companion file name "${n}" in ${spec.dir}`,
        'companions are plain, distinct file names inside one directory',
      );
    }
    seen.add(n);
  }
}

async function statRegular(path: string): Promise<import('node:fs').Stats> {
  let st: import('node:fs').Stats;
  try {
    st = await lstat(path);
  } catch (err) {
    throw sourceError(err, path);
  }
  if (st.isSymbolicLink()) {
    throw new PermanentError(
      'backup.symlink',
      `source ${path} is a symbolic link; sluice does not follow links`,
      'point the instrument at the real file, or replace the link with the file itself',
    );
  }
  if (!st.isFile()) {
    throw new PermanentError(
      'backup.bad_source',
      `source ${path} is ${st.isDirectory() ? 'a directory' : describe(st)}, expected a regular file`,
      'check the instrument type: folder acquisitions (Bruker .d) need kind "folder"',
    );
  }
  return st;
}

/**
 * List the files of a source with sizes and mtimes (hashes left empty), sorted by `rel`.
 * Throws `backup.source_missing` (retryable) when the source is gone, PermanentError `backup.symlink`
 * for a link and `backup.bad_source` for a wrong shape.
 */
export async function listSource(spec: SourceSpec): Promise<ManifestEntry[]> {
  return (await listSourceTree(spec)).files;
}

/** `listSource` plus the sub-directories of a folder (`rel`, parents before children). */
export async function listSourceTree(spec: SourceSpec): Promise<{ files: ManifestEntry[]; dirs: string[] }> {
  if (spec.kind === 'file') {
    const st = await statRegular(spec.path);
    return { files: [{ rel: basename(spec.path), size: st.size, mtimeMs: st.mtimeMs, hash: '' }], dirs: [] };
  }
  if (spec.kind === 'files') {
    checkNames(spec);
    const out: ManifestEntry[] = [];
    for (const rel of spec.names) {
      const st = await statRegular(join(spec.dir, rel));
      out.push({ rel, size: st.size, mtimeMs: st.mtimeMs, hash: '' });
    }
    return { files: out.sort(byRel), dirs: [] };
  }
  let rootSt: import('node:fs').Stats;
  try {
    rootSt = await lstat(spec.path);
  } catch (err) {
    throw sourceError(err, spec.path);
  }
  if (!rootSt.isDirectory()) {
    throw new PermanentError(
      rootSt.isSymbolicLink() ? 'backup.symlink' : 'backup.bad_source',
      `source ${spec.path} is ${rootSt.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}, expected a folder`,
      'check the instrument type: single-file acquisitions (Thermo .raw) need kind "file"',
    );
  }
  let walked: Awaited<ReturnType<typeof walkFolder>>;
  try {
    walked = await walkFolder(spec.path);
  } catch (err) {
    throw sourceError(err, spec.path);
  }
  const first = walked.odd[0];
  if (first) {
    const p = join(spec.path, ...first.rel.split('/'));
    throw new PermanentError(
      first.what === 'a symbolic link' ? 'backup.symlink' : 'backup.bad_source',
      `source folder ${spec.path} contains ${first.what} at ${p}; sluice copies regular files and folders only`,
      'replace the link or special file with a regular file (or remove it), then retry the file',
    );
  }
  return { files: walked.files, dirs: walked.dirs };
}
