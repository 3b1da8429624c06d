/**
 * Task `cleanup.move`: after a verified backup, move the instrument copy into the `Backup` subfolder
 * of the watch folder (as AlphaKraken does), so the acquisition folder only shows new data. A rename
 * on the same filesystem: nothing is copied. Never replaces an existing entry in `Backup/`.
 *
 * Crash points: the suffix chosen for the set is recorded in the task first; each entry (main file,
 * companions) is then renamed on its own, never over an existing entry. A kill between them leaves
 * some moved, and the retry moves the rest under the same suffix (an entry already at its target
 * with the source gone counts as moved). The database learns the new place in the transaction that
 * completes the task.
 */
import path from 'node:path';
import type { Config } from '../core/config/index.ts';
import { PermanentError } from '../core/errors.ts';
import { FALLBACK_KEEPS_DATA, isFallback } from '../core/instance.ts';
import { fitName, pathToText } from '../core/names.ts';
import { ownEntry } from '../core/own.ts';
import { existsSync, mkdir } from '../core/text-fs.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { addToTimeline, BACKED_UP } from '../files/lifecycle.ts';
import { getFile, recordInstrumentCopyMoved } from '../files/repo.ts';
import { noteTakeoverOnSubject } from '../files/takeover.ts';
import { BACKUP_FOLDER } from '../intake/instrument-types.ts';
import { DestinationExists, renameNoReplace } from '../storage/rename.ts';
import { defineHandler, Kind } from '../tasks/catalogue.ts';

const ACTOR = 'cleanup';

/** The name of `name` in Backup/ with `suffix` (`.2` ...), kept within 255 bytes (a name may be 255 already). */
const moved = (name: string, suffix: string) => fitName(name + suffix);

export function moveHandler(deps: { config: Config }): TaskHandlerDef {
  return defineHandler(Kind.cleanupMove, {
    onTakenOver: noteTakeoverOnSubject,
    async run(ctx) {
      if (isFallback(deps.config)) {
        ctx.log.warn({ fileId: ctx.task.subject }, `move skipped: ${FALLBACK_KEEPS_DATA}`);
        return;
      }
      const file = await getFile(ctx.db, ctx.task.subject!);
      if (file?.instrument_copy !== 'present' || !file.current_path) return;
      if (!BACKED_UP.includes(file.status)) {
        throw new PermanentError(
          'cleanup.not_backed_up',
          `file ${file.id} has no verified backup (status ${file.status}); not moved`,
        );
      }
      const inst = ownEntry(deps.config.instruments, file.instrument_id);
      if (!inst) return;
      const srcDir = path.dirname(file.current_path);
      const destDir = path.join(pathToText(inst.watch), BACKUP_FOLDER); // text paths (core/names.ts)
      await mkdir(destDir, { recursive: true });
      const names = [path.basename(file.current_path), ...(file.kind === 'files' ? file.companions : [])];
      // One suffix for the whole set, so companions stay together. It is recorded in the task before
      // the first rename: a later attempt uses the same one, and never takes an entry another record
      // left in Backup/ for one this record moved.
      let suffix = ctx.payload.suffix;
      if (suffix === undefined) {
        let free = '';
        for (let i = 2; names.some((n) => existsSync(path.join(destDir, moved(n, free)))); i++)
          free = `.${i}`;
        suffix = free;
        await ctx.remember({ suffix });
      }
      for (const n of names) {
        const from = path.join(srcDir, n);
        const to = path.join(destDir, moved(n, suffix));
        if (!existsSync(from) && existsSync(to)) continue; // moved by an earlier attempt
        try {
          await renameNoReplace(from, to);
        } catch (err) {
          if (!(err instanceof DestinationExists)) throw err;
          throw new PermanentError(
            'cleanup.move_target_taken',
            `cannot move ${from} to ${to}: something else appeared there meanwhile; nothing was replaced`,
            'look at both; the instrument copy stays where it is (the remover can still free it)',
          );
        }
      }
      const newPath = path.join(destDir, moved(names[0]!, suffix));
      await ctx.complete(async (tx) => {
        await recordInstrumentCopyMoved(tx, file.id, newPath);
        await addToTimeline(tx, file.id, ACTOR, `instrument copy moved to ${newPath}`, {
          from: file.current_path,
          to: newPath,
        });
      });
    },
  });
}
