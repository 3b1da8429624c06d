/**
 * Task `backup.copy` (pool `copy`, the instrument's tags): the verified copy of one acquisition to
 * `<backup.path>/<layout>`, then a `backed_up` report to the flow (src/pipeline/flow.ts), which
 * decides what follows. The stage's decisions apart from I/O: `AWAITING_BACKUP`, `backedUpReason`.
 *
 * Crash points: killed during the copy → the lease expires, another attempt sweeps the partial temp
 * and copies again (copy.ts); killed after the rename but before the database write → the next
 * attempt finds an identical copy and associates it without copying. The copy row, the manifest and
 * the `backed_up` transition are written in the transaction that completes the task. A small copy
 * is announced (`backing_up`, a transaction of its own) only when it takes over a second
 * (`beginBackup`); killed before that, the record is still `acquired`, and the retry copies as above.
 */
import type { Config } from '../core/config/index.ts';
import type { Tx } from '../core/db/db.ts';
import { errorMessage, SluiceError } from '../core/errors.ts';
import { backoffMs } from '../engine/backoff.ts';
import type { TaskHandlerDef, TaskRow } from '../engine/types.ts';
import { insertVerifiedBackup, retireVerifiedBackups } from '../files/copies.ts';
import type { AcquiredFingerprint } from '../files/fingerprint.ts';
import { addToTimeline, type FileStatus, transition } from '../files/lifecycle.ts';
import { type FileRow, getFile, recordBackupManifest, requireFile } from '../files/repo.ts';
import { noteTakeoverOnSubject } from '../files/takeover.ts';
import { backupLocation, sourceSpec } from '../storage/raw-data.ts';
import { defineHandler, Kind, type Payload } from '../tasks/catalogue.ts';
import {
  acquiredOf,
  checkAcquired,
  fingerprintOfManifest,
  listAcquired,
  SourceReplaced,
} from './acquired.ts';
import { type CopyResult, copyVerified } from './copy.ts';
import { earlierTwin } from './duplicate.ts';
import { type SourceSpec, sourceLabel } from './manifest.ts';
import { type BackupContext, settleReplaced, settleTwin } from './settle.ts';
import { checkBackupTarget, recordTargetState, targetUnavailable } from './target.ts';
import { moveAside } from './temp.ts';

const ACTOR = 'backup';

/**
 * What this stage reports when a file's backup is verified, in the transaction that records it; the
 * flow (src/pipeline/flow.ts) decides what follows. `keepStatus` and `outputExists` are the task's
 * (a retry's options), passed on.
 */
export interface BackedUp {
  kind: 'backed_up';
  file: FileRow;
  keepStatus?: FileStatus;
  outputExists?: Payload<typeof Kind.backupCopy>['outputExists'];
  /** The operator accepted overwriting a differing backup: the copies to the other targets may too. */
  acceptOverwrite?: boolean;
}

/** The files of a batch (batch-task.ts) backed up and verified together: reported set-wise. */
export interface BackedUpMany {
  kind: 'backed_up_many';
  files: FileRow[];
}

export interface BackupDeps {
  config: Config;
  /** The flow's `report` (injected by src/runtime/handlers.ts). */
  report(tx: Tx, outcome: BackedUp | BackedUpMany): Promise<void>;
  /**
   * The flow's status for a file right after `backed_up`, when that is all it would do next
   * (pipeline/flow.ts `settledAtBackup`; injected by src/runtime/handlers.ts): a batch moves such a
   * file there in the same row update (batch-task.ts). Absent: the flow moves it after the report.
   */
  settledAtBackup?(file: FileRow): { to: FileStatus; reason: string } | undefined;
}

/** Statuses of a file waiting for its backup; any other status: nothing to do. */
export const AWAITING_BACKUP: readonly FileStatus[] = ['acquired', 'backing_up'];

/** The timeline's reason for `backed_up`: copied, or an identical backup in place associated. */
export function backedUpReason(done: CopyResult, dest: string): string {
  return done.associated
    ? `associated existing backup at ${dest}, hash verified (${done.manifest.entries.length} file(s), ${done.manifest.algorithm}); not copied again`
    : `copied ${done.manifest.entries.length} file(s), ${done.bytes} bytes in ${done.seconds.toFixed(1)} s; read back and verified (${done.manifest.algorithm})`;
}

type Ctx = BackupContext;

/**
 * A copy of less than this many bytes is announced as `backing_up` only if it is still running after
 * ANNOUNCE_AFTER_MS (`beginBackup`); most such copies end sooner, and their record goes from
 * `acquired` to `backed_up` in the one transaction that records the copy. Why: the announcement was a
 * transaction of its own (4 statements and a commit, a WAL flush) for each of 10,000 small files, a
 * fifth of the backup task's database work (bench/intake.ts). A copy that hangs (a share that stops
 * answering) is still announced after ANNOUNCE_AFTER_MS, so it shows as `backing_up` and the stuck
 * alerts see it; a large copy is announced before it starts, as before.
 */
export const ANNOUNCE_FROM_BYTES = 64 * 1024 * 1024;
export const ANNOUNCE_AFTER_MS = 1000;

/**
 * Start the backup (`startBackup`): at once, or, for a small file in `acquired` without an operator's
 * overwrite, after ANNOUNCE_AFTER_MS unless the copy ended by then. Returns the function to call when
 * the copy ended (done or failed): it cancels the announcement not yet made, or waits for the one under
 * way (and throws its error).
 */
async function beginBackup(
  ctx: Ctx,
  file: FileRow,
  dest: string,
  log: Ctx['log'],
): Promise<() => Promise<void>> {
  const size = Number(file.size_bytes);
  const small = file.size_bytes !== null && Number.isFinite(size) && size < ANNOUNCE_FROM_BYTES;
  if (!small || file.status !== 'acquired' || ctx.payload.acceptOverwrite) {
    await startBackup(ctx, file, dest, log);
    return async () => {};
  }
  let started: Promise<void> | undefined;
  const timer = setTimeout(() => {
    started = startBackup(ctx, file, dest, log);
    started.catch(() => {}); // awaited by the function returned
  }, ANNOUNCE_AFTER_MS);
  return async () => {
    clearTimeout(timer);
    await started;
  };
}

/** `backing_up`, and for an accepted overwrite the differing backup moved aside (once). */
async function startBackup(ctx: Ctx, file: FileRow, dest: string, log: Ctx['log']): Promise<void> {
  if (file.status === 'acquired') {
    await ctx.db.tx((tx) =>
      transition(tx, file.id, 'backing_up', {
        actor: ACTOR,
        from: ['acquired'],
        reason: `copying to ${dest}`,
      }),
    );
  }
  if (!ctx.payload.acceptOverwrite || ctx.payload.movedAside) return;
  const { existsSync } = await import('../core/text-fs.ts');
  if (!existsSync(dest)) return;
  const kept = await moveAside(dest);
  const corrupt = ctx.payload.replacing === 'corrupt';
  await ctx.db.tx(async (tx) => {
    await retireVerifiedBackups(tx, file.id);
    // a later attempt of this task finds the new copy at dest, and associates it
    await ctx.remember({ movedAside: true }, tx);
    await addToTimeline(
      tx,
      file.id,
      ACTOR,
      corrupt
        ? `the damaged backup was moved aside to ${kept} (retried after the remover found it corrupt)`
        : `the differing backup was moved aside to ${kept} (operator accepted the overwrite)`,
      { kept },
    );
  });
  log.warn({ kept }, corrupt ? 'moved the damaged backup aside' : 'moved the differing backup aside');
}

/**
 * The verified copy row and the record's manifest. The record's size is never rewritten: it is what
 * was acquired. A record without a fingerprint (declared acquired by an operator) gets the copy's.
 */
async function recordCopy(
  tx: Tx,
  file: FileRow,
  dest: string,
  result: CopyResult,
  acquired: AcquiredFingerprint | undefined,
): Promise<void> {
  await retireVerifiedBackups(tx, file.id);
  await insertVerifiedBackup(tx, file.id, dest, result.manifest, result.seconds, result.associated);
  await recordBackupManifest(
    tx,
    file.id,
    result.manifest,
    acquired ? null : fingerprintOfManifest(result.manifest),
  );
}

/**
 * Is the backup target usable (target.ts)? When it is not, the task is put back without counting an
 * attempt — a share unmounted for hours must not end a thousand files in `error` — and looks again
 * after a delay that doubles from 1 s up to `backup.target_recheck_seconds`. The file stays
 * `acquired` (its instrument copy untouched); its timeline says why once, the instrument shows it
 * (`backup_target_problem`), and the alert `backup_target_unavailable` fires. Returns false then.
 */
async function targetReady(ctx: Ctx, config: Config, file: FileRow, log: Ctx['log']): Promise<boolean> {
  const waits = ctx.payload.targetWaits ?? 0;
  const s = await checkBackupTarget(config, ctx.db, { write: true });
  if (s.ok) {
    if (s.wrote) log.warn({ root: s.root }, s.wrote);
    await recordTargetState(ctx.db, file.instrument_id, null);
    if (waits > 0) {
      await ctx.db.tx(async (tx) => {
        await ctx.remember({ targetWaits: 0 }, tx);
        await addToTimeline(tx, file.id, ACTOR, `the backup target is usable again (${s.root}): copying`);
      });
    }
    return true;
  }
  const err = targetUnavailable(s);
  const delay = backoffMs(waits + 1, 1000, config.backup.target_recheck_seconds * 1000);
  await ctx.again(
    delay,
    async (tx) => {
      await recordTargetState(tx, file.instrument_id, s.reason);
      if (waits === 0) {
        await addToTimeline(tx, file.id, ACTOR, `waiting, not copied: ${err.message} — ${err.hint}`, {
          code: err.code,
        });
      }
    },
    { ...ctx.payload, targetWaits: waits + 1 },
  );
  log.warn({ waits: waits + 1, retryInMs: delay, code: err.code }, err.message);
  return false;
}

/**
 * The copy itself, checked against what the record acquired before and after: the result to record,
 * or `undefined` when the task is settled already (a same-content twin, or the record lost).
 */
async function copyChecked(
  ctx: Ctx,
  config: Config,
  file: FileRow,
  dest: string,
  log: Ctx['log'],
): Promise<CopyResult | undefined> {
  const source = sourceSpec(file);
  // What the record stands for (acquired.ts): the source is checked against it before the
  // same-content check, before copying, and before the copy gets its final name.
  const acquired = acquiredOf(file);
  let result: CopyResult | undefined;
  try {
    if (acquired) await listAcquired(source, acquired);
    // The same content as an earlier record's verified backup (only its modification time
    // changed): not copied again (duplicate.ts). An operator's overwrite always copies.
    const twin = ctx.payload.acceptOverwrite
      ? undefined
      : await earlierTwin(ctx.db, file, source, ctx.signal);
    if (twin) {
      await settleTwin(ctx, file, twin);
      log.info({ sameAs: twin.id }, 'same content as an earlier backup; not copied again');
      return undefined;
    }
    const announced = await beginBackup(ctx, file, dest, log);
    try {
      result = await copyOnce(ctx, config, source, dest, acquired, log);
    } finally {
      await announced();
    }
    // copyVerified asked `accept` before its commit; checked again here on what it returns
    if (acquired) checkAcquired(source, acquired, result.manifest.entries);
    // Unmounted between the check before the commit and the commit: what landed is not on
    // the backup share (left there, not recorded; the window is one rename).
    const after = await checkBackupTarget(config, ctx.db, { write: false });
    if (!after.ok) throw targetUnavailable(after);
    return result;
  } catch (err) {
    if (!(err instanceof SourceReplaced) || !acquired) throw err;
    // result is set only when the check after the copy refused it: this attempt wrote dest
    const wrote = result !== undefined && !result.associated;
    const start = () => startBackup(ctx, file, dest, log);
    return settleReplaced(ctx, { config, file, dest, acquired, err, wrote, log, start });
  }
}

/** `copyVerified` with this task's progress, its acquired check and its target check before the commit. */
async function copyOnce(
  ctx: Ctx,
  config: Config,
  source: SourceSpec,
  dest: string,
  acquired: AcquiredFingerprint | undefined,
  log: Ctx['log'],
): Promise<CopyResult> {
  const reading = `reading ${sourceLabel(source)}`;
  let lastLog = Date.now();
  return copyVerified({
    source,
    dest,
    algorithm: config.backup.hash,
    signal: ctx.signal,
    accept: acquired ? (files) => checkAcquired(source, acquired, files) : undefined,
    // the share unmounted while copying: the temp is on the local disk below the mount
    // point; refused before its commit, so nothing is left there under the final name
    beforeCommit: async () => {
      const s = await checkBackupTarget(config, ctx.db, { write: false });
      if (!s.ok) throw targetUnavailable(s);
    },
    onPhase: (phase) =>
      ctx.progress(
        phase === 'copy' ? reading : `${phase === 'verify' ? 'reading back' : 'committing'} ${dest}`,
      ),
    onProgress: (done, total) => {
      ctx.progress();
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        log.info({ done, total }, 'copying');
      }
    },
  });
}

async function noteRetry(tx: Tx, task: TaskRow, err: unknown, retryInMs: number): Promise<void> {
  await addToTimeline(
    tx,
    task.subject!,
    ACTOR,
    `backup attempt ${task.attempts} failed: ${errorMessage(err)}; retrying in ${Math.round(retryInMs / 1000)} s`,
    { code: err instanceof SluiceError ? err.code : 'unknown' },
  );
}

async function failFile(tx: Tx, task: TaskRow, err: unknown): Promise<void> {
  const hint = err instanceof SluiceError && err.hint ? ` — ${err.hint}` : '';
  await transition(tx, task.subject!, 'error', {
    actor: ACTOR,
    from: [...AWAITING_BACKUP],
    reason: `backup failed: ${errorMessage(err)}${hint}`,
    data: { code: err instanceof SluiceError ? err.code : 'unknown', attempts: task.attempts },
  });
}

export function backupHandler(deps: BackupDeps): TaskHandlerDef {
  return defineHandler(Kind.backupCopy, {
    // A copy from a hung share is given up after this long without a chunk copied (engine/stall.ts).
    stallMs: deps.config.worker.stall_seconds * 1000,
    onTakenOver: noteTakeoverOnSubject,
    onRetry: noteRetry,
    onFailed: failFile,
    async run(ctx) {
      const file = await getFile(ctx.db, ctx.task.subject!);
      if (!file || !AWAITING_BACKUP.includes(file.status)) {
        ctx.log.info(
          { fileId: ctx.task.subject, status: file?.status },
          'nothing to back up (file not waiting for a backup)',
        );
        return;
      }
      const log = ctx.log.child({ fileId: file.id, instrument: file.instrument_id });
      // The right disk before anything reads or writes there (target.ts); else wait, uncounted.
      if (!(await targetReady(ctx, deps.config, file, log))) return;
      const dest = backupLocation(deps.config, file);
      ctx.progress(`reading ${sourceLabel(sourceSpec(file))}`);
      const done = await copyChecked(ctx, deps.config, file, dest, log);
      if (!done) return;
      await ctx.complete(async (tx) => {
        await recordCopy(tx, file, dest, done, acquiredOf(file));
        await transition(tx, file.id, 'backed_up', {
          actor: ACTOR,
          // `acquired`: a small copy that ended before it was announced (beginBackup)
          from: ['acquired', 'backing_up'],
          reason: backedUpReason(done, dest),
          data: { location: dest },
        });
        const updated = await requireFile(tx, file.id);
        const { keepStatus, outputExists, acceptOverwrite, replacing } = ctx.payload;
        await deps.report(tx, {
          kind: 'backed_up',
          file: updated,
          keepStatus,
          outputExists,
          acceptOverwrite: acceptOverwrite === true && replacing !== 'corrupt',
        });
      });
      log.info({ dest, bytes: done.bytes, seconds: done.seconds, associated: done.associated }, 'backed up');
    },
  });
}
