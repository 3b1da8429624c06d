/**
 * Retention of the backup area once sets are archived and verified (issue #20 item 6; task
 * `archive.backup_retention`, scheduled every `archive.backup_retention.interval_minutes`). A file's
 * primary backup copy (`backup.path`; copies on `backup.targets` are never released) becomes
 * `released` — removed from the backup area on purpose — `after_days` after every archive target in
 * `require` holds the file in a verified (`archived`) archive, provided also that:
 * - every other place `cleanup.require` names holds it verified now (backup targets: a verified copy;
 *   archive targets: a verified archive);
 * - no archive item of the file is still due or packing on any target (packing reads the backup);
 * - no processing job of the file is unfinished (the job reads the backup);
 * - the copy lies inside the backup root (`backup.path`).
 * The decision is pure (`releaseBlocker`); the facts are gathered inside ONE transaction that locks
 * the copy and the holding archives (`lockHoldingArchive`, FOR UPDATE): an archive condemned by
 * fixity or a retrieval in between is not found, and the release does not happen.
 *
 * Crash safety: the row becomes `released` (with a timeline line) in that transaction; the bytes are
 * removed after the commit and `removed_at` recorded. Killed before the commit: a verified copy with
 * its bytes. Killed after it: a released row whose bytes are going; each pass first finishes such
 * removals (`finishReleases`). A row is never `verified` without its bytes. A later verified copy at
 * the same location (a backup made again) is never removed.
 *
 * Readers: the files repo's `releasedBackup` tells readers of verified backups (processing, pack,
 * back-fill, the file page) that the backup was released rather than lost; `sluice retrieve` restores
 * a released file from its archive.
 */
import { existsSync } from 'node:fs';
import { lstat, rm } from 'node:fs/promises';
import path from 'node:path';
import { backupRoot, TARGET_MARKER } from '../backup/target.ts';
import type { Config } from '../core/config/index.ts';
import { type BackupRetentionConfig, retentionOn } from '../core/config/schema/archive-retention.ts';
import type { Db } from '../core/db/db.ts';
import { SluiceError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { addToTimeline } from '../files/lifecycle.ts';
import {
  lockVerifiedCopy,
  markCopyReleased,
  markReleaseRemoved,
  unfinishedReleases,
  verifiedBackupsOf,
  verifiedCopyAt,
} from '../files/releases.ts';
import { type CopyRow, verifiedCopy } from '../files/repo.ts';
import { listJobs } from '../process/jobs.ts';
import { errnoCode } from '../storage/fsutil.ts';
import { defineHandler, Kind, scheduleOf } from '../tasks/catalogue.ts';
import {
  filesArchivedBefore,
  type HoldingArchive,
  lockHoldingArchive,
  targetsStillArchiving,
} from './retention-repo.ts';

export const RETENTION_ACTOR = 'backup-retention';
const DAY_MS = 86_400_000;
/** Candidates read per page. */
const PAGE = 500;

/** What the release of one backup copy depends on, read inside the release transaction. */
export interface ReleaseFacts {
  /** Per archive target to check: the verified archive holding the file there now (undefined: none). */
  archives: Record<string, Pick<HoldingArchive, 'id' | 'verified_at'> | undefined>;
  /** Per other backup target `cleanup.require` names: does it hold a verified copy? */
  copies: Record<string, boolean>;
  /** Targets on which the file still has an archive item due or packing. */
  stillArchiving: string[];
  /** Unfinished processing jobs of the file. */
  activeJobs: number;
  /** Is the copy inside the backup root? */
  insideBackupRoot: boolean;
}

/** The rules the facts are held against: `retention.require`, `cleanup.require`, the cut-off time. */
export interface ReleaseRules {
  require: readonly string[];
  /** Archive targets `cleanup.require` names (a verified archive, of any age). */
  cleanupArchives: readonly string[];
  /** Backup targets besides `backup` that `cleanup.require` names. */
  cleanupCopies: readonly string[];
  /** Archives of `require` must have verified at or before this. */
  cutoff: Date;
}

/** Pure: why the copy may not be released now (undefined: it may). */
export function releaseBlocker(f: ReleaseFacts, r: ReleaseRules): string | undefined {
  for (const t of r.require) {
    const a = f.archives[t];
    if (!a) return `not in a verified archive on ${t}`;
    if (!a.verified_at || a.verified_at.getTime() > r.cutoff.getTime())
      return `archive ${a.id} on ${t} verified less than after_days ago`;
  }
  for (const t of r.cleanupArchives) {
    if (!f.archives[t]) return `not in a verified archive on ${t} (cleanup.require)`;
  }
  for (const t of r.cleanupCopies) {
    if (!f.copies[t]) return `no verified copy on backup target ${t} (cleanup.require)`;
  }
  if (f.stillArchiving.length > 0) return `still being archived on ${f.stillArchiving.join(', ')}`;
  if (f.activeJobs > 0) return 'a processing job of the file is unfinished';
  if (!f.insideBackupRoot) return 'the copy is not inside backup.path';
  return undefined;
}

/** The rules of `config` at `now`. */
export function releaseRules(config: Config, now: Date): ReleaseRules {
  const r = config.archive.backup_retention;
  const archiveNames = new Set(config.archive.targets.map((t) => t.name));
  const cleanup = config.cleanup.require.filter((t) => t !== 'backup');
  return {
    require: r.require,
    cleanupArchives: cleanup.filter((t) => archiveNames.has(t) && !r.require.includes(t)),
    cleanupCopies: cleanup.filter((t) => !archiveNames.has(t)),
    cutoff: new Date(now.getTime() - r.after_days * DAY_MS),
  };
}

function inside(root: string, location: string): boolean {
  const rel = path.relative(root, path.resolve(location));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

export type ReleaseOutcome =
  | { released: true; archives: HoldingArchive[] }
  | { released: false; why: string };

/**
 * Releases one verified backup copy if the facts allow it (see the module comment), in one
 * transaction; then removes its bytes. The copy row given may be stale: everything is read again.
 */
export async function releaseOne(
  db: Db,
  config: Config,
  copy: Pick<CopyRow, 'id' | 'file_id' | 'location'>,
  now: Date,
): Promise<ReleaseOutcome> {
  const rules = releaseRules(config, now);
  const root = backupRoot(config);
  const outcome = await db.tx(async (tx): Promise<ReleaseOutcome> => {
    const c = await lockVerifiedCopy(tx, copy.id);
    if (c?.target !== 'backup') return { released: false, why: 'the copy is no longer verified' };
    const facts: ReleaseFacts = {
      archives: {},
      copies: {},
      stillArchiving: await targetsStillArchiving(tx, c.file_id),
      activeJobs: (await listJobs(tx, { active: true, file: c.file_id, limit: 1 })).length,
      insideBackupRoot: inside(root, c.location),
    };
    for (const t of [...rules.require, ...rules.cleanupArchives])
      facts.archives[t] = await lockHoldingArchive(tx, c.file_id, t);
    for (const t of rules.cleanupCopies) facts.copies[t] = !!(await verifiedCopy(tx, c.file_id, t));
    const why = releaseBlocker(facts, rules);
    if (why) return { released: false, why };
    if (!(await markCopyReleased(tx, c.id)))
      return { released: false, why: 'the copy is no longer verified' };
    const held = [...rules.require, ...rules.cleanupArchives].map((t) => facts.archives[t] as HoldingArchive);
    const where = held.map((a) => `archive ${a.id} on ${a.target}, verified ${a.verified_at?.toISOString()}`);
    await addToTimeline(
      tx,
      c.file_id,
      RETENTION_ACTOR,
      `backup at ${c.location} released (archived in ${where.join('; ')}); its bytes are removed from the backup area — \`sluice retrieve\` brings the set back`,
      { copy: c.id, archives: held.map((a) => ({ id: a.id, target: a.target })) },
    );
    return { released: true, archives: held };
  });
  if (outcome.released) await removeReleasedBytes(db, config, copy);
  return outcome;
}

/**
 * Removes a released copy's bytes and records it. A verified copy at the same place (made again
 * since) keeps its bytes. A location that is not there counts as removed only while the backup root
 * shows its marker (an unmounted backup disk is not "removed": the next pass tries again).
 */
export async function removeReleasedBytes(
  db: Db,
  config: Config,
  copy: Pick<CopyRow, 'id' | 'location'>,
): Promise<void> {
  const root = backupRoot(config);
  if (await verifiedCopyAt(db, copy.location)) {
    await markReleaseRemoved(db, copy.id);
    return;
  }
  if (!inside(root, copy.location)) {
    throw new SluiceError(
      'archive.retention_outside_backup',
      `released copy ${copy.id} at ${copy.location} is not inside ${root}`,
      {
        hint: 'backup.path changed since the release: remove the folder by hand, then nothing is left to do',
      },
    );
  }
  const there = await lstat(copy.location).then(
    () => true,
    (err) => (errnoCode(err) === 'ENOENT' ? false : Promise.reject(err)),
  );
  if (!there && !existsSync(path.join(root, TARGET_MARKER))) {
    throw new SluiceError(
      'archive.retention_backup_missing',
      `the backup area ${root} is not there (no ${TARGET_MARKER})`,
      {
        hint: 'mount the backup disk again; released copies are removed by the next pass',
      },
    );
  }
  if (there) await rm(copy.location, { recursive: true, force: true });
  await markReleaseRemoved(db, copy.id);
}

/** Finishes removals a crash cut short (released rows without `removed_at`); how many were finished. */
export async function finishReleases(db: Db, config: Config, log: Logger): Promise<number> {
  let done = 0;
  for (const c of await unfinishedReleases(db, 1000)) {
    try {
      await removeReleasedBytes(db, config, c);
      done++;
    } catch (err) {
      log.warn({ err, copy: c.id, location: c.location }, 'released backup copy not removed yet');
    }
  }
  return done;
}

export interface RetentionReport {
  released: number;
  kept: number;
  finished: number;
  bytes: number;
}

/** One pass: finish interrupted removals, then release what is due (up to `max_files_per_run`). */
export async function runRetention(
  db: Db,
  config: Config,
  log: Logger,
  opts: { now?: Date; signal?: AbortSignal } = {},
): Promise<RetentionReport> {
  const r: BackupRetentionConfig = config.archive.backup_retention;
  const report: RetentionReport = {
    released: 0,
    kept: 0,
    finished: await finishReleases(db, config, log),
    bytes: 0,
  };
  if (!retentionOn(r)) return report;
  const now = opts.now ?? new Date();
  const { cutoff } = releaseRules(config, now);
  let cursor = '';
  while (report.released < r.max_files_per_run && !opts.signal?.aborted) {
    const ids = await filesArchivedBefore(db, r.require[0] as string, cutoff, cursor, PAGE);
    if (ids.length === 0) break;
    cursor = ids[ids.length - 1] as string;
    for (const copy of await verifiedBackupsOf(db, ids)) {
      if (report.released >= r.max_files_per_run || opts.signal?.aborted) break;
      const out = await releaseOne(db, config, copy, now);
      if (out.released) {
        report.released++;
        report.bytes += Number(copy.bytes);
      } else {
        report.kept++;
        log.debug({ file: copy.file_id, why: out.why }, 'backup kept');
      }
    }
  }
  return report;
}

export function retentionSchedules(config: Config): ScheduleSpec[] {
  if (config.archive.targets.length === 0) return [];
  const r = config.archive.backup_retention;
  return [
    scheduleOf(Kind.archiveBackupRetention, {
      name: Kind.archiveBackupRetention,
      intervalMs: r.interval_minutes * 60_000,
      delayFirst: true,
      enabled: retentionOn(r),
    }),
  ];
}

export function retentionHandler(deps: { config: Config }): TaskHandlerDef {
  return defineHandler(Kind.archiveBackupRetention, {
    async run(ctx) {
      const r = await runRetention(ctx.db, deps.config, ctx.log, { signal: ctx.signal });
      if (r.released || r.finished) ctx.log.info(r, 'backup retention pass');
    },
  });
}
