/**
 * Task `cleanup.move`: after a verified backup, move the instrument copy into the `Backup` subfolder
 * of the watch folder (as AlphaKraken does), so the acquisition folder only shows new data. A rename
 * on the same filesystem: nothing is copied. Never replaces an existing entry in `Backup/`.
 *
 * Crash points: each entry (main file, companions) is renamed on its own; a kill between them leaves
 * some moved, and the retry moves the rest (entries already in `Backup/` with the source gone count
 * as moved). The database learns the new place in the transaction that completes the task.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../core/config/index.ts';
import { PermanentError } from '../core/errors.ts';
import { FALLBACK_KEEPS_DATA, isFallback } from '../core/instance.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { BACKED_UP, note } from '../files/lifecycle.ts';
import { getFile } from '../files/repo.ts';
import { BACKUP_FOLDER } from '../intake/instrument-types.ts';

const ACTOR = 'cleanup';

export function moveHandler(deps: { config: Config }): TaskHandlerDef {
  return {
    kind: 'cleanup.move',
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
      const inst = deps.config.instruments[file.instrument_id];
      if (!inst) return;
      const srcDir = path.dirname(file.current_path);
      const destDir = path.join(inst.watch, BACKUP_FOLDER);
      await mkdir(destDir, { recursive: true });
      const names = [path.basename(file.current_path), ...(file.kind === 'files' ? file.companions : [])];
      // Pick one suffix for the whole set so companions stay together.
      let suffix = '';
      for (
        let i = 2;
        names.some((n) => existsSync(path.join(destDir, n + suffix)) && existsSync(path.join(srcDir, n)));
        i++
      ) {
        suffix = `.${i}`;
      }
      for (const n of names) {
        const from = path.join(srcDir, n);
        const to = path.join(destDir, n + suffix);
        if (!existsSync(from) && existsSync(to)) continue; // moved by an earlier attempt
        await rename(from, to);
      }
      const newPath = path.join(destDir, names[0]! + suffix);
      await ctx.complete(async (tx) => {
        await tx.exec(
          `update files set current_path = $2, instrument_copy = 'moved', updated_at = now() where id = $1`,
          [file.id, newPath],
        );
        await note(tx, file.id, ACTOR, `instrument copy moved to ${newPath}`, {
          from: file.current_path,
          to: newPath,
        });
      });
    },
  };
}
