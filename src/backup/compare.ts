/**
 * Comparing listings and manifests, and the `backup.source_changed` error.
 *
 * Crash points: pure functions; nothing to leave behind.
 */
import { join } from 'node:path';
import { SluiceError } from '../core/errors.ts';
import { sameHash } from './hash.ts';
import type { ManifestEntry, SourceKind } from './manifest.ts';

/**
 * Compare an `actual` listing or manifest against `expected`; returns one line per difference.
 * For kind `file` the single entries are compared regardless of their names (a copy may be renamed).
 * Hashes are compared only where both sides have one.
 */
export function compareEntries(
  kind: SourceKind,
  expected: ManifestEntry[],
  actual: ManifestEntry[],
  opts: { root: string; algorithm?: string; extras?: boolean },
): string[] {
  const problems: string[] = [];
  const name = (rel: string) => (kind === 'file' ? opts.root : join(opts.root, ...rel.split('/')));
  const have = new Map(actual.map((e) => [kind === 'file' ? '' : e.rel, e]));
  for (const e of expected) {
    const key = kind === 'file' ? '' : e.rel;
    const a = have.get(key);
    have.delete(key);
    if (!a) {
      problems.push(`${name(e.rel)}: missing`);
    } else if (a.size !== e.size) {
      problems.push(`${name(e.rel)}: size differs (expected ${e.size} bytes, found ${a.size})`);
    } else if (e.hash && a.hash && !sameHash(e.hash, a.hash)) {
      const alg = opts.algorithm ?? 'hash';
      problems.push(`${name(e.rel)}: ${alg} differs (expected ${e.hash}, found ${a.hash})`);
    }
  }
  if (opts.extras !== false) {
    for (const a of have.values()) problems.push(`${name(a.rel)}: unexpected extra file`);
  }
  return problems;
}

/** Source changed between two listings (sizes, mtimes, files added or removed). */
export function changedBetween(
  kind: SourceKind,
  before: ManifestEntry[],
  after: ManifestEntry[],
  root: string,
) {
  const problems = compareEntries(kind, before, after, { root });
  const now = new Map(after.map((e) => [e.rel, e]));
  for (const b of before) {
    const a = kind === 'file' ? after[0] : now.get(b.rel);
    if (a && a.size === b.size && a.mtimeMs !== b.mtimeMs) {
      problems.push(`${kind === 'file' ? root : join(root, b.rel)}: modified (mtime changed)`);
    }
  }
  return problems;
}

export function sourceChanged(label: string, problems: string[], why: string): SluiceError {
  const shown =
    problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
  return new SluiceError('backup.source_changed', `source ${label} changed ${why}: ${shown}`, {
    hint: 'the acquisition may still be running; the copy is retried automatically once the source is stable',
  });
}
