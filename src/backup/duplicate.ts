/**
 * The same raw data seen again under a new record. A finished file whose modification time alone
 * changed (opened and saved without changes, touched, copied back without its times) looks like a
 * new acquisition to the scan, which compares sizes and modification times only and cannot read
 * every file on every pass; so it gets a collision record. Before copying such a record, the backup
 * task asks `earlierTwin`: the latest earlier record of the same name on the same instrument with a
 * verified backup of the same total size that holds what that record acquired (its acquired
 * fingerprint: names, sizes, mtimes; files/fingerprint.ts). When every file of the source has the
 * size and hash that backup recorded, the new record is not backed up again: its content is already
 * safe there.
 *
 * Cost: one extra read of the source, and only for a record with such a predecessor (a name that
 * came back with the same total size). Content that differs is copied as usual.
 *
 * Crash points: only reads; a kill leaves nothing behind.
 */
import type { Queryable } from '../core/db/db.ts';
import { earlierBackedUpNamesakes } from '../files/copies.ts';
import { fingerprintDiffers, recordFingerprint } from '../files/fingerprint.ts';
import type { FileRow } from '../files/repo.ts';
import { type Manifest, type SourceSpec, sourceRoot } from './manifest.ts';
import { verifyCopy } from './verify.ts';

export interface Twin {
  /** The earlier record whose verified backup holds the same content. */
  id: string;
  /** Where that backup is. */
  location: string;
}

export async function earlierTwin(
  q: Queryable,
  file: Pick<FileRow, 'id' | 'instrument_id' | 'name' | 'kind' | 'size_bytes' | 'created_at'>,
  source: SourceSpec,
  signal?: AbortSignal,
): Promise<Twin | undefined> {
  const rows = await earlierBackedUpNamesakes(q, file);
  // An earlier record is a twin only through a backup of what it acquired: a backup that does not
  // match its acquired fingerprint (made by a version that copied whatever was there) never is.
  const row = rows.find(
    (r) => fingerprintDiffers(file.kind, recordFingerprint(r), r.manifest.entries, r.location).length === 0,
  );
  if (!row) return undefined;
  // a file set is compared by the names recorded, so the names must be the same ones
  if (source.kind === 'files' && !sameNames(source.names, row.manifest)) return undefined;
  const same = await verifyCopy(sourceRoot(source), file.kind, row.manifest, { signal });
  return same.ok ? { id: row.id, location: row.location } : undefined;
}

function sameNames(names: string[], manifest: Manifest): boolean {
  const recorded = new Set(manifest.entries.map((e) => e.rel));
  return names.length === recorded.size && names.every((n) => recorded.has(n));
}
