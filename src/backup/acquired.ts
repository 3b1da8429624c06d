/**
 * A record's backup copies what the record acquired, or nothing (issue #16: a record never claims
 * bytes it did not acquire). The backup task checks the source against the acquired fingerprint
 * (files/fingerprint.ts) three times: a listing before anything else (before the same-content check
 * and before any byte is written), the listing `copyVerified` starts from, and the manifest of the
 * verified temp before it gets its final name. Any difference is `backup.source_replaced`: the data
 * was replaced or changed on the instrument after its acquisition was declared finished and before a
 * copy existed; the record ends `lost` (backup-task.ts) and whatever the name holds now is backed up
 * under its own record (the scan's collision record).
 *
 * One exception: a copy already at the destination whose files have exactly the acquired names,
 * sizes and mtimes (copies keep file mtimes). That is the copy an earlier attempt verified and
 * renamed into place before it was killed, before the database heard of it (copy.ts, step 7); it is
 * recorded (hashed from the copy) instead of declaring the data lost.
 *
 * Crash points: only reads (`adoptableCopy` hashes the copy); a kill leaves nothing behind.
 */
import { basename } from 'node:path';
import { SluiceError } from '../core/errors.ts';
import { type AcquiredFingerprint, fingerprintDiffers, recordFingerprint } from '../files/fingerprint.ts';
import type { FileRow } from '../files/repo.ts';
import { exists } from '../storage/fsutil.ts';
import { hashSource } from './existing.ts';
import { allocBuffers, releaseBuffers } from './hash.ts';
import { listSource, type Manifest, type ManifestEntry, type SourceSpec, sourceLabel } from './manifest.ts';

export const SOURCE_REPLACED = 'backup.source_replaced';

/**
 * What the record stands for: the fingerprint taken at acquisition; for a record acquired before
 * fingerprints were kept, its size and mtime; none for a record the scan never declared acquired
 * (an operator's retry declared it: what is there is what it stands for).
 */
export function acquiredOf(
  file: Pick<FileRow, 'acquired_fingerprint' | 'acquired_at' | 'size_bytes' | 'mtime'>,
): AcquiredFingerprint | undefined {
  if (!file.acquired_fingerprint && !file.acquired_at) return undefined;
  return recordFingerprint(file);
}

/** The fingerprint of a copy's manifest, for a record that had none (declared by an operator). */
export function fingerprintOfManifest(manifest: Manifest): AcquiredFingerprint {
  const members = manifest.entries.map((e) => ({ rel: e.rel, size: e.size, mtimeMs: Math.floor(e.mtimeMs) }));
  return {
    size: manifest.totalBytes,
    mtimeMs: members.reduce((m, e) => Math.max(m, e.mtimeMs), 0),
    members,
  };
}

export class SourceReplaced extends SluiceError {
  constructor(
    readonly label: string,
    readonly problems: string[],
  ) {
    const shown =
      problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    super(SOURCE_REPLACED, `${label} is not what was acquired: ${shown}`, {
      hint: 'the data was replaced or changed on the instrument before any copy was made; what is there now is backed up under its own record',
    });
    this.name = 'SourceReplaced';
  }
}

/** Throws `SourceReplaced` when `files` (a listing or a manifest) differ from `acquired`. */
export function checkAcquired(
  spec: SourceSpec,
  acquired: AcquiredFingerprint,
  files: readonly ManifestEntry[],
): void {
  const label = sourceLabel(spec);
  const root = spec.kind === 'files' ? spec.dir : spec.path;
  const problems = fingerprintDiffers(spec.kind, acquired, files, root);
  if (problems.length > 0) throw new SourceReplaced(label, problems);
}

/**
 * List the source and check it (before the same-content check and before copying). A file set with
 * some of its files gone is not what was acquired; with all of them gone (or a file or folder gone)
 * the source is missing (`backup.source_missing`, retried: an unmounted share looks the same).
 */
export async function listAcquired(spec: SourceSpec, acquired: AcquiredFingerprint): Promise<void> {
  if (spec.kind !== 'files') {
    checkAcquired(spec, acquired, await listSource(spec));
    return;
  }
  const present: ManifestEntry[] = [];
  for (const name of spec.names) {
    try {
      present.push(...(await listSource({ kind: 'files', dir: spec.dir, names: [name] })));
    } catch (err) {
      if (!(err instanceof SluiceError) || err.code !== 'backup.source_missing') throw err;
    }
  }
  checkAcquired(spec, acquired, present.length > 0 ? present : await listSource(spec));
}

/** The copy at `dest` as a source spec (its files have the source's names). */
export function copySpec(spec: SourceSpec, dest: string): SourceSpec {
  if (spec.kind === 'files') return { kind: 'files', dir: dest, names: spec.names };
  return { kind: spec.kind, path: dest };
}

/**
 * The manifest of the copy at `dest` when it holds exactly what was acquired (names, sizes, mtimes),
 * hashed from the copy; undefined when there is none or it differs.
 */
export async function adoptableCopy(
  spec: SourceSpec,
  dest: string,
  acquired: AcquiredFingerprint,
  algorithm: string,
  signal?: AbortSignal,
): Promise<Manifest | undefined> {
  if (!(await exists(dest))) return undefined;
  const copy = copySpec(spec, dest);
  let files: ManifestEntry[];
  try {
    files = await listSource(copy);
  } catch {
    return undefined; // not a copy of this shape
  }
  if (!acquired.members) return undefined; // sizes and mtimes of every member are the evidence
  // a single file's copy is named after the record's id, its member after the source's name
  const named = spec.kind === 'file' ? files.map((f) => ({ ...f, rel: basename(spec.path) })) : files;
  if (fingerprintDiffers(spec.kind, acquired, named, dest).length > 0) return undefined;
  const bufs = allocBuffers(files.reduce((m, e) => Math.max(m, e.size), 0));
  const manifest = await hashSource(copy, files, algorithm, signal, bufs);
  releaseBuffers(bufs); // every read of them settled
  return spec.kind === 'file'
    ? { ...manifest, entries: manifest.entries.map((e) => ({ ...e, rel: basename(spec.path) })) }
    : manifest;
}
