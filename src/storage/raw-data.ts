/**
 * Raw data as it is stored, for every stage that reads or writes it: its shape as a copy source
 * (`SourceSpec`), its per-file record (`Manifest`), where it is on the instrument (`sourceSpec`) and
 * where its backup is (`backupLocation`). On the ground floor (imports only src/core/) so that
 * intake, backup, processing, cleanup and the file records use one definition without importing
 * each other. The listing and hashing of a source are in src/backup/manifest.ts.
 */
import path from 'node:path';
import type { Config } from '../core/config/index.ts';
import { pathToText } from '../core/names.ts';

export interface ManifestEntry {
  /** Path relative to the source root, `/`-separated; for kind `file` the file's base name. */
  rel: string;
  size: number;
  mtimeMs: number;
  /** Hex digest; empty until hashed. */
  hash: string;
}

export interface Manifest {
  algorithm: string;
  entries: ManifestEntry[];
  totalBytes: number;
}

/** The three shapes of raw data (see src/backup/manifest.ts). */
export type SourceSpec =
  | { kind: 'file'; path: string }
  | { kind: 'folder'; path: string }
  | { kind: 'files'; dir: string; names: string[] };

export type SourceKind = SourceSpec['kind'];

/**
 * Where the backup of `file` lives: `backup.path` + the layout with its placeholders filled.
 *
 * Only facts of the raw data itself go into the path — instrument, project (from its name), id (its
 * name, see intake/file-id.ts) and the date of its last modification (UTC) — never when a database
 * first recorded it. Two instances with separate databases (a fallback and the main one, or the main
 * one after a database restore) therefore compute the same path for the same acquisition, and the
 * second finds the first's copy and associates it after verifying its hashes.
 */
export function backupLocation(
  config: Config,
  file: { id: string; instrument_id: string; project_id: string; mtime: Date },
): string {
  const rel = layoutPath(config.backup.layout, file);
  const root = pathToText(config.backup.path ?? path.join(config.data_dir, 'backup')); // core/names.ts
  return path.join(root, rel);
}

/** `backup.layout` filled in for `file` (a relative path, `/`-separated; also the S3 key's middle). */
export function layoutPath(
  layout: string,
  file: { id: string; instrument_id: string; project_id: string; mtime: Date },
): string {
  const d = file.mtime;
  const pad = (n: number) => String(n).padStart(2, '0');
  const values: Record<string, string> = {
    instrument: file.instrument_id,
    yyyy: String(d.getUTCFullYear()),
    mm: pad(d.getUTCMonth() + 1),
    dd: pad(d.getUTCDate()),
    file_id: file.id,
    project: file.project_id,
  };
  return layout.replace(/\{([a-z_]+)\}/g, (_, k: string) => values[k] ?? '');
}

/** The raw data of a file as a copy source, at its current place on the instrument. */
export function sourceSpec(file: {
  kind: SourceKind;
  name: string;
  companions: string[];
  source_path: string;
  current_path: string | null;
}): SourceSpec {
  const p = file.current_path ?? file.source_path;
  if (file.kind === 'file') return { kind: 'file', path: p };
  if (file.kind === 'folder') return { kind: 'folder', path: p };
  return { kind: 'files', dir: path.dirname(p), names: [path.basename(p), ...file.companions] };
}
