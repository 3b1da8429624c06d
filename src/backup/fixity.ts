/**
 * Fixity audits (task `backup.fixity`, schedule `fixity`, pool `fixity`): every verified backup copy
 * is re-read FROM STORAGE (O_DIRECT, storage-read.ts) against the hashes recorded when it was
 * verified, on a rolling schedule, so silent damage on the backup disk is found while the instrument
 * copy (or another copy) can still repair it.
 *
 * Schedule: one run an hour (`FIXITY_INTERVAL_MS`), the first an hour after the schedule is created. A run audits `auditsDue(...)` copies: the share
 * that re-reads every copy once per `backup.fixity.cycle_days`, plus as many again of those already
 * overdue (after downtime the audits catch up at twice the pace, not all at once). It takes the least
 * recently audited first (`pickForAudit`; never audited counts from when the copy was verified). Reads
 * are throttled to `backup.fixity.max_mb_per_second` on average, so audits do not starve copies.
 *
 * Results: every re-read is a row in `fixity_checks` (history: when, by whom, direct or cached, what
 * differed) and the copy's `last_fixity_at` / `last_fixity_ok`; each audit is a note on the file's
 * timeline. The remover's re-read of a backup before a deletion is recorded the same way (actor
 * `remover`, `recordCheck`).
 *
 * A mismatch (a differing hash or size, a missing or unreadable file) marks the copy `corrupt`: the
 * `backup_failure` alert fires for it (ops/alerts/rules.ts), the remover no longer deletes the
 * instrument copy (it needs a verified backup and re-checks the copy's state just before deleting),
 * and the timeline says what to do. A copy whose whole backup target is absent (an unmounted share:
 * `backup.path` missing or empty) is not marked: the run stops with an error instead, so an unmount
 * never turns every copy "corrupt".
 *
 * Crash points: an audit only reads until the transaction that records its result; killed before,
 * nothing is recorded and the copy, still the least recently audited, is taken first by the next run.
 */
import type { Config } from '../core/config/index.ts';
import { fsTargets, s3Targets } from '../core/config/schema/backup-targets.ts';
import type { Db, Queryable } from '../core/db/db.ts';
import { SluiceError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import {
  type CopyForAudit,
  copiesLongestUnread,
  markVerifiedCopyCorrupt,
  setCopyFixity,
  verifiedCopiesOfOtherTargets,
  verifiedCopyAges,
} from '../files/copies.ts';
import { addToTimeline } from '../files/lifecycle.ts';
import { errnoCode, formatBytes } from '../storage/fsutil.ts';
import { defineHandler, Kind, scheduleOf } from '../tasks/catalogue.ts';
import { fsTargetPlace } from './fs-target/place.ts';
import { verifyS3Copy } from './s3/verify.ts';
import type { ReadMode } from './storage-read.ts';
import { checkBackupTarget, primaryPlace, type TargetPlace } from './target.ts';
import { type VerifyResult, verifyCopy } from './verify.ts';

export const FIXITY_ACTOR = 'fixity';
/** How often a fixity run starts (each audits its share of the copies). */
export const FIXITY_INTERVAL_MS = 60 * 60_000;
const DAY_MS = 86_400_000;

export function fixitySchedules(config: Config): ScheduleSpec[] {
  return [
    scheduleOf(Kind.backupFixity, {
      name: 'fixity',
      intervalMs: FIXITY_INTERVAL_MS,
      // not at the first start: the copies there are were just read back
      delayFirst: true,
      enabled: config.backup.fixity.enabled,
    }),
  ];
}

/**
 * How many copies one run audits: the share of `copies` that re-reads every copy once per
 * `cycleDays` when a run starts every `intervalMs`, plus up to as many again of the `overdue` ones
 * (not audited within a cycle: after downtime, catching up at twice the pace). At least one when
 * there are copies.
 */
export function auditsDue(p: {
  copies: number;
  overdue: number;
  cycleDays: number;
  intervalMs: number;
}): number {
  if (p.copies <= 0) return 0;
  const share = Math.max(1, Math.ceil((p.copies * p.intervalMs) / (p.cycleDays * DAY_MS)));
  return Math.min(p.copies, share + Math.min(share, Math.max(0, p.overdue)));
}

export interface AuditCandidate {
  id: string;
  last_fixity_at: Date | null;
  verified_at: Date;
}

/** When a copy was last known good from a read: its latest audit, or its verification. */
export const lastChecked = (c: AuditCandidate): number => (c.last_fixity_at ?? c.verified_at).getTime();

/**
 * The `count` copies to audit now: the least recently checked first (`lastChecked`), ties by id
 * (oldest row first), so the schedule rolls through every copy.
 */
export function pickForAudit<T extends AuditCandidate>(rows: readonly T[], count: number): T[] {
  return [...rows]
    .sort((a, b) => lastChecked(a) - lastChecked(b) || Number(a.id) - Number(b.id))
    .slice(0, Math.max(0, count));
}

/** `MB/s` of the config (10^6 bytes) as bytes per second; 0 means no limit. */
export const bytesPerSecond = (mbPerSecond: number): number | undefined =>
  mbPerSecond > 0 ? mbPerSecond * 1e6 : undefined;

export interface FixityCheck {
  copyId: string;
  fileId: string;
  actor: string;
  ok: boolean;
  read: ReadMode | undefined;
  bytes: number;
  seconds: number;
  problems?: string[];
}

/** Record one re-read of a copy: its history row and the copy's latest result. */
export async function recordCheck(q: Queryable, c: FixityCheck): Promise<void> {
  await q.exec(
    `insert into fixity_checks (copy_id, file_id, actor, ok, read, bytes, seconds, problems)
     values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)`,
    [
      c.copyId,
      c.fileId,
      c.actor,
      c.ok,
      c.read ?? null,
      c.bytes,
      c.seconds,
      c.problems ? JSON.stringify(c.problems) : null,
    ],
  );
  await setCopyFixity(q, c.copyId, c.ok);
}

/** How many re-reads each actor recorded, by result (`n` as text). */
export async function fixityCheckCounts(q: Queryable): Promise<{ actor: string; ok: boolean; n: string }[]> {
  return q.query<{ actor: string; ok: boolean; n: string }>(
    'select actor, ok, count(*) as n from fixity_checks group by actor, ok',
  );
}

/** What a verification read, in words for the timeline. */
export function describeRead(r: Pick<VerifyResult, 'read' | 'fallback'>): string {
  if (r.read === 'direct') return 'read from storage (O_DIRECT)';
  if (r.read === 'cached') return `read through the page cache: ${r.fallback ?? 'O_DIRECT was refused'}`;
  return 'not read (its files differ already)';
}

type AuditRow = CopyForAudit;

export interface AuditOutcome {
  ok: boolean;
  read: ReadMode | undefined;
  problems: string[];
}

/**
 * Audit one copy: re-read it from storage, record the result, and on a mismatch mark it `corrupt`
 * (only if it is still the verified copy: a retry may have replaced it meanwhile) with a note saying
 * what to do. Throws `backup.fixity_target_missing` when the copy is missing because the whole backup
 * target is (nothing recorded).
 */
export async function auditCopy(
  db: Db,
  config: Config,
  c: AuditRow,
  log: Logger,
  opts: { signal?: AbortSignal; bytesPerSecond?: number } = {},
): Promise<AuditOutcome> {
  const started = Date.now();
  // a filesystem copy (the primary or a filesystem target) is re-read from storage; an S3
  // target's copy is read back from its store (s3/verify.ts)
  const place = filesystemPlace(config, c.target);
  const result = place
    ? await verifyCopy(c.location, c.kind, c.manifest, {
        signal: opts.signal,
        fromStorage: { bytesPerSecond: opts.bytesPerSecond },
      })
    : await verifyS3Copy(s3Targets(config.backup.targets), c, { signal: opts.signal });
  const seconds = (Date.now() - started) / 1000;
  const problems = result.ok ? [] : result.problems;
  // A copy that does not verify because the whole target is not there (an unmounted share, a folder
  // renamed away: target.ts) is not corrupt: nothing is recorded.
  const target =
    result.ok || !place ? undefined : await checkBackupTarget(config, db, { write: false, place });
  if (target && !target.ok) {
    throw new SluiceError(
      'backup.fixity_target_missing',
      `fixity audit stopped: backup target unavailable: ${target.reason} (${problems[0] ?? ''})`,
      { hint: `${target.hint}; the audits go on with the next run` },
    );
  }
  const where =
    c.target === 'backup'
      ? `the backup at ${c.location}`
      : `the copy on backup target ${c.target} at ${c.location}`;
  await db.tx(async (tx) => {
    await recordCheck(tx, {
      copyId: c.id,
      fileId: c.file_id,
      actor: FIXITY_ACTOR,
      ok: result.ok,
      read: result.read,
      bytes: result.ok ? Number(c.bytes) : 0,
      seconds,
      ...(result.ok ? {} : { problems }),
    });
    if (result.ok) {
      await addToTimeline(
        tx,
        c.file_id,
        FIXITY_ACTOR,
        `fixity audit: ${where} matches its recorded ${c.hash_algorithm} (${c.manifest.entries.length} file(s), ${formatBytes(Number(c.bytes))}; ${describeRead(result)})`,
        { copyId: c.id, ok: true, read: result.read ?? null },
      );
      return;
    }
    const marked = await markVerifiedCopyCorrupt(tx, c.id);
    const fix =
      c.instrument_copy === 'present' || c.instrument_copy === 'moved'
        ? `the instrument copy is kept (the remover will not delete it); back it up again with \`sluice files retry ${c.file_id}\``
        : `the instrument copy is ${c.instrument_copy}: restore the data from another copy (an archive) and check the backup storage`;
    await addToTimeline(
      tx,
      c.file_id,
      FIXITY_ACTOR,
      `fixity audit: ${where} no longer matches the hashes recorded when it was verified: ${problems.slice(0, 3).join('; ')}${marked ? ` — marked corrupt; ${fix}` : ' (the copy was replaced meanwhile)'}`,
      { copyId: c.id, ok: false, read: result.read ?? null, problems },
    );
  });
  if (result.ok) log.info({ fileId: c.file_id, copyId: c.id, read: result.read, seconds }, 'fixity audit ok');
  else
    log.error(
      { fileId: c.file_id, copyId: c.id, problems },
      'fixity audit: backup copy does not match its hashes',
    );
  return { ok: result.ok, read: result.read, problems };
}

/**
 * A filesystem target by its name in the copies record: the primary (`backup`) or a filesystem
 * target of `backup.targets`; undefined for an S3 target (or one no longer in the config).
 */
export function filesystemPlace(config: Config, target: string): TargetPlace | undefined {
  if (target === 'backup') return primaryPlace(config);
  const t = fsTargets(config.backup.targets).find((x) => x.name === target);
  return t ? fsTargetPlace(t) : undefined;
}

/** The targets whose copies are audited: `backup` and every target in `backup.targets`. */
export function auditedTargets(config: Config): string[] {
  return ['backup', ...config.backup.targets.map((t) => t.name)];
}

/** Targets already warned about in this process (their copies are skipped; logged once). */
const warnedGone = new Set<string>();

/**
 * Copies of a target removed from the config cannot be read back: the audits skip them (the
 * rotation goes on with the rest) and say so once per target and process.
 */
async function warnSkippedTargets(db: Queryable, config: Config, log: Logger): Promise<void> {
  for (const g of await verifiedCopiesOfOtherTargets(db, auditedTargets(config))) {
    if (warnedGone.has(g.target)) continue;
    warnedGone.add(g.target);
    log.warn(
      { target: g.target, copies: g.copies },
      `fixity audit skips ${g.copies} verified copies of backup target '${g.target}': it is not in backup.targets any more (add it back to have them audited)`,
    );
  }
}

/** The copies one run audits (see `auditsDue`, `pickForAudit`). */
export async function copiesToAudit(db: Queryable, config: Config, now = new Date()): Promise<AuditRow[]> {
  const { cycle_days } = config.backup.fixity;
  const cycleStart = new Date(now.getTime() - cycle_days * DAY_MS);
  const targets = auditedTargets(config);
  const counts = await verifiedCopyAges(db, cycleStart, targets);
  const n = auditsDue({
    copies: counts.copies,
    overdue: counts.overdue,
    cycleDays: cycle_days,
    intervalMs: FIXITY_INTERVAL_MS,
  });
  if (n === 0) return [];
  // pickForAudit states the order of copiesLongestUnread (and is tested)
  const rows = await copiesLongestUnread(db, n, targets);
  return pickForAudit(rows, n);
}

export interface FixityReport {
  audited: number;
  mismatches: number;
  cached: number;
}

/** One fixity run: audit the copies due now, one after another, within the throttle. */
export async function runFixity(
  db: Db,
  config: Config,
  log: Logger,
  opts: { signal?: AbortSignal } = {},
): Promise<FixityReport> {
  const report: FixityReport = { audited: 0, mismatches: 0, cached: 0 };
  if (!config.backup.fixity.enabled) return report;
  const rate = bytesPerSecond(config.backup.fixity.max_mb_per_second);
  await warnSkippedTargets(db, config, log);
  for (const c of await copiesToAudit(db, config)) {
    if (opts.signal?.aborted) break;
    try {
      const r = await auditCopy(db, config, c, log, { signal: opts.signal, bytesPerSecond: rate });
      report.audited++;
      if (!r.ok) report.mismatches++;
      if (r.read === 'cached') report.cached++;
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      if (err instanceof SluiceError) throw err;
      // a fault of this one copy that verifyCopy did not turn into a problem: log, go on with the rest
      log.error(
        { fileId: c.file_id, copyId: c.id, err: errnoCode(err) ?? String(err) },
        'fixity audit failed',
      );
    }
  }
  return report;
}

export function fixityHandler(deps: { config: Config }): TaskHandlerDef {
  return defineHandler(Kind.backupFixity, {
    async run(ctx) {
      const r = await runFixity(ctx.db, deps.config, ctx.log, { signal: ctx.signal });
      if (r.audited) ctx.log.info(r, 'fixity run');
    },
  });
}
