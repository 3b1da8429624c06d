/**
 * Corrupt tars left on a target: once fixity (or a retrieval) condemned an archive (fixity.ts) and
 * its sets were packed again and verified on the same target, the damaged tar serves nothing. It is
 * removed from the target (filesystem: unlinked; S3: DeleteObject) only when every one of its
 * members is in a verified archive there again, with the same path and sha256 (metrics.json by path:
 * it is written anew from the database). The check runs again right before each removal, and
 * `tar_removed_at` is recorded after it (a crash in between removes it once more: both kinds of
 * removal are idempotent). A member that is in no verified archive (an output folder gone since, a
 * backup that no longer verifies) keeps the tar where it is.
 *
 * Why removal rather than moving it aside: the archive is known damaged and every byte it was meant
 * to keep is verified elsewhere on the same target; a move is a copy on S3 (impossible without a
 * restore for cold classes) and would keep paying for a damaged object.
 * Called after each verified archive (pack-task.ts, its target) and at each fixity run (every target).
 */
import type { Config } from '../core/config/index.ts';
import type { Db } from '../core/db/db.ts';
import type { Logger } from '../core/log.ts';
import { addToTimeline } from '../files/lifecycle.ts';
import { condemnedTarsCovered, markTarRemoved } from './fixity-repo.ts';
import { removeArchive } from './targets.ts';

const ACTOR = 'archive';

/** Removes the corrupt tars (of `target`, or of every target) that no set depends on; how many. */
export async function removeCoveredTars(
  db: Db,
  config: Config,
  log: Logger,
  target?: string,
): Promise<number> {
  let removed = 0;
  for (const a of await condemnedTarsCovered(db, { target })) {
    const t = config.archive.targets.find((x) => x.name === a.target);
    if (!t) continue;
    // looked at again right before: the archives covering it may have changed since the list
    if ((await condemnedTarsCovered(db, { archiveId: a.id })).length === 0) continue;
    await removeArchive(t, a.key);
    await db.tx(async (tx) => {
      for (const f of await markTarRemoved(tx, a.id))
        await addToTimeline(
          tx,
          f,
          ACTOR,
          `the corrupt archive ${a.id}'s tar was removed from ${a.target} (${a.location}): every member is in a verified archive there again`,
          { archive: a.id, target: a.target },
        );
    });
    log.info({ archive: a.id, target: a.target, location: a.location }, 'corrupt archive tar removed');
    removed++;
  }
  return removed;
}
