/**
 * Where a filesystem target of `backup.targets` keeps a file's copy, and the target as a
 * `TargetPlace` for the mount/marker check (backup/target.ts). Pure.
 */
import path from 'node:path';
import type { Config } from '../../core/config/index.ts';
import type { FsTargetConfig } from '../../core/config/schema/backup-targets.ts';
import { pathToText } from '../../core/names.ts';
import { layoutPath } from '../../storage/raw-data.ts';
import type { TargetPlace } from '../target.ts';

/** The target for the mount/marker check: its own path, `require_mount` and copies. */
export function fsTargetPlace(t: FsTargetConfig): TargetPlace {
  return {
    name: t.name,
    root: path.resolve(t.path),
    requireMount: t.require_mount,
    setting: `backup.targets (${t.name}).require_mount`,
  };
}

/** `<target path>/<backup.layout>` for the file: the same layout as the primary backup. */
export function fsTargetLocation(
  config: Pick<Config, 'backup'>,
  t: Pick<FsTargetConfig, 'path'>,
  file: { id: string; instrument_id: string; project_id: string; mtime: Date },
): string {
  return path.join(pathToText(path.resolve(t.path)), layoutPath(config.backup.layout, file));
}
