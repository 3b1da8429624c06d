/**
 * Task `backup.batch` (pool `copy`, the instrument's tags): the verified copies of several small
 * files of one instrument (batch-plan.ts decides which), recorded in one transaction, then a
 * `backed_up` report per file to the flow — the same records `backup.copy` (backup-task.ts) writes,
 * for a fraction of the database work: one claim, one read of the records, one twin pre-check, one
 * target check before and after, one fsync per backup folder, the copy rows, manifests and
 * transitions written set-wise (files/batch-records.ts, `transitionMany`, each `backed_up` event with
 * its `location` as `backup.copy` writes it), one report to the flow for the batch (`backed_up_many`:
 * what follows, set-wise) and one commit for the whole batch. A file the flow would only move on to
 * `done_not_processed` (no processing applies: `deps.settledAtBackup`) goes there in its `backed_up`
 * row update, with both events, instead of a second update of the row in the same transaction.
 *
 * Kept per file: the acquired-fingerprint checks, the same-content (twin) check, the copy with its
 * fsync, read-back and member check (copyVerified), the target check before each rename. Each file's
 * steps run as two synchronous calls on one small-file thread the batch has to itself (taken from
 * the idle ones another batch left, small-files.ts `acquireSmallCopier`; copy-small.ts,
 * small-files.ts) rather than ~20 hand-offs through libuv's pool, its target check before the rename
 * included (`targetGuard`: the marker read there, target.ts's full check only when that fails).
 * COPY_LANES files go side by side, so their calls reach the thread together (`copyAll`).
 *
 * Anything other than a plain copy is handed to a `backup.copy` task of the file's own (enqueued in
 * the batch's final transaction, with a timeline note): a twin, a source replaced since acquisition,
 * a copy that failed, the target unusable. That task does what it always did (waits for the target,
 * retries, settles twins and replaced sources, ends in `error`). If the batch itself fails for good,
 * its files still waiting are handed over the same way (`onFailed`), so no file is left behind.
 *
 * Temps: the batch's files are written in one folder per destination folder, named by the task's id
 * (temp.ts `batchPartialDir`), instead of a partial folder per file: one mkdir and one removal per
 * batch. The batch removes its folders after its copies, before the folders' fsync.
 *
 * Crash points: nothing is recorded before the final transaction. Killed during the batch → the
 * lease expires, another attempt runs the whole batch again: it first removes the batch's temp
 * folders beside every file of the batch (what the killed attempt left), files already renamed into
 * place are found and associated after their content is re-hashed against the source (copy.ts step
 * 3); a file recorded meanwhile by someone else is skipped by its status. A batch failing for good
 * removes its temp folders while it hands its files over. Killed after
 * the renames but before the folder fsyncs → same (the retry syncs the folders before it records).
 * Files stay `acquired` (never announced `backing_up`) until the batch records them: a batch is a few
 * seconds of small copies, and a hung share stalls the task (`worker.stall_seconds`), which retries.
 * While it waits for a retry its files still waiting say why on their timelines (a failed or stalled
 * attempt, a takeover: batch-notes.ts). Not `backing_up` while a batch runs, by choice: one more
 * update of every row of every batch, on the path whose cost per file is intake's limit, and the
 * record is true without it (`acquired` with its backup task queued or running, as for a
 * `backup.copy` of under 1 s); what an operator needs when a batch does not finish is why.
 */
import { dirname, join } from 'node:path';
import type { Config } from '../core/config/index.ts';
import type { Tx } from '../core/db/db.ts';
import { errorMessage } from '../core/errors.ts';
import { inLanes } from '../core/lanes.ts';
import { ownEntry } from '../core/own.ts';
import type { TaskHandlerDef, TaskRow } from '../engine/types.ts';
import {
  namesWithBackedUpNamesakes,
  recordBatchBackups,
  recordBatchManifests,
} from '../files/batch-records.ts';
import { addToTimeline, transitionMany } from '../files/lifecycle.ts';
import { type FileRow, getFiles } from '../files/repo.ts';
import { fsyncDir } from '../storage/fsutil.ts';
import { backupLocation, sourceSpec } from '../storage/raw-data.ts';
import { defineHandler, enqueueTasks, Kind, type KindContext, parsePayload } from '../tasks/catalogue.ts';
import { acquiredOf, checkAcquired, fingerprintOfManifest, listAcquired } from './acquired.ts';
import { AWAITING_BACKUP, type BackupDeps, backedUpReason } from './backup-task.ts';
import { handOffNote, noteBatchRetry, noteBatchTakeover } from './batch-notes.ts';
import { type CopyResult, copyVerified } from './copy.ts';
import type { BatchTemps } from './copy-small.ts';
import { SMALL_FILE_BYTES } from './copy-tree.ts';
import { earlierTwin } from './duplicate.ts';
import { sourceLabel } from './manifest.ts';
import {
  acquireSmallCopier,
  releaseSmallCopier,
  type SmallFileCopier,
  type TargetGuard,
} from './small-files.ts';
import {
  checkBackupTarget,
  primaryPlace,
  recordTargetState,
  TARGET_MARKER,
  targetUnavailable,
} from './target.ts';
import { batchPartialDir, batchTempPrefix, removeBatchPartialDir } from './temp.ts';

const ACTOR = 'backup';

type Ctx = KindContext<typeof Kind.backupBatch>;

/** A file of the batch copied (or an identical copy associated), verified, not yet recorded. */
interface Copied {
  file: FileRow;
  dest: string;
  result: CopyResult;
}

/** A file the batch hands to a `backup.copy` task of its own, and why. */
interface HandOff {
  id: string;
  why: string;
}

/** `backup.copy` tasks for the files handed over, with their timeline notes (in `tx`). */
async function handOff(tx: Tx, config: Config, instrument: string, files: HandOff[]): Promise<void> {
  if (files.length === 0) return;
  const tags = ownEntry(config.instruments, instrument)?.tags;
  for (const f of files) await addToTimeline(tx, f.id, ACTOR, handOffNote(f.why));
  await enqueueTasks(
    tx,
    Kind.backupCopy,
    files.map((f) => ({ subject: f.id, payload: {}, opts: { tags } })),
  );
}

/**
 * One file's verified copy, as `backup.copy` makes it (backup-task.ts `copyChecked`), with the
 * parent's fsync left to the batch (`parents`). `undefined`: a same-content twin (handed over, the
 * file's own task settles it). Throws what the copy throws, `SourceReplaced` included.
 */
async function copyOne(
  ctx: Ctx,
  config: Config,
  file: FileRow,
  b: {
    parents: Set<string>;
    namesakes: Set<string>;
    copier: SmallFileCopier;
    guard: TargetGuard;
    temps: BatchTemps;
  },
): Promise<Copied | undefined> {
  const source = sourceSpec(file);
  const acquired = acquiredOf(file);
  const dest = backupLocation(config, file);
  // asked only for a name with an earlier backed-up record (one statement for the batch found them)
  const twinCheck = b.namesakes.has(file.name);
  // The twin check reads the source: it must be what was acquired first. Without it, a single file's
  // listing is checked by copyVerified's `accept` (the same check on the same listing) before
  // anything is written: listing it here too cost a second lstat per file.
  if (acquired && (twinCheck || source.kind !== 'file')) await listAcquired(source, acquired);
  if (twinCheck && (await earlierTwin(ctx.db, file, source, ctx.signal))) return undefined;
  const result = await copyVerified({
    source,
    dest,
    algorithm: config.backup.hash,
    signal: ctx.signal,
    accept: acquired ? (files) => checkAcquired(source, acquired, files) : undefined,
    beforeCommit: async () => {
      const s = await checkBackupTarget(config, ctx.db, { write: false });
      if (!s.ok) throw targetUnavailable(s);
    },
    commitGuard: b.guard,
    deferParentSync: (parent) => b.parents.add(parent),
    smallCopier: b.copier,
    batchTemps: b.temps,
    onProgress: () => ctx.progress(),
  });
  if (acquired) checkAcquired(source, acquired, result.manifest.entries);
  b.parents.add(dirname(dest)); // an associated copy too: its name may not be durable yet (a killed attempt)
  return { file, dest, result };
}

/**
 * Files of a batch copied side by side. Their calls on the batch's thread made in the same turn go
 * to it as one message (thread-calls.ts `coalesce`): with COPY_LANES files in step, a thread round
 * trip (two wake-ups, ~20-90 µs of CPU on this 2-core machine) serves that many files' `whole` or
 * `commit` instead of one. The thread still makes each file's calls one after the other, in order.
 * Main-thread CPU per file in a micro-benchmark (whole + commit): 1 lane 127 µs, 4 lanes 47-50,
 * 8 lanes 33-40, 16 lanes 27-30.
 */
const COPY_LANES = 8;

/**
 * Copy every file (COPY_LANES at once, each file's steps in order); what could not be copied is
 * returned to hand over. Both lists keep the files' order.
 */
async function copyAll(
  ctx: Ctx,
  config: Config,
  files: FileRow[],
  b: { parents: Set<string>; temps: BatchTemps },
) {
  const { parents, temps } = b;
  const names = files.map((f) => f.name);
  const namesakes = await namesWithBackedUpNamesakes(ctx.db, ctx.payload.instrument, names);
  const outcomes: ({ copied: Copied } | { handed: HandOff })[] = new Array(files.length);
  const copier = acquireSmallCopier(copierBufferBytes(files));
  const guard = targetGuard(config);
  const order = files.map((_, i) => i);
  try {
    // every lane settles before this returns or throws (core/lanes.ts), the first error (a stop or
    // stall) after the others' current file
    await inLanes(order, COPY_LANES, async (i) => {
      const file = files[i]!;
      ctx.progress(`reading ${sourceLabel(sourceSpec(file))}`);
      try {
        const c = await copyOne(ctx, config, file, { parents, namesakes, copier, guard, temps });
        outcomes[i] = c
          ? { copied: c }
          : { handed: { id: file.id, why: 'an earlier record may hold the same content' } };
      } catch (err) {
        if (ctx.signal.aborted) throw err; // stopped or stalled: the batch is retried as a whole
        outcomes[i] = { handed: { id: file.id, why: errorMessage(err) } };
      }
    });
  } finally {
    releaseSmallCopier(copier); // every copy above settled: nothing of it is still on the thread
  }
  const copied = outcomes.flatMap((o) => ('copied' in o ? [o.copied] : []));
  const handed = outcomes.flatMap((o) => ('handed' in o ? [o.handed] : []));
  return { copied, handed };
}

/** The batch's temp folders (temp.ts `batchPartialDir`), named by its task's id. */
function batchTemps(task: string): BatchTemps {
  return {
    dir: (parent) => batchPartialDir(parent, task),
    made: new Set(),
    touched: new Set(),
    prefix: batchTempPrefix(),
    named: 0,
  };
}

/**
 * Remove batch `task`'s temp folders beside these files' destinations: what a killed attempt of it
 * left (temps, or a second name of a copy renamed into place). One `lstat` per folder when none is
 * there.
 */
async function sweepBatchTemps(config: Config, task: string, files: readonly FileRow[]): Promise<void> {
  const parents = new Set(files.map((f) => dirname(backupLocation(config, f))));
  for (const p of parents) await removeBatchPartialDir(batchPartialDir(p, task));
}

/**
 * The sweep where the batch does not copy (nothing waiting, the target unavailable, the batch failed
 * for good): a failure is logged, not thrown; nothing in those folders is ever taken for a copy.
 */
async function sweepQuietly(
  config: Config,
  task: string,
  files: readonly FileRow[],
  warn: (obj: object, msg: string) => void,
): Promise<void> {
  await sweepBatchTemps(config, task, files).catch((err) =>
    warn({ err: errorMessage(err) }, "could not remove the batch's temp folders; remove them by hand"),
  );
}

/**
 * The target check before each file's commit, made on the batch's thread (copy-small.ts): the
 * primary target's marker names this instance, and its root is a mount point when
 * `backup.require_mount` asks for one — target.ts's answer whenever the marker is there; any other
 * case runs target.ts's full check (`beforeCommit`).
 */
export function targetGuard(config: Config): TargetGuard {
  const place = primaryPlace(config);
  return {
    marker: join(place.root, TARGET_MARKER),
    instance: config.instance.name,
    ...(place.requireMount ? { mountRoot: place.root } : {}),
  };
}

/**
 * The batch's small-file thread's buffer: the largest file as recorded plus one byte (one read per
 * file; a file grown since is read in several), at least 64 KiB, at most SMALL_FILE_BYTES + 1.
 */
export function copierBufferBytes(files: readonly Pick<FileRow, 'size_bytes'>[]): number {
  const largest = files.reduce((m, f) => Math.max(m, Number(f.size_bytes) || 0), 0);
  return Math.min(Math.max(largest + 1, 64 * 1024), SMALL_FILE_BYTES + 1);
}

/**
 * The verified copies recorded and reported, as `backup.copy` records one (in the batch's
 * transaction), set-wise: the copy rows, then the `backed_up` transitions with the manifests (each
 * row updated once), in a few statements for the batch; then the flow's report of the files that
 * moved (a file someone else moved meanwhile was reported by them; its copy row and manifest are
 * still true).
 */
async function recordAll(tx: Tx, deps: BackupDeps, copied: Copied[]): Promise<void> {
  const backups = copied.map((c) => ({
    fileId: c.file.id,
    location: c.dest,
    manifest: c.result.manifest,
    seconds: c.result.seconds,
    associated: c.result.associated,
    fingerprint: acquiredOf(c.file) ? null : fingerprintOfManifest(c.result.manifest),
  }));
  await recordBatchBackups(tx, backups);
  const moved = await transitionMany(
    tx,
    copied.map((c) => c.file.id),
    'backed_up',
    {
      actor: ACTOR,
      from: ['acquired', 'backing_up'],
      reason: copied.map((c) => backedUpReason(c.result, c.dest)),
      data: copied.map((c) => ({ location: c.dest })),
      // the manifests in the transition's row update (one update of each row, not two)
      backedUp: backups.map((b) => ({ manifest: b.manifest, fingerprint: b.fingerprint })),
      // and, where the flow would only move it on (no processing), its next status too
      next: copied.map((c) => deps.settledAtBackup?.(c.file) ?? null),
    },
  );
  const movedIds = new Set(moved);
  await recordBatchManifests(
    tx,
    backups.filter((b) => !movedIds.has(b.fileId)), // moved by someone else meanwhile: recorded all the same
  );
  if (moved.length > 0) await deps.report(tx, { kind: 'backed_up_many', files: await getFiles(tx, moved) });
}

async function runBatch(ctx: Ctx, deps: BackupDeps): Promise<void> {
  const { config } = deps;
  const { instrument, files: ids } = ctx.payload;
  const log = ctx.log.child({ instrument, files: ids.length });
  const task = String(ctx.task.id);
  const rows = await getFiles(ctx.db, ids);
  const files = rows.filter((f) => AWAITING_BACKUP.includes(f.status));
  if (files.length === 0) {
    await sweepQuietly(config, task, rows, (o, m) => log.warn(o, m));
    log.info('nothing to back up (no file of the batch is waiting for a backup)');
    return;
  }
  const s = await checkBackupTarget(config, ctx.db, { write: true });
  if (!s.ok) {
    // each file's own task waits for the target (uncounted, with backoff) and says so on its timeline
    const why = `backup target unavailable: ${s.reason}`;
    await sweepQuietly(config, task, rows, (o, m) => log.warn(o, m));
    await ctx.complete((tx) =>
      handOff(
        tx,
        config,
        instrument,
        files.map((f) => ({ id: f.id, why })),
      ),
    );
    log.warn({ reason: s.reason }, 'backup target unavailable; files handed to tasks of their own');
    return;
  }
  if (s.wrote) log.warn({ root: s.root }, s.wrote);
  await recordTargetState(ctx.db, instrument, null);
  await sweepBatchTemps(config, task, rows); // what a killed attempt of this batch left
  const parents = new Set<string>();
  const temps = batchTemps(task);
  const { copied, handed } = await copyAll(ctx, config, files, { parents, temps });
  for (const d of temps.touched) {
    await removeBatchPartialDir(d); // every temp in it committed or removed
    parents.add(dirname(d)); // the removal durable too
  }
  // Unmounted during the batch: what landed is not on the share; nothing of it is recorded.
  const after = await checkBackupTarget(config, ctx.db, { write: false });
  if (!after.ok) {
    const why = `backup target unavailable: ${after.reason}`;
    handed.push(...copied.splice(0).map((c) => ({ id: c.file.id, why })));
  }
  ctx.progress(`syncing ${parents.size} backup folder(s)`);
  for (const p of parents) await fsyncDir(p); // the new names (and the removals) durable before any is recorded
  await ctx.complete(async (tx) => {
    await recordAll(tx, deps, copied);
    await handOff(tx, config, instrument, handed);
  });
  const bytes = copied.reduce((n, c) => n + c.result.bytes, 0);
  log.info({ backedUp: copied.length, handedOver: handed.length, bytes }, 'batch backed up');
}

/** The batch failed for good: its files still waiting get tasks of their own (nothing left behind). */
async function failBatch(tx: Tx, task: TaskRow, err: unknown, config: Config): Promise<void> {
  const { instrument, files: ids } = parsePayload(Kind.backupBatch, task.payload);
  const rows = await getFiles(tx, ids);
  const waiting = rows.filter((f) => AWAITING_BACKUP.includes(f.status));
  await sweepQuietly(config, String(task.id), rows, () => {}); // the files' own tasks never look there
  const why = `the batch failed after ${task.attempts} attempt(s): ${errorMessage(err)}`;
  await handOff(
    tx,
    config,
    instrument,
    waiting.map((f) => ({ id: f.id, why })),
  );
}

export function batchHandler(deps: BackupDeps): TaskHandlerDef {
  return defineHandler(Kind.backupBatch, {
    stallMs: deps.config.worker.stall_seconds * 1000,
    onRetry: noteBatchRetry,
    onTakenOver: noteBatchTakeover,
    onFailed: (tx, task, err) => failBatch(tx, task, err, deps.config),
    run: (ctx) => runBatch(ctx, deps),
  });
}
