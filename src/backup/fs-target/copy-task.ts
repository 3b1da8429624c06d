/**
 * Task `backup.fs_copy` (pool `copy.<target>`, subject: the file id, payload: the target's name): the
 * verified copy of one file to a filesystem target of `backup.targets` (a second disk or share),
 * made FROM THE VERIFIED PRIMARY COPY (`backup.path`) after the flow saw `backed_up`
 * (src/pipeline/flow.ts) or the target's upkeep found it missing (upkeep.ts).
 *
 * The copy is `copyVerified` (copy.ts) as for the primary: written to a temp name, fsynced, read back,
 * its hashes compared with those recorded with the primary copy (`expected`), then renamed into
 * `<target path>/<backup.layout>`. The copy row (target = the target's name) is written in the
 * transaction that completes the task. A primary copy that no longer matches its recorded hashes is
 * not copied (`backup.source_changed`: the fixity audit's business), nothing recorded.
 *
 * The target is checked like the primary (backup/target.ts, a `TargetPlace` of its own): unmounted
 * with `require_mount`, or a folder without this instance's marker that lacks copies recorded there →
 * the task waits (not an attempt; 1 s doubling up to `backup.target_recheck_seconds`), its timeline
 * says why once, the other targets go on; the remover keeps the instrument copy while
 * `cleanup.require` names the target.
 *
 * A differing file already at the target's path is never overwritten (`backup.target_differs`, for
 * good) unless the operator accepted overwriting the primary backup (payload `acceptOverwrite`) or the
 * copy there is this target's copy marked `corrupt`: then it is moved aside first, as the primary's was. Crash points: killed mid-copy → the lease expires,
 * the next attempt sweeps the temp and copies again; killed after the rename, before the row → the
 * next attempt finds an identical copy and associates it (hashes read back), without copying.
 */
import type { Config } from '../../core/config/index.ts';
import { type FsTargetConfig, fsTargets } from '../../core/config/schema/backup-targets.ts';
import type { Tx } from '../../core/db/db.ts';
import { errorMessage, PermanentError, SluiceError } from '../../core/errors.ts';
import { backoffMs } from '../../engine/backoff.ts';
import type { TaskHandlerDef, TaskRow } from '../../engine/types.ts';
import { insertVerifiedCopy, retireVerifiedCopies } from '../../files/copies.ts';
import { addToTimeline } from '../../files/lifecycle.ts';
import { type CopyRow, type FileRow, getFile, latestCorruptBackup, verifiedCopy } from '../../files/repo.ts';
import { noteTakeoverOnSubject } from '../../files/takeover.ts';
import { exists } from '../../storage/fsutil.ts';
import { defineHandler, Kind, type KindContext, type Payload } from '../../tasks/catalogue.ts';
import { type CopyResult, copyVerified } from '../copy.ts';
import type { SourceSpec } from '../manifest.ts';
import { sameContent } from '../s3/copy-task.ts';
import { checkBackupTarget, targetUnavailable } from '../target.ts';
import { moveAside } from '../temp.ts';
import { fsTargetLocation, fsTargetPlace } from './place.ts';

const ACTOR = 'backup';

/** The filesystem target of this name in the config (undefined: removed from the config since). */
export function fsTarget(config: Config, name: string): FsTargetConfig | undefined {
  return fsTargets(config.backup.targets).find((t) => t.name === name);
}

/** What to read: the verified primary copy, as the source of the copy. */
export function primarySource(
  file: Pick<FileRow, 'kind'>,
  primary: Pick<CopyRow, 'location' | 'manifest'>,
): SourceSpec {
  return file.kind === 'files'
    ? { kind: 'files', dir: primary.location, names: primary.manifest.entries.map((e) => e.rel) }
    : { kind: file.kind, path: primary.location };
}

type Ctx = KindContext<typeof Kind.backupFsCopy>;

/** Is the target usable? When not, the task waits (not an attempt) and false is returned. */
async function targetReady(ctx: Ctx, config: Config, t: FsTargetConfig, file: FileRow): Promise<boolean> {
  const waits = ctx.payload.targetWaits ?? 0;
  const s = await checkBackupTarget(config, ctx.db, { write: true, place: fsTargetPlace(t) });
  if (s.ok) {
    if (s.wrote) ctx.log.warn({ root: s.root, target: t.name }, s.wrote);
    if (waits > 0) {
      await ctx.db.tx(async (tx) => {
        await ctx.remember({ targetWaits: 0 }, tx);
        await addToTimeline(
          tx,
          file.id,
          ACTOR,
          `backup target ${t.name} is usable again (${s.root}): copying`,
          {
            target: t.name,
          },
        );
      });
    }
    return true;
  }
  const err = targetUnavailable(s);
  const delay = backoffMs(waits + 1, 1000, config.backup.target_recheck_seconds * 1000);
  await ctx.again(
    delay,
    async (tx) => {
      if (waits > 0) return;
      await addToTimeline(
        tx,
        file.id,
        ACTOR,
        `copy to backup target ${t.name} waiting: ${err.message} — ${err.hint}`,
        { code: err.code, target: t.name },
      );
    },
    { ...ctx.payload, targetWaits: waits + 1 },
  );
  ctx.log.warn({ target: t.name, waits: waits + 1, retryInMs: delay, code: err.code }, err.message);
  return false;
}

/**
 * What is at `dest` moved aside (once): after an accepted overwrite (a differing copy), or when the
 * target's copy there was marked `corrupt` (fixity, the remover): kept, it would stop every attempt
 * as a differing copy; its content is on the verified primary copy.
 */
async function moveDifferingAside(ctx: Ctx, t: FsTargetConfig, file: FileRow, dest: string): Promise<void> {
  if (ctx.payload.movedAside || !(await exists(dest))) return;
  const damaged = (await latestCorruptBackup(ctx.db, file.id, t.name))?.location === dest;
  if (!ctx.payload.acceptOverwrite && !damaged) return;
  const kept = await moveAside(dest);
  await ctx.db.tx(async (tx) => {
    await retireVerifiedCopies(tx, file.id, t.name);
    await ctx.remember({ movedAside: true }, tx);
    await addToTimeline(
      tx,
      file.id,
      ACTOR,
      damaged
        ? `the damaged copy on backup target ${t.name} was moved aside to ${kept}; copying again from the primary copy`
        : `the differing copy on backup target ${t.name} was moved aside to ${kept} (operator accepted the overwrite)`,
      { kept, target: t.name },
    );
  });
}

/** `copyVerified` from the primary copy, checked against its recorded hashes and the target before the commit. */
async function copyFromPrimary(
  ctx: Ctx,
  config: Config,
  t: FsTargetConfig,
  primary: CopyRow,
  source: SourceSpec,
  dest: string,
): Promise<CopyResult> {
  return copyVerified({
    source,
    dest,
    algorithm: primary.manifest.algorithm,
    expected: primary.manifest,
    signal: ctx.signal,
    beforeCommit: async () => {
      const s = await checkBackupTarget(config, ctx.db, { write: false, place: fsTargetPlace(t) });
      if (!s.ok) throw targetUnavailable(s);
    },
    onPhase: (phase) =>
      ctx.progress(
        `${phase === 'copy' ? 'copying to' : phase === 'verify' ? 'reading back' : 'committing'} ${dest}`,
      ),
    onProgress: () => ctx.progress(),
  }).catch((err: unknown) => {
    // the primary's hint (accept-overwrite of a file in error) does not fit a target's copy
    if (!(err instanceof SluiceError) || err.code !== 'backup.target_differs') throw err;
    throw new PermanentError(
      err.code,
      err.message.replace('the existing backup at', `the file already on backup target ${t.name} at`),
      `inspect it; move it away (or delete it if it is not needed), then the target's upkeep copies ${primary.file_id} again`,
    );
  });
}

async function failed(tx: Tx, task: TaskRow, err: unknown): Promise<void> {
  const target = (task.payload as Payload<typeof Kind.backupFsCopy>).target ?? '?';
  const hint = err instanceof SluiceError && err.hint ? ` — ${err.hint}` : '';
  await addToTimeline(
    tx,
    task.subject!,
    ACTOR,
    `copy to backup target ${target} failed: ${errorMessage(err)}${hint}`,
    {
      code: err instanceof SluiceError ? err.code : 'unknown',
      target,
    },
  );
}

export function fsCopyHandler(deps: { config: Config }): TaskHandlerDef {
  return defineHandler(Kind.backupFsCopy, {
    stallMs: deps.config.worker.stall_seconds * 1000,
    onTakenOver: noteTakeoverOnSubject,
    onFailed: failed,
    async run(ctx) {
      const t = fsTarget(deps.config, ctx.payload.target);
      const file = await getFile(ctx.db, ctx.task.subject!);
      const primary = file && (await verifiedCopy(ctx.db, file.id, 'backup'));
      if (!t || !file || !primary) {
        ctx.log.info(
          { fileId: ctx.task.subject, target: ctx.payload.target },
          'nothing to copy to the target (target, file or its verified primary copy gone)',
        );
        return;
      }
      const now = await verifiedCopy(ctx.db, file.id, t.name);
      if (now && sameContent(now.manifest, primary.manifest)) return;
      if (!(await targetReady(ctx, deps.config, t, file))) return;
      const dest = fsTargetLocation(deps.config, t, file);
      await moveDifferingAside(ctx, t, file, dest);
      const done = await copyFromPrimary(ctx, deps.config, t, primary, primarySource(file, primary), dest);
      await ctx.complete(async (tx) => {
        await retireVerifiedCopies(tx, file.id, t.name);
        await insertVerifiedCopy(tx, file.id, t.name, dest, done.manifest, done.seconds, done.associated);
        await addToTimeline(
          tx,
          file.id,
          ACTOR,
          done.associated
            ? `backup target ${t.name}: an identical copy at ${dest} associated, hashes read back and verified (${done.manifest.algorithm}); not copied again`
            : `copied to backup target ${t.name} (${dest}) from the primary copy: ${done.manifest.entries.length} file(s), ${done.bytes} bytes in ${done.seconds.toFixed(1)} s; read back and verified (${done.manifest.algorithm})`,
          { target: t.name, location: dest },
        );
      });
      ctx.log.info(
        { fileId: file.id, target: t.name, dest, seconds: done.seconds },
        'copied to filesystem target',
      );
    },
  });
}
