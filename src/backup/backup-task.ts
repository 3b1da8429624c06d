/**
 * Task `backup.copy` (pool `copy`, the instrument's tags): the verified copy of one acquisition to
 * `<backup.path>/<layout>`, then the file's next step.
 *
 * Crash points: killed during the copy → the lease expires, another attempt sweeps the partial temp
 * and copies again (copy.ts); killed after the rename but before the database write → the next
 * attempt finds an identical copy and associates it without copying. The copy row, the manifest and
 * the `backed_up` transition are written in the transaction that completes the task.
 */
import path from 'node:path';
import type { Config, InstrumentConfig } from '../core/config/index.ts';
import type { Tx } from '../core/db/db.ts';
import { errorMessage, SluiceError } from '../core/errors.ts';
import { FALLBACK_KEEPS_DATA, isFallback } from '../core/instance.ts';
import { pathToText } from '../core/names.ts';
import type { OutputExistsMode } from '../core/variables.ts';
import { backoffMs } from '../engine/backoff.ts';
import { enqueue } from '../engine/enqueue.ts';
import type { TaskContext, TaskHandlerDef } from '../engine/types.ts';
import type { AcquiredFingerprint } from '../files/fingerprint.ts';
import { addToTimeline, type FileStatus, transition } from '../files/lifecycle.ts';
import { type FileRow, getFile } from '../files/repo.ts';
import { noteTakeoverOnSubject } from '../files/takeover.ts';
import { type PlanOptions, planProcessing } from '../process/jobs.ts';
import { exists } from '../storage/fsutil.ts';
import {
  acquiredOf,
  adoptableCopy,
  checkAcquired,
  fingerprintOfManifest,
  listAcquired,
  SOURCE_REPLACED,
  SourceReplaced,
} from './acquired.ts';
import { type CopyResult, copyVerified } from './copy.ts';
import { earlierTwin, type Twin } from './duplicate.ts';
import { type SourceSpec, sourceLabel } from './manifest.ts';
import { checkBackupTarget, recordTargetState, targetUnavailable } from './target.ts';
import { moveAside, removeLeftovers } from './temp.ts';

const ACTOR = 'backup';

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
  file: Pick<FileRow, 'id' | 'instrument_id' | 'project_id' | 'mtime'>,
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
  const rel = config.backup.layout.replace(/\{([a-z_]+)\}/g, (_, k: string) => values[k] ?? '');
  const root = pathToText(config.backup.path ?? path.join(config.data_dir, 'backup')); // core/names.ts
  return path.join(root, rel);
}

/** The raw data of a file as a copy source, at its current place on the instrument. */
export function sourceSpec(
  file: Pick<FileRow, 'kind' | 'name' | 'companions' | 'source_path' | 'current_path'>,
): SourceSpec {
  const p = file.current_path ?? file.source_path;
  if (file.kind === 'file') return { kind: 'file', path: p };
  if (file.kind === 'folder') return { kind: 'folder', path: p };
  return { kind: 'files', dir: path.dirname(p), names: [path.basename(p), ...file.companions] };
}

/**
 * What follows a verified backup: processing (or done_not_processed), and the optional move. With
 * `keepStatus` (a backup repaired after its processing had finished) the file goes back to that
 * status and is not processed again.
 */
export async function afterBackup(
  tx: Tx,
  file: FileRow,
  inst: InstrumentConfig | undefined,
  config: Config,
  opts: PlanOptions & { keepStatus?: FileStatus } = {},
): Promise<void> {
  if (opts.keepStatus) {
    await transition(tx, file.id, opts.keepStatus, {
      actor: ACTOR,
      from: ['backed_up'],
      reason: `the backup is whole again; processing had finished before and is not run again (\`sluice files retry ${file.id}\` runs it)`,
    });
  } else {
    await planProcessing(tx, config, file, ACTOR, opts);
  }
  if (inst?.move_after_backup && file.instrument_copy === 'present' && isFallback(config)) {
    await addToTimeline(
      tx,
      file.id,
      ACTOR,
      `not moved to the instrument's Backup folder: ${FALLBACK_KEEPS_DATA}`,
    );
  } else if (inst?.move_after_backup && file.instrument_copy === 'present') {
    await enqueue(tx, {
      kind: 'cleanup.move',
      subject: file.id,
      pool: 'cleanup',
      tags: inst.tags,
      dedupeKey: `move:${file.id}`,
    });
  }
}

type Ctx = TaskContext;

/** A same-content twin: this record is ignored, the earlier one's backup covers it. */
async function settleTwin(ctx: Ctx, file: FileRow, twin: Twin): Promise<void> {
  await ctx.complete(async (tx) => {
    const moved = await transition(tx, file.id, 'ignored', {
      actor: ACTOR,
      from: ['acquired', 'backing_up'],
      reason: `same content as ${twin.id}, whose verified backup at ${twin.location} holds every file with the same hash (only the modification time changed): not backed up again`,
      data: { sameAs: twin.id, location: twin.location },
    });
    if (moved) {
      await addToTimeline(
        tx,
        twin.id,
        ACTOR,
        `seen again as ${file.id} with the same content (its modification time changed); that record is ignored, this backup covers it`,
        { duplicate: file.id },
      );
    }
  });
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
  if (!ctx.task.payload.acceptOverwrite || ctx.task.payload.movedAside) return;
  const { existsSync } = await import('../core/text-fs.ts');
  if (!existsSync(dest)) return;
  const kept = await moveAside(dest);
  const corrupt = ctx.task.payload.replacing === 'corrupt';
  await ctx.db.tx(async (tx) => {
    await tx.exec(
      `update copies set state = 'replaced' where file_id = $1 and target = 'backup' and state = 'verified'`,
      [file.id],
    );
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
  await tx.exec(
    `update copies set state = 'replaced' where file_id = $1 and target = 'backup' and state = 'verified'`,
    [file.id],
  );
  await tx.exec(
    `insert into copies (file_id, target, location, state, hash_algorithm, manifest, bytes, seconds, associated)
     values ($1, 'backup', $2, 'verified', $3, $4::jsonb, $5, $6, $7)`,
    [
      file.id,
      dest,
      result.manifest.algorithm,
      JSON.stringify(result.manifest),
      result.manifest.totalBytes,
      result.seconds,
      result.associated,
    ],
  );
  await tx.exec(
    `update files set manifest = $2::jsonb, hash_algorithm = $3,
       acquired_fingerprint = coalesce(acquired_fingerprint, $4::jsonb) where id = $1`,
    [
      file.id,
      JSON.stringify(result.manifest),
      result.manifest.algorithm,
      acquired ? null : JSON.stringify(fingerprintOfManifest(result.manifest)),
    ],
  );
}

/**
 * The source is not what the record acquired (acquired.ts). A copy an earlier attempt put in place
 * that holds exactly what was acquired is returned to be recorded. Otherwise: a copy this attempt
 * wrote is moved aside (it is of other data; the source still exists), leftover temps of earlier
 * attempts are swept, and the record ends `lost` — terminal, and alerted (ops/alerts). The instrument
 * copy is `missing`: what the name holds now is not this record's; it has (or gets at the next scan)
 * its own record, which is backed up as usual.
 *
 * Crash points: killed before the transaction, the next attempt checks again and ends the same way
 * (a copy moved aside stays moved aside; the sweep is repeated).
 */
async function settleReplaced(
  ctx: Ctx,
  config: Config,
  file: FileRow,
  inst: InstrumentConfig | undefined,
  dest: string,
  acquired: AcquiredFingerprint,
  err: SourceReplaced,
  wrote: boolean,
  log: Ctx['log'],
): Promise<CopyResult | undefined> {
  const source = sourceSpec(file);
  const algorithm = config.backup.hash;
  const started = performance.now();
  // not the copy an operator chose to overwrite (accept-overwrite, a corrupt backup retried)
  const earlier =
    ctx.task.payload.acceptOverwrite || wrote
      ? undefined
      : await adoptableCopy(source, dest, acquired, algorithm, ctx.signal);
  if (earlier) {
    await startBackup(ctx, file, dest, log);
    log.warn({ dest }, 'source replaced after an earlier attempt had copied it; recording that copy');
    await ctx.db.tx((tx) =>
      addToTimeline(
        tx,
        file.id,
        ACTOR,
        `${err.message}; the copy an earlier attempt made at ${dest} holds exactly the files acquired (names, sizes, modification times) and is recorded, hashed from the copy`,
        { code: SOURCE_REPLACED },
      ),
    );
    return { manifest: earlier, bytes: 0, seconds: (performance.now() - started) / 1000, associated: true };
  }
  await removeLeftovers(dest).catch(() => {});
  // Only what this attempt wrote is moved; a copy found in place is left as it is (unrecorded).
  const kept = wrote ? await moveAside(dest) : undefined;
  const stray = !wrote && (await exists(dest));
  await ctx.complete(async (tx) => {
    const newer = await tx.maybeOne<{ id: string }>(
      `select id from files where instrument_id = $1 and name = $2 and id <> $3
         and created_at > (select created_at from files where id = $3)
       order by created_at desc, id desc limit 1`,
      [file.instrument_id, file.name, file.id],
    );
    const now = newer
      ? `what is there now is recorded as ${newer.id}`
      : `what is there now is recorded as new data by the next scan of ${inst?.watch ?? file.instrument_id}`;
    const moved = await transition(tx, file.id, 'lost', {
      actor: ACTOR,
      from: ['acquired', 'backing_up'],
      reason: `the data acquired was replaced or changed on the instrument before any copy was made (${err.message}); ${now} and backed up under that record; the bytes this record acquired were never copied${kept ? `; the copy of the other data this attempt made was moved aside to ${kept}` : ''}${stray ? `; ${dest} holds a copy that does not match what was acquired and is not recorded` : ''}`,
      data: { code: SOURCE_REPLACED, problems: err.problems.slice(0, 20), newer: newer?.id ?? null, kept },
    });
    if (moved) {
      await tx.exec(
        `update files set instrument_copy = 'missing', current_path = null
         where id = $1 and instrument_copy = 'present'`,
        [file.id],
      );
    }
  });
  log.warn({ problems: err.problems.slice(0, 5), kept }, 'source replaced before any copy; record lost');
  return undefined;
}

/**
 * Is the backup target usable (target.ts)? When it is not, the task is put back without counting an
 * attempt — a share unmounted for hours must not end a thousand files in `error` — and looks again
 * after a delay that doubles from 1 s up to `backup.target_recheck_seconds`. The file stays
 * `acquired` (its instrument copy untouched); its timeline says why once, the instrument shows it
 * (`backup_target_problem`), and the alert `backup_target_unavailable` fires. Returns false then.
 */
async function targetReady(
  ctx: TaskContext,
  config: Config,
  file: FileRow,
  log: TaskContext['log'],
): Promise<boolean> {
  const waits = Number(ctx.task.payload.targetWaits ?? 0);
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
    { ...ctx.task.payload, targetWaits: waits + 1 },
  );
  log.warn({ waits: waits + 1, retryInMs: delay, code: err.code }, err.message);
  return false;
}

export function backupHandler(deps: { config: Config }): TaskHandlerDef {
  return {
    kind: 'backup.copy',
    // A copy from a hung share is given up after this long without a chunk copied (engine/stall.ts).
    stallMs: deps.config.worker.stall_seconds * 1000,
    onTakenOver: noteTakeoverOnSubject,
    async run(ctx) {
      const file = await getFile(ctx.db, ctx.task.subject!);
      if (!file || !['acquired', 'backing_up'].includes(file.status)) {
        ctx.log.info(
          { fileId: ctx.task.subject, status: file?.status },
          'nothing to back up (file not waiting for a backup)',
        );
        return;
      }
      const inst = deps.config.instruments[file.instrument_id];
      const log = ctx.log.child({ fileId: file.id, instrument: file.instrument_id });
      // The right disk before anything reads or writes there (target.ts); else wait, uncounted.
      if (!(await targetReady(ctx, deps.config, file, log))) return;
      const dest = backupLocation(deps.config, file);
      const source = sourceSpec(file);
      // What the record stands for (acquired.ts): the source is checked against it before the
      // same-content check, before copying, and before the copy gets its final name.
      const acquired = acquiredOf(file);
      let result: CopyResult | undefined;
      const reading = `reading ${sourceLabel(source)}`;
      ctx.progress(reading);
      try {
        if (acquired) await listAcquired(source, acquired);
        // The same content as an earlier record's verified backup (only its modification time
        // changed): not copied again (duplicate.ts). An operator's overwrite always copies.
        const twin = ctx.task.payload.acceptOverwrite
          ? undefined
          : await earlierTwin(ctx.db, file, source, ctx.signal);
        if (twin) {
          await settleTwin(ctx, file, twin);
          log.info({ sameAs: twin.id }, 'same content as an earlier backup; not copied again');
          return;
        }
        await startBackup(ctx, file, dest, log);
        let lastLog = Date.now();
        result = await copyVerified({
          source,
          dest,
          algorithm: deps.config.backup.hash,
          signal: ctx.signal,
          accept: acquired ? (files) => checkAcquired(source, acquired, files) : undefined,
          // the share unmounted while copying: the temp is on the local disk below the mount
          // point; refused before its commit, so nothing is left there under the final name
          beforeCommit: async () => {
            const s = await checkBackupTarget(deps.config, ctx.db, { write: false });
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
        // copyVerified asked `accept` before its commit; checked again here on what it returns
        if (acquired) checkAcquired(source, acquired, result.manifest.entries);
        // Unmounted between the check before the commit and the commit: what landed is not on
        // the backup share (left there, not recorded; the window is one rename).
        const after = await checkBackupTarget(deps.config, ctx.db, { write: false });
        if (!after.ok) throw targetUnavailable(after);
      } catch (err) {
        if (!(err instanceof SourceReplaced) || !acquired) throw err;
        // result is set only when the check after the copy refused it: this attempt wrote dest
        const wrote = result !== undefined && !result.associated;
        const adopted = await settleReplaced(ctx, deps.config, file, inst, dest, acquired, err, wrote, log);
        if (!adopted) return;
        result = adopted;
      }
      const done = result;
      await ctx.complete(async (tx) => {
        await recordCopy(tx, file, dest, done, acquired);
        const reason = done.associated
          ? `associated existing backup at ${dest}, hash verified (${done.manifest.entries.length} file(s), ${done.manifest.algorithm}); not copied again`
          : `copied ${done.manifest.entries.length} file(s), ${done.bytes} bytes in ${done.seconds.toFixed(1)} s; read back and verified (${done.manifest.algorithm})`;
        await transition(tx, file.id, 'backed_up', {
          actor: ACTOR,
          from: ['backing_up'],
          reason,
          data: { location: dest },
        });
        const updated = await tx.one<FileRow>('select * from files where id = $1', [file.id]);
        const { keepStatus, outputExists } = ctx.task.payload as {
          keepStatus?: FileStatus;
          outputExists?: OutputExistsMode;
        };
        await afterBackup(tx, updated, inst, deps.config, { keepStatus, outputExists });
      });
      log.info({ dest, bytes: done.bytes, seconds: done.seconds, associated: done.associated }, 'backed up');
    },
    async onRetry(tx, task, err, retryInMs) {
      await addToTimeline(
        tx,
        task.subject!,
        ACTOR,
        `backup attempt ${task.attempts} failed: ${errorMessage(err)}; retrying in ${Math.round(retryInMs / 1000)} s`,
        {
          code: err instanceof SluiceError ? err.code : 'unknown',
        },
      );
    },
    async onFailed(tx, task, err) {
      const hint = err instanceof SluiceError && err.hint ? ` — ${err.hint}` : '';
      await transition(tx, task.subject!, 'error', {
        actor: ACTOR,
        from: ['acquired', 'backing_up'],
        reason: `backup failed: ${errorMessage(err)}${hint}`,
        data: { code: err instanceof SluiceError ? err.code : 'unknown', attempts: task.attempts },
      });
    },
  };
}
