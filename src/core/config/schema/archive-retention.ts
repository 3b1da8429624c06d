/**
 * Config schema: `archive.backup_retention` (issue #20 item 6) — the primary backup copy
 * (`backup.path`) of a file is released (its bytes removed from the backup area) `after_days` after
 * every archive target in `require` holds it in a verified archive (src/archive/retention.ts). Off
 * while `require` is empty (the default). The target names are checked against `archive.targets` in
 * archive.ts.
 */
import { z } from 'zod';
import { bool, int, num, section, strList } from './building-blocks.ts';

export const backupRetentionSchema = section(
  z.strictObject({
    /** Archive targets that must each hold the file in a verified archive; empty: retention is off. */
    require: strList('an archive target name').default([]),
    /** Days between the (last) required archive's verification and the release of the backup. */
    after_days: num({ gte: 0, lte: 36_500 }, 'days').default(30),
    /** How often the retention pass runs. */
    interval_minutes: int(1, 10_080).default(60),
    /** Backups one pass releases at most (the next pass goes on). */
    max_files_per_run: int(1, 1_000_000).default(10_000),
    /** Pause without removing the setting. */
    enabled: bool().default(true),
  }),
);

export type BackupRetentionConfig = z.output<typeof backupRetentionSchema>;

/** Is retention on for this config? */
export function retentionOn(r: BackupRetentionConfig): boolean {
  return r.enabled && r.require.length > 0;
}
