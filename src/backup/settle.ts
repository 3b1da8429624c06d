/**
 * How a backup task ends other than with a copy of its own: a same-content twin (the record is
 * ignored; an earlier backup covers it) or a source replaced since its acquisition (an earlier
 * attempt's copy adopted, or the record `lost`). Used by backup-task.ts.
 */
import type { Config } from '../core/config/index.ts';
import { ownEntry } from '../core/own.ts';
import type { AcquiredFingerprint } from '../files/fingerprint.ts';
import { addToTimeline, transition } from '../files/lifecycle.ts';
import { type FileRow, newerNamesake, recordInstrumentCopyMissing } from '../files/repo.ts';
import { exists } from '../storage/fsutil.ts';
import { sourceSpec } from '../storage/raw-data.ts';
import type { Kind, KindContext } from '../tasks/catalogue.ts';
import { adoptableCopy, SOURCE_REPLACED, type SourceReplaced } from './acquired.ts';
import type { CopyResult } from './copy.ts';
import type { Twin } from './duplicate.ts';
import { moveAside, removeLeftovers } from './temp.ts';

const ACTOR = 'backup';

/** The context of a `backup.copy` task. */
export type BackupContext = KindContext<typeof Kind.backupCopy>;

/** A same-content twin: this record is ignored, the earlier one's backup covers it. */
export async function settleTwin(ctx: BackupContext, file: FileRow, twin: Twin): Promise<void> {
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

/** A source found replaced: what the attempt knows, and how it starts the backup (`backing_up`). */
export interface Replaced {
  config: Config;
  file: FileRow;
  dest: string;
  acquired: AcquiredFingerprint;
  err: SourceReplaced;
  /** This attempt wrote `dest` (the check after the copy refused it). */
  wrote: boolean;
  log: BackupContext['log'];
  start(): Promise<void>;
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
export async function settleReplaced(ctx: BackupContext, r: Replaced): Promise<CopyResult | undefined> {
  const { config, file, dest, acquired, err, wrote, log } = r;
  const inst = ownEntry(config.instruments, file.instrument_id);
  const source = sourceSpec(file);
  const algorithm = config.backup.hash;
  const started = performance.now();
  // not the copy an operator chose to overwrite (accept-overwrite, a corrupt backup retried)
  const earlier =
    ctx.payload.acceptOverwrite || wrote
      ? undefined
      : await adoptableCopy(source, dest, acquired, algorithm, ctx.signal);
  if (earlier) {
    await r.start();
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
    const newer = await newerNamesake(tx, file);
    const now = newer
      ? `what is there now is recorded as ${newer.id}`
      : `what is there now is recorded as new data by the next scan of ${inst?.watch ?? file.instrument_id}`;
    const moved = await transition(tx, file.id, 'lost', {
      actor: ACTOR,
      from: ['acquired', 'backing_up'],
      reason: `the data acquired was replaced or changed on the instrument before any copy was made (${err.message}); ${now} and backed up under that record; the bytes this record acquired were never copied${kept ? `; the copy of the other data this attempt made was moved aside to ${kept}` : ''}${stray ? `; ${dest} holds a copy that does not match what was acquired and is not recorded` : ''}`,
      data: { code: SOURCE_REPLACED, problems: err.problems.slice(0, 20), newer: newer?.id ?? null, kept },
    });
    if (moved) await recordInstrumentCopyMissing(tx, file.id);
  });
  log.warn({ problems: err.problems.slice(0, 5), kept }, 'source replaced before any copy; record lost');
  return undefined;
}
