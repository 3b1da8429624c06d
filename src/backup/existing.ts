/**
 * The destination already exists: never overwrite it. Either it holds the same content as the source
 * (a previous attempt finished but its success was not recorded, or someone copied it by hand) and
 * the copy is "associated" without writing anything, or it differs and a person has to decide
 * (PermanentError `backup.target_differs`; `sluice backup accept-overwrite` moves it aside and copies).
 *
 * Crash points: only reads; a kill leaves nothing behind and the next attempt repeats the check.
 */
import { PermanentError } from '../core/errors.ts';
import { sourceError } from '../storage/fsutil.ts';
import { changedBetween, compareEntries, sourceChanged } from './compare.ts';
import { type Buffers, hashFile } from './hash.ts';
import {
  listSource,
  type Manifest,
  type ManifestEntry,
  makeManifest,
  type SourceSpec,
  sourceLabel,
  sourcePath,
} from './manifest.ts';
import { verifyCopy } from './verify.ts';

export const OVERWRITE_HINT =
  'inspect both; `sluice backup accept-overwrite <file id>` copies again and keeps the old copy renamed';

export function targetDiffers(dest: string, label: string, problems: string[]): PermanentError {
  const shown =
    problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
  return new PermanentError(
    'backup.target_differs',
    `the existing backup at ${dest} differs from the source ${label}: ${shown}`,
    OVERWRITE_HINT,
  );
}

/** Hash every file of the source (one read pass each) and check it stayed the same meanwhile. */
export async function hashSource(
  spec: SourceSpec,
  before: ManifestEntry[],
  algorithm: string,
  signal: AbortSignal | undefined,
  bufs: Buffers,
): Promise<Manifest> {
  const entries: ManifestEntry[] = [];
  for (const e of before) {
    const p = sourcePath(spec, e.rel);
    const got = await hashFile(p, { algorithm, signal, bufs }).catch((err) => {
      throw sourceError(err, p);
    });
    entries.push({ ...e, hash: got.hash });
  }
  const label = sourceLabel(spec);
  const problems = changedBetween(spec.kind, before, await listSource(spec), label);
  if (problems.length > 0) throw sourceChanged(label, problems, 'while it was being hashed');
  return makeManifest(algorithm, entries);
}

/**
 * Compare the existing `dest` with the source. Returns the source's manifest when they match; throws
 * `backup.target_differs` when they do not, `backup.source_changed` when the source differs from
 * `expected`.
 */
export async function checkExisting(opts: {
  spec: SourceSpec;
  dest: string;
  before: ManifestEntry[];
  algorithm: string;
  expected?: Manifest;
  signal?: AbortSignal;
  bufs: Buffers;
}): Promise<Manifest> {
  const { spec, dest, before, algorithm } = opts;
  const label = sourceLabel(spec);
  // Cheap first: names and sizes, before reading any content.
  const quick = await verifyCopy(dest, spec.kind, makeManifest(algorithm, before), { hashes: false });
  if (!quick.ok) throw targetDiffers(dest, label, quick.problems);
  const manifest = await hashSource(spec, before, algorithm, opts.signal, opts.bufs);
  if (opts.expected) {
    const root = spec.kind === 'files' ? spec.dir : spec.path;
    const p = compareEntries(spec.kind, opts.expected.entries, manifest.entries, { root, algorithm });
    if (p.length > 0) throw sourceChanged(label, p, 'since its checksums were recorded');
  }
  const full = await verifyCopy(dest, spec.kind, manifest, { signal: opts.signal });
  if (!full.ok) throw targetDiffers(dest, label, full.problems);
  return manifest;
}
