/**
 * Retention of a strategy's backups, applied after each successful backup of that strategy (a
 * failing strategy therefore never deletes its older backups):
 *
 * - `keep_last: N`: only the N newest are kept;
 * - `max_age_days: D`: backups older than D days are deleted;
 * - both: a backup goes when either rule says so; neither: every backup is kept.
 *
 * The backup just written is never deleted, whatever the rules and clocks say. Only the strategy's
 * own files (`sluice-<strategy>-<timestamp>.sluicedump`) are ever listed, so nothing else in the
 * directory or bucket is touched. Ages come from the timestamp in the name (when the backup was made),
 * not from file times, which copies and syncs change.
 */
import type { DbBackupRetention } from '../../core/config/schema/db-backups.ts';
import type { BackupEntry } from './locations.ts';

const DAY_MS = 86_400_000;

/** The entries (newest first, as listed) that retention deletes. */
export function expiredBackups(
  entries: BackupEntry[],
  retention: DbBackupRetention,
  keep: string,
  now: Date,
): BackupEntry[] {
  const sorted = [...entries].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  return sorted.filter((e, i) => {
    if (e.name === keep) return false;
    if (retention.keep_last !== undefined && i >= retention.keep_last) return true;
    if (
      retention.max_age_days !== undefined &&
      now.getTime() - e.createdAt.getTime() > retention.max_age_days * DAY_MS
    )
      return true;
    return false;
  });
}
