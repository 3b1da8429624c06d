/**
 * The merge of a scan into the file records, decided: given what the scan saw and the records of
 * the instrument, what to insert, update and move. Pure (no database, no filesystem); the shell that
 * reads the records, identifies new names against the backup area and writes is `mergeScan` in
 * scan-task.ts. Phases, in order:
 *
 * 1. `sortCandidates`: each entry of the folder is a record still acquiring (changed or not), a record
 *    back unchanged after it disappeared, nothing to do (finished, or being removed), or new data
 *    (new name, or a name that came back with other content) to be identified.
 * 2. `assignIds`: the new records, with the ids identification proposed unless another instrument's
 *    file holds them (then a collision id), and the reason of their first event.
 * 3. `decideMoves`: the acquisition rules (rules.ts) for every record still acquiring.
 * 4. `vanishedRecords`: records still acquiring that are no longer in the folder.
 */
import { ACQUIRING, type FileStatus } from '../files/lifecycle.ts';
import type { KnownRow } from '../files/scan-records.ts';
import type { NewIdentity } from './backup-identity.ts';
import { collisionId, sameAcquisition } from './file-id.ts';
import { corruptedOriginalName } from './instrument-types.ts';
import { type AcquisitionSettings, decideAcquisition, type Tracked } from './rules.ts';
import type { Candidate } from './scan.ts';

/** The latest record of a name on the instrument, as the merge reads it. */
export type { KnownRow };

/** A record the acquisition rules look at in this scan. */
export interface TrackedFile {
  fileId: string;
  status: FileStatus;
  t: Tracked;
  candidate: Candidate;
}

/** Size, mtime, main file and companions of a growing file. */
export interface ChangedRow {
  id: string;
  size: number;
  mtime: string;
  main_file_present: boolean;
  companions: string[];
}

/** An entry that needs a new record, once identified. */
export interface Unidentified {
  project: string;
  c: Candidate;
  t: Tracked;
  rec: KnownRow | undefined;
}

export interface Sorted {
  /** Records still acquiring, and records back after they disappeared, by name. */
  tracked: Map<string, TrackedFile>;
  changedRows: ChangedRow[];
  unidentified: Unidentified[];
  /** Records back in the folder, unchanged, after they disappeared before their backup. */
  returned: { id: string; path: string }[];
  seen: Set<string>;
}

function trackedOf(c: Candidate, now: number): Tracked {
  return {
    name: c.name,
    firstSeenMs: now,
    lastChangeMs: now,
    size: c.size,
    mtimeMs: c.mtimeMs,
    mainFilePresent: c.mainFilePresent,
    corrupted: c.corrupted,
  };
}

const sameAs = (rec: KnownRow, c: Candidate, acquisitionFinished: boolean) =>
  sameAcquisition(
    { size: Number(rec.size_bytes), mtimeMs: rec.mtime_ms, acquisitionFinished },
    { size: c.size, mtimeMs: c.mtimeMs },
  );

/**
 * Phase 1: what each entry of the folder is to the records. `projectOf` names the project of new
 * data. Candidates' mtimes must be at the database's precision (whole milliseconds) already.
 */
export function sortCandidates(
  candidates: readonly Candidate[],
  known: ReadonlyMap<string, KnownRow>,
  now: number,
  projectOf: (name: string) => string,
): Sorted {
  const out: Sorted = {
    tracked: new Map(),
    changedRows: [],
    unidentified: [],
    returned: [],
    seen: new Set(),
  };
  for (const c of candidates) {
    out.seen.add(c.name);
    const rec = known.get(c.name);
    const t = trackedOf(c, now);
    // what is left of a copy the remover is deleting (or was, when it was stopped): not new data
    if (rec?.instrument_copy === 'removing') continue;
    const finished = rec ? !ACQUIRING.includes(rec.status) : false;
    // Back, unchanged, after it disappeared before its backup (someone put it back): the same
    // acquisition, which goes on; the rules decide it again.
    if (rec?.instrument_copy === 'missing' && rec.status === 'error' && sameAs(rec, c, true)) {
      out.returned.push({ id: rec.id, path: c.path });
      t.firstSeenMs = rec.first_seen_ms; // the stable window starts now (lastChangeMs)
      out.tracked.set(c.name, { fileId: rec.id, status: 'acquiring', t, candidate: c });
      continue;
    }
    // A record whose data was lost (changed before its backup: backup-task.ts) is never the same
    // acquisition: whatever its name holds now is new data, even where size and mtime look the same.
    if (rec && rec.status !== 'lost' && (!finished || sameAs(rec, c, finished))) {
      if (!finished) trackGrowing(out, rec, c, t, now);
      continue;
    }
    // new raw data, or a name that came back with other content (collision)
    out.unidentified.push({ project: projectOf(c.name), c, t, rec });
  }
  return out;
}

/** A record still acquiring: its window goes on, and restarts when size, mtime or main file changed. */
function trackGrowing(out: Sorted, rec: KnownRow, c: Candidate, t: Tracked, now: number): void {
  const changed =
    Number(rec.size_bytes) !== c.size ||
    rec.mtime_ms !== c.mtimeMs ||
    rec.main_file_present !== c.mainFilePresent;
  t.firstSeenMs = rec.first_seen_ms;
  t.lastChangeMs = changed ? now : rec.last_change_ms;
  if (changed) {
    out.changedRows.push({
      id: rec.id,
      size: c.size,
      mtime: new Date(c.mtimeMs).toISOString(),
      main_file_present: c.mainFilePresent,
      companions: c.companions,
    });
  }
  out.tracked.set(c.name, { fileId: rec.id, status: rec.status, t, candidate: c });
}

export interface NewFileRow {
  id: string;
  name: string;
  kind: string;
  companions: string[];
  path: string;
  project: string;
  size: number;
  mtime: string;
  main_file_present: boolean;
  reason: string;
  data: Record<string, unknown>;
}

/** The first event's reason of a new record whose name an earlier record had. */
function reappearedReason(rec: KnownRow, c: Candidate): string {
  if (rec.status === 'lost') {
    return `the name ${c.name} holds other data than the earlier record ${rec.id} acquired (lost before its backup); recorded as new data`;
  }
  return Number(rec.size_bytes) !== c.size
    ? `the name ${c.name} reappeared with other content (${c.size} bytes, was ${rec.size_bytes}); the earlier record ${rec.id} is kept`
    : `the name ${c.name} reappeared with another modification time (same size; the content is compared before its backup); the earlier record ${rec.id} is kept`;
}

/**
 * Phase 2: the new records. Ids are shared by all instruments. A plain id already `taken` (by another
 * instrument's file of the same name) gets a collision id from the file's mtime instead, and the
 * reason says why; a collision id taken by an earlier collision within the same second gets the
 * detection time; one still taken waits for the next scan. `taken` gains the ids given.
 */
export function assignIds(
  fresh: readonly (Unidentified & { ident: NewIdentity })[],
  taken: Set<string>,
  watch: string,
  now: number,
): { inserts: NewFileRow[]; tracked: TrackedFile[] } {
  const inserts: NewFileRow[] = [];
  const tracked: TrackedFile[] = [];
  for (const { ident, project, c, t, rec } of fresh) {
    let newId = ident.id;
    let reason = rec ? reappearedReason(rec, c) : (ident.reason ?? `found in ${watch}`);
    if (taken.has(newId) && !ident.collision) {
      newId = collisionId(c.name, new Date(c.mtimeMs));
      reason = `the id ${ident.id} is already taken by a file of another instrument; found in ${watch}`;
    }
    if (taken.has(newId)) newId = collisionId(c.name, new Date(now));
    if (taken.has(newId)) continue; // the next scan tries again
    taken.add(newId);
    inserts.push({
      id: newId,
      name: c.name,
      kind: c.kind,
      companions: c.companions,
      path: c.path,
      project,
      size: c.size,
      mtime: new Date(c.mtimeMs).toISOString(),
      main_file_present: c.mainFilePresent,
      reason,
      data: { size: c.size, path: c.path, project },
    });
    tracked.push({ fileId: newId, status: 'discovered', t, candidate: c });
  }
  return { inserts, tracked };
}

/**
 * The first non-empty entry with the latest mtime and, among the others, the next such: all that
 * `decideAcquisition` needs of `all` (rules 5 and 6 take the newest file other than the one decided).
 */
export function newestTwo(all: readonly Tracked[]): Tracked[] {
  let first: Tracked | undefined;
  let second: Tracked | undefined;
  for (const o of all) {
    if (o.size <= 0) continue;
    if (!first || o.mtimeMs > first.mtimeMs) {
      second = first;
      first = o;
    } else if (!second || o.mtimeMs > second.mtimeMs) {
      second = o;
    }
  }
  return [first, second].filter((x): x is Tracked => x !== undefined);
}

/** Transitions grouped by target state, in the order the files were seen. */
export type Moves = Map<FileStatus, { ids: string[]; reasons: string[] }>;

/**
 * Phase 3: the acquisition rules for every tracked record (the other entries of the folder count as
 * rivals). Returns the transitions and how many records were decided (left `acquiring`).
 */
export function decideMoves(
  tracked: ReadonlyMap<string, TrackedFile>,
  candidates: readonly Candidate[],
  now: number,
  settings: AcquisitionSettings,
): { moves: Moves; decided: number } {
  const moves: Moves = new Map();
  const move = (to: FileStatus, fileIdValue: string, reason: string) => {
    let m = moves.get(to);
    if (!m) {
      m = { ids: [], reasons: [] };
      moves.set(to, m);
    }
    m.ids.push(fileIdValue);
    m.reasons.push(reason);
  };
  const all = [...tracked.values()].map((x) => x.t);
  for (const c of candidates) {
    if (!tracked.has(c.name)) all.push(trackedOf(c, 0)); // seen, not tracked: first seen and changed at 0
  }
  // The rules look at the other files only for the newest one (by mtime, non-empty; the first of
  // equals in scan order): passing the two newest gives the same decisions as passing all of them,
  // without the O(n²) of every file scanning every other (10,000 new files: 10^8 steps per scan).
  const rivals = newestTwo(all);
  let decided = 0;
  for (const x of tracked.values()) {
    const d = decideAcquisition(x.t, rivals, now, settings);
    if (d.decision === 'acquiring') {
      if (x.status === 'discovered') move('acquiring', x.fileId, d.reason);
      continue;
    }
    decided++;
    move(d.decision, x.fileId, d.reason);
  }
  return { moves, decided };
}

/** A record still acquiring that is gone from the folder, and where it goes. */
export interface Vanished {
  id: string;
  to: 'acquisition_failed' | 'error';
  reason: string;
}

/**
 * Phase 4: records still acquiring that are no longer in the folder (an entry that could not be
 * read is not gone). Renamed `_CORRUPTED` by the instrument: the acquisition failed; else an error.
 */
export function vanishedRecords(
  known: Iterable<KnownRow>,
  seen: ReadonlySet<string>,
  unreadable: ReadonlySet<string>,
  watch: string,
): Vanished[] {
  const corruptedOf = new Map<string, string>();
  for (const name of seen) {
    const orig = corruptedOriginalName(name);
    if (orig) corruptedOf.set(orig.toLowerCase(), name);
  }
  const out: Vanished[] = [];
  for (const rec of known) {
    if (!ACQUIRING.includes(rec.status) || seen.has(rec.name) || unreadable.has(rec.name)) continue;
    const renamed = corruptedOf.get(rec.name.toLowerCase());
    out.push(
      renamed
        ? {
            id: rec.id,
            to: 'acquisition_failed',
            reason: `the instrument renamed it to ${renamed}: the acquisition failed`,
          }
        : {
            id: rec.id,
            to: 'error',
            reason: `disappeared from ${watch} before it was backed up (renamed or deleted on the instrument?)`,
          },
    );
  }
  return out;
}
