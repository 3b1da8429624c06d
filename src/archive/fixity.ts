/**
 * Fixity audits of archived sets (task `archive.fixity`, scheduled every
 * `archive.fixity.interval_minutes`, pool `archive.read`): filesystem and warm S3 archives are read
 * back from their target and every member re-hashed at its recorded offset (verify.ts, the same pass
 * as the write-time verification), so silent damage in long-term storage is found while the backup
 * can still re-make the archive. Cold S3 classes (GLACIER, DEEP_ARCHIVE) are not re-read here: they
 * are verified at write time and whenever a retrieval brings them back (retrieve-task.ts records that
 * as the archive's fixity check).
 *
 * Schedule: an archive is due once its last check (or its verification) is older than `cycle_days`;
 * a run takes the least recently checked first, up to `max_mb_per_run` of tar bytes (`pickForFixity`,
 * pure; at least one archive per run).
 *
 * A match records `last_fixity_at/_ok`. A mismatch (a differing member, a missing or truncated tar)
 * makes the archive `corrupt` (fixity-repo.ts): it never counts as archived again (cleanup's
 * `require` and retrieval take only `archived` ones), the `backup_failure` alert
 * names it until its sets are archived anew, each file's timeline says so, and the items are due now:
 * the pack task writes a new archive from the backup copies, re-hashing them against the hashes
 * recorded at backup (pack.ts), so a backup that does not verify any more is never archived again
 * (its item waits, with the reason). A target that is not there as a whole (missing or empty folder,
 * unmounted share) marks nothing: the run stops with `archive.fixity_target_missing`.
 *
 * Crash points: nothing is recorded before the transaction with the result; killed mid-read, the
 * archive is still the least recently checked and the next run takes it first.
 */
import { readdir } from 'node:fs/promises';
import type { Config } from '../core/config/index.ts';
import type { ArchiveTarget } from '../core/config/schema/archive.ts';
import type { Db, Tx } from '../core/db/db.ts';
import { SluiceError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { addToTimeline } from '../files/lifecycle.ts';
import { releasedBackup } from '../files/releases.ts';
import { verifiedCopy } from '../files/repo.ts';
import { isMountPoint } from '../storage/disk.ts';
import { errnoCode } from '../storage/fsutil.ts';
import { defineHandler, Kind, scheduleOf } from '../tasks/catalogue.ts';
import { removeCoveredTars } from './condemned.ts';
import { archivesDueForFixity, markArchiveCorrupt } from './fixity-repo.ts';
import { startPacking } from './pass.ts';
import { takeForArchive } from './policy.ts';
import { type ArchiveRow, membersOf, setArchiveFixity } from './repo.ts';
import { readArchive } from './targets.ts';
import { verifyArchive } from './verify.ts';

export const ARCHIVE_FIXITY_ACTOR = 'archive-fixity';
const DAY_MS = 86_400_000;
/** Archives looked at per run before the byte budget is applied. */
const CANDIDATES = 1000;

/**
 * Pure: the archives one run re-reads, from candidates in order (least recently checked first): what
 * fits in `budgetBytes` of tar, at least the first (the same fill as one archive's, policy.ts).
 */
export function pickForFixity<T extends Pick<ArchiveRow, 'size_bytes'>>(
  rows: readonly T[],
  budgetBytes: number,
): T[] {
  return takeForArchive(
    rows.map((row) => ({ row, bytes: row.size_bytes ?? 0 })),
    budgetBytes,
  ).map((x) => x.row);
}

export function archiveFixitySchedules(config: Config): ScheduleSpec[] {
  if (config.archive.targets.length === 0) return [];
  return [
    scheduleOf(Kind.archiveFixity, {
      name: Kind.archiveFixity,
      intervalMs: config.archive.fixity.interval_minutes * 60_000,
      // not at the first start: the archives there are were just verified
      delayFirst: true,
      enabled: config.archive.fixity.enabled,
    }),
  ];
}

/** Throws when the filesystem target is not there as a whole (nothing may be marked corrupt then). */
async function assertTargetPresent(t: ArchiveTarget): Promise<void> {
  if (t.type !== 'filesystem') return;
  const why =
    t.require_mount && !(await isMountPoint(t.path))
      ? 'is not a mount point'
      : await readdir(t.path).then(
          (e) => (e.length === 0 ? 'is empty' : undefined),
          (err) => `cannot be read (${errnoCode(err) ?? String(err)})`,
        );
  if (why) {
    throw new SluiceError(
      'archive.fixity_target_missing',
      `archive fixity audit stopped: ${t.path} (target ${t.name}) ${why}`,
      {
        hint: 'mount the long-term storage again; the audits go on with the next run and nothing was marked',
      },
    );
  }
}

/** Re-reads one archive; the problems found (none: it matches). Faults of the store are thrown. */
async function reread(db: Db, t: ArchiveTarget, a: ArchiveRow, signal?: AbortSignal): Promise<string[]> {
  const members = (await membersOf(db, a.id)).map((m) => ({
    path: m.path,
    size: Number(m.size),
    sha256: m.sha256,
    dataOffset: Number(m.data_offset),
  }));
  try {
    const r = await verifyArchive(readArchive(t, a.key, signal), {
      members,
      sizeBytes: Number(a.size_bytes),
      manifestSha256: a.manifest_sha256 ?? '',
    });
    return r.problems;
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (errnoCode(err) === 'ENOENT' || name === 'NoSuchKey')
      return [`the archive is missing at ${a.location}`];
    throw err;
  }
}

/**
 * The archive no longer matches its record (`why`: who found it how; `problems`: what differed): it
 * becomes `corrupt`, each of its files' timeline says so and what happens next, and its items are
 * due again on the target with the pack task enqueued (see the module comment). Used by the audits
 * and by a retrieval that gave up on a mismatch (retrieve-task.ts). Returns the files put back.
 */
export async function condemnArchive(
  tx: Tx,
  config: Config,
  a: Pick<ArchiveRow, 'id' | 'target'>,
  why: string,
  problems: readonly string[],
): Promise<string[]> {
  const files = await markArchiveCorrupt(tx, a.id, `${why}: ${problems.slice(0, 3).join('; ')}`);
  for (const f of files) {
    const backup = await verifiedCopy(tx, f, 'backup');
    const released = backup ? undefined : await releasedBackup(tx, f);
    const next = backup
      ? `it is archived again from the backup at ${backup.location} (re-hashed against the backup's recorded hashes first)`
      : released
        ? `its backup was released on ${released.released_at.toISOString()} (backup retention), so it cannot be archived again from it: the data is now only in other archives or on the instrument — retrieve it from another archive target to keep a second copy`
        : 'no verified backup copy is left to archive it again from: restore the set from another copy';
    await addToTimeline(
      tx,
      f,
      ARCHIVE_FIXITY_ACTOR,
      `archive ${a.id} on ${a.target} is corrupt (${problems[0] ?? why}); ${next}`,
      {
        archive: a.id,
        target: a.target,
        ok: false,
        problems: problems.slice(0, 10),
      },
    );
  }
  if (files.length > 0) await startPacking(tx, config, [a.target]);
  return files;
}

export interface ArchiveAudit {
  ok: boolean;
  problems: string[];
}

/** Audits one archive and records the outcome (see the module comment). */
export async function auditArchive(
  db: Db,
  config: Config,
  a: ArchiveRow,
  log: Logger,
  signal?: AbortSignal,
): Promise<ArchiveAudit> {
  const t = config.archive.targets.find((x) => x.name === a.target);
  if (!t) return { ok: true, problems: [] };
  await assertTargetPresent(t);
  const problems = await reread(db, t, a, signal);
  if (problems.length === 0) {
    await setArchiveFixity(db, a.id, true);
    log.info({ archive: a.id, target: a.target }, 'archive fixity audit ok');
    return { ok: true, problems };
  }
  await assertTargetPresent(t);
  await db.tx((tx) =>
    condemnArchive(
      tx,
      config,
      a,
      `fixity audit: read back from ${a.location} it no longer matches`,
      problems,
    ),
  );
  log.error(
    { archive: a.id, target: a.target, problems: problems.slice(0, 10) },
    'archive fixity audit: archive is corrupt',
  );
  return { ok: false, problems };
}

export interface ArchiveFixityReport {
  audited: number;
  corrupt: number;
  bytes: number;
}

/** One run: the archives due (see `pickForFixity`), one after another. */
export async function runArchiveFixity(
  db: Db,
  config: Config,
  log: Logger,
  opts: { signal?: AbortSignal; now?: Date } = {},
): Promise<ArchiveFixityReport> {
  const report: ArchiveFixityReport = { audited: 0, corrupt: 0, bytes: 0 };
  const f = config.archive.fixity;
  if (!f.enabled) return report;
  const now = opts.now ?? new Date();
  // tars of corrupt archives whose sets are verified there again (condemned.ts)
  await removeCoveredTars(db, config, log).catch((err: unknown) =>
    log.warn({ err: String(err) }, 'could not remove corrupt archive tars'),
  );
  const due = await archivesDueForFixity(db, new Date(now.getTime() - f.cycle_days * DAY_MS), CANDIDATES);
  for (const a of pickForFixity(due, f.max_mb_per_run * 1024 * 1024)) {
    if (opts.signal?.aborted) break;
    const r = await auditArchive(db, config, a, log, opts.signal);
    report.audited++;
    report.bytes += Number(a.size_bytes ?? 0);
    if (!r.ok) report.corrupt++;
  }
  return report;
}

export function archiveFixityHandler(deps: { config: Config }): TaskHandlerDef {
  return defineHandler(Kind.archiveFixity, {
    async run(ctx) {
      const r = await runArchiveFixity(ctx.db, deps.config, ctx.log, { signal: ctx.signal });
      if (r.audited) ctx.log.info(r, 'archive fixity run');
    },
  });
}
