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
import type { OutputExistsMode } from '../core/variables.ts';
import { enqueue } from '../engine/enqueue.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { type FileStatus, note, transition } from '../files/lifecycle.ts';
import { type FileRow, getFile } from '../files/repo.ts';
import { noteTakeoverOnSubject } from '../files/takeover.ts';
import { type PlanOptions, planProcessing } from '../process/jobs.ts';
import { copyVerified } from './copy.ts';
import { earlierTwin } from './duplicate.ts';
import type { SourceSpec } from './manifest.ts';
import { moveAside } from './temp.ts';

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
  const root = config.backup.path ?? path.join(config.data_dir, 'backup');
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
    await note(tx, file.id, ACTOR, `not moved to the instrument's Backup folder: ${FALLBACK_KEEPS_DATA}`);
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

export function backupHandler(deps: { config: Config }): TaskHandlerDef {
  return {
    kind: 'backup.copy',
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
      const dest = backupLocation(deps.config, file);
      const source = sourceSpec(file);
      // The same content as an earlier record's verified backup (only its modification time
      // changed): not copied again (duplicate.ts). An operator's overwrite always copies.
      const twin = ctx.task.payload.acceptOverwrite
        ? undefined
        : await earlierTwin(ctx.db, file, source, ctx.signal);
      if (twin) {
        await ctx.complete(async (tx) => {
          const moved = await transition(tx, file.id, 'ignored', {
            actor: ACTOR,
            from: ['acquired', 'backing_up'],
            reason: `same content as ${twin.id}, whose verified backup at ${twin.location} holds every file with the same hash (only the modification time changed): not backed up again`,
            data: { sameAs: twin.id, location: twin.location },
          });
          if (moved) {
            await note(
              tx,
              twin.id,
              ACTOR,
              `seen again as ${file.id} with the same content (its modification time changed); that record is ignored, this backup covers it`,
              { duplicate: file.id },
            );
          }
        });
        log.info({ sameAs: twin.id }, 'same content as an earlier backup; not copied again');
        return;
      }
      if (file.status === 'acquired') {
        await ctx.db.tx((tx) =>
          transition(tx, file.id, 'backing_up', {
            actor: ACTOR,
            from: ['acquired'],
            reason: `copying to ${dest}`,
          }),
        );
      }
      if (ctx.task.payload.acceptOverwrite && !ctx.task.payload.movedAside) {
        const { existsSync } = await import('node:fs');
        if (existsSync(dest)) {
          const kept = await moveAside(dest);
          const corrupt = ctx.task.payload.replacing === 'corrupt';
          await ctx.db.tx(async (tx) => {
            await tx.exec(
              `update copies set state = 'replaced' where file_id = $1 and target = 'backup' and state = 'verified'`,
              [file.id],
            );
            // a later attempt of this task finds the new copy at dest, and associates it
            await ctx.remember({ movedAside: true }, tx);
            await note(
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
      }
      let lastLog = Date.now();
      const result = await copyVerified({
        source,
        dest,
        algorithm: deps.config.backup.hash,
        signal: ctx.signal,
        onProgress: (done, total) => {
          if (Date.now() - lastLog > 10_000) {
            lastLog = Date.now();
            log.info({ done, total }, 'copying');
          }
        },
      });
      await ctx.complete(async (tx) => {
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
          'update files set manifest = $2::jsonb, hash_algorithm = $3, size_bytes = $4 where id = $1',
          [file.id, JSON.stringify(result.manifest), result.manifest.algorithm, result.manifest.totalBytes],
        );
        const reason = result.associated
          ? `associated existing backup at ${dest}, hash verified (${result.manifest.entries.length} file(s), ${result.manifest.algorithm}); not copied again`
          : `copied ${result.manifest.entries.length} file(s), ${result.bytes} bytes in ${result.seconds.toFixed(1)} s; read back and verified (${result.manifest.algorithm})`;
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
      log.info(
        { dest, bytes: result.bytes, seconds: result.seconds, associated: result.associated },
        'backed up',
      );
    },
    async onRetry(tx, task, err, retryInMs) {
      await note(
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
