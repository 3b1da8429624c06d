/**
 * The files repo's reads for the remover (src/cleanup/): the files whose instrument copy may be
 * removed, and the removals a crash cut short, each with its verified backup copy. Part of the owner
 * of `files` and `copies`, beside src/files/repo.ts.
 */

import type { Queryable } from '../core/db/db.ts';
import { copiesOfFile } from './copies-by-file.ts';
import type { FileRow } from './repo.ts';

/** A file with its verified backup copy (all null when it has none). */
export type FileWithBackup = FileRow & {
  copy_location: string | null;
  copy_manifest: FileRow['manifest'];
  copy_id: string | null;
};

/** A removal candidate: a file with its verified backup copy (always present). */
export type RemovalCandidate = FileRow & {
  copy_location: string;
  copy_manifest: FileRow['manifest'];
  copy_id: string;
};

/** The instrument's removals cut short (instrument copy `removing`), oldest mtime first. */
export async function unfinishedRemovals(q: Queryable, instrumentId: string): Promise<FileWithBackup[]> {
  return q.query<FileWithBackup>(
    `select f.*, c.location as copy_location, c.manifest as copy_manifest, c.id as copy_id
     from files f left join lateral ${copiesOfFile('f.id')} c on c.target = 'backup' and c.state = 'verified'
     where f.instrument_id = $1 and f.instrument_copy = 'removing' and f.current_path is not null
     order by f.mtime`,
    [instrumentId],
  );
}

/**
 * Up to 500 files of the instrument whose instrument copy is present (or moved), in one of `statuses`,
 * older than `minAgeDays` and with a verified backup: oldest mtime first.
 */
export async function removalCandidates(
  q: Queryable,
  instrumentId: string,
  statuses: readonly string[],
  minAgeDays: number,
): Promise<RemovalCandidate[]> {
  return q.query<RemovalCandidate>(
    `select f.*, c.location as copy_location, c.manifest as copy_manifest, c.id as copy_id
     from files f cross join lateral ${copiesOfFile('f.id')} c
     where f.instrument_id = $1 and f.instrument_copy in ('present', 'moved') and f.status = any($2)
       and f.mtime < now() - $3 * interval '1 day' and f.manifest is not null and f.current_path is not null
       and c.target = 'backup' and c.state = 'verified'
     order by f.mtime asc, f.id limit 500`,
    [instrumentId, statuses, minAgeDays],
  );
}
