/**
 * The files repo's statements for the intake scan (src/intake/scan-task.ts): the latest record of each
 * name, the ids already taken, new `discovered` records, growing files' sizes, the acquired
 * fingerprints, and records whose instrument copy came back or vanished. Multi-row statements take
 * their rows as one JSON array (one round trip per phase). Part of the owner of `files`.
 */

import type { Queryable } from '../core/db/db.ts';
import type { FileStatus } from './lifecycle.ts';

/**
 * The latest record of a name on an instrument, as the scan's merge (src/intake/merge.ts) sees it.
 * Times are milliseconds since the epoch (what `Date#getTime` of the column gives: microseconds
 * floored), read as numbers: every scan reads every record of the instrument, and parsing three
 * timestamps per row into `Date`s was most of the Node CPU of that read (bench/intake.ts).
 */
export interface KnownRow {
  id: string;
  name: string;
  status: FileStatus;
  size_bytes: string;
  mtime_ms: number;
  first_seen_ms: number;
  last_change_ms: number;
  main_file_present: boolean;
  instrument_copy: string;
}

/** Milliseconds since the epoch of timestamp column `col`, as `Date#getTime` of it gives them. */
const epochMs = (col: string) => `floor(extract(epoch from ${col}) * 1000)::float8`;

/** The latest record (by creation) of each name on the instrument. */
export async function latestRecordsByName(q: Queryable, instrumentId: string): Promise<KnownRow[]> {
  return q.query<KnownRow>(
    `select distinct on (name) id, name, status, size_bytes, ${epochMs('mtime')} as mtime_ms,
       ${epochMs('first_seen_at')} as first_seen_ms, ${epochMs('last_change_at')} as last_change_ms,
       main_file_present, instrument_copy
     from files where instrument_id = $1 order by name, created_at desc`,
    [instrumentId],
  );
}

/** Which of `ids` records already exist. */
export async function existingIds(q: Queryable, ids: string[]): Promise<Set<string>> {
  const rows = await q.query<{ id: string }>('select id from files where id = any($1::text[])', [ids]);
  return new Set(rows.map((row) => row.id));
}

/** A record whose instrument copy had gone missing is present again at `at`. */
export async function markInstrumentCopyBack(q: Queryable, id: string, at: string): Promise<void> {
  await q.exec(
    `update files set instrument_copy = 'present', current_path = $2, last_change_at = now()
       where id = $1 and instrument_copy = 'missing'`,
    [id, at],
  );
}

/** A record's instrument copy is no longer in the folder. */
export async function markInstrumentCopyVanished(q: Queryable, id: string): Promise<void> {
  await q.exec(`update files set instrument_copy = 'missing', current_path = null where id = $1`, [id]);
}

/** Size, mtime, main file and companions of growing files (`rows`: src/intake/merge.ts `ChangedRow`). */
export async function recordGrowth(q: Queryable, rows: readonly object[]): Promise<void> {
  await q.exec(
    `update files f set size_bytes = x.size, mtime = x.mtime, main_file_present = x.main_file_present,
       last_change_at = now(), updated_at = now(), companions = x.companions
     from jsonb_to_recordset($1::jsonb) as x(id text, size bigint, mtime timestamptz, main_file_present boolean, companions text[])
     where f.id = x.id`,
    [JSON.stringify(rows)],
  );
}

/** New `discovered` records of the instrument, in `ord` order (`json`: rows as merge.ts's `NewFileRow` with `ord`). */
export async function insertDiscoveredRecords(
  q: Queryable,
  instrumentId: string,
  json: string,
): Promise<void> {
  await q.exec(
    `insert into files (id, instrument_id, name, kind, companions, source_path, current_path, project_id, status, size_bytes, mtime, main_file_present)
     select x.id, $1, x.name, x.kind, x.companions, x.path, x.path, x.project, 'discovered', x.size, x.mtime, x.main_file_present
     from jsonb_to_recordset($2::jsonb) as x(id text, name text, kind text, companions text[], path text, project text, size bigint, mtime timestamptz, main_file_present boolean, ord int)
     order by x.ord`,
    [instrumentId, json],
  );
}
