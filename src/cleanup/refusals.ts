/**
 * How the remover records a copy it keeps: a file-system error, an instrument copy that differs from
 * its backup, a backup not proven from storage, a backup that no longer verifies (marked `corrupt`).
 * Each goes into the pass's report and onto the file's timeline.
 */

import type { Db } from '../core/db/db.ts';
import type { Logger } from '../core/log.ts';
import { markCopyCorrupt } from '../files/copies.ts';
import { addToTimeline } from '../files/lifecycle.ts';
import { errnoCode } from '../storage/fsutil.ts';
import type { RemoverReport } from './remove.ts';
import type { BackupCheck, Row } from './remove-copy.ts';
import { type FailureKind, failureHint, failureKind } from './remover-rules.ts';

const ACTOR = 'remover';

/**
 * A file-system error while moving or deleting: recorded on the file (the copy stays where it is, the
 * next pass tries again). Returns what kind of error it was: a read-only file system or missing
 * permissions stop the pass when they repeat.
 */
export async function failed(
  db: Db,
  f: Row,
  err: unknown,
  report: RemoverReport,
  log: Logger,
): Promise<FailureKind> {
  const code = errnoCode(err);
  const kind = failureKind(code);
  const message = err instanceof Error ? err.message : String(err);
  const hint = failureHint(kind);
  report.refused.push({ id: f.id, problems: [message] });
  log.error({ fileId: f.id, err: message }, 'instrument copy not removed');
  await db.tx((tx) =>
    addToTimeline(tx, f.id, ACTOR, `not removed from the instrument: ${message} — ${hint}`, {
      code: code ?? 'unknown',
    }),
  );
  return kind;
}

/** An instrument copy that is not what was backed up: kept, and the timeline says why. */
export async function refuseDiffering(
  db: Db,
  f: Row,
  problems: string[],
  report: RemoverReport,
): Promise<void> {
  report.refused.push({ id: f.id, problems });
  await db.tx((tx) =>
    addToTimeline(
      tx,
      f.id,
      ACTOR,
      `not removed: the instrument copy differs from the backed-up content: ${problems.slice(0, 3).join('; ')}`,
      { problems },
    ),
  );
}

/** A backup check that failed: damaged (`refuseBadBackup`), or not proven (kept, and noted why). */
export async function refuseBackup(
  db: Db,
  f: Row,
  check: Extract<BackupCheck, { ok: false }>,
  report: RemoverReport,
  log: Logger,
  remnantIn?: string,
): Promise<void> {
  if (check.damaged) return refuseBadBackup(db, f, check.problems, report, log, remnantIn);
  report.refused.push({ id: f.id, problems: check.problems });
  log.warn(
    { fileId: f.id, problems: check.problems },
    'backup not proven from storage; instrument copy kept',
  );
  const kept = remnantIn ? `; what is left of the instrument copy stays in ${remnantIn}` : '';
  await db.tx((tx) =>
    addToTimeline(tx, f.id, ACTOR, `not removed from the instrument: ${check.problems.join('; ')}${kept}`, {
      problems: check.problems,
    }),
  );
}

/**
 * A backup that no longer verifies: the file is refused, its copy marked `corrupt`, and both logged.
 * `remnantIn`: the deletion had begun, and what is left of the instrument copy is kept there.
 */
async function refuseBadBackup(
  db: Db,
  f: Row,
  problems: string[],
  report: RemoverReport,
  log: Logger,
  remnantIn?: string,
): Promise<void> {
  report.refused.push({ id: f.id, problems });
  const found = problems.slice(0, 3).join('; ');
  log.error(
    { fileId: f.id, problems },
    remnantIn
      ? 'an interrupted removal cannot be finished: the backup no longer verifies'
      : 'backup copy does not match its recorded hashes; instrument copy kept',
  );
  const text = remnantIn
    ? `a removal of the instrument copy was cut short, and the backup at ${f.copy_location ?? '(none)'} no longer verifies: ${found}. What is left of the instrument copy is kept in ${remnantIn}; copy it somewhere safe and check the backup storage`
    : `the backup at ${f.copy_location} no longer matches the hashes recorded when it was verified: ${found}. The instrument copy is kept; back it up again with \`sluice files retry ${f.id}\``;
  await db.tx(async (tx) => {
    if (f.copy_id) await markCopyCorrupt(tx, f.copy_id);
    await addToTimeline(tx, f.id, ACTOR, text, { problems });
  });
}
