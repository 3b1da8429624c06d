/**
 * File identity and collisions.
 *
 * A raw file's id is its name as the instrument wrote it (`fileId`). Instruments reuse names (a
 * method re-run, a sample queue restarted), so the same name can come back with different content.
 * The second acquisition then gets a collision id, `<YYYYMMDD-HHMMSS>-<name>` (UTC, the raw data's
 * modification time when first seen; the detection time only when two collisions of one name share a
 * second), and the first keeps its id and history. Both ids depend only on the raw data, never on
 * when a database recorded it, so two instances with separate databases agree on them; a name new
 * to one database is checked against the shared backup area first (backup-identity.ts).
 *
 * Policy (`sameAcquisition`): is what we see now at a known name still the file we have a record of?
 *  - The recorded acquisition has not finished (acquiring): yes. A growing file changes size and
 *    mtime all the time; that is the same acquisition, never a collision.
 *  - Both sides carry a content hash: equal hashes → the same file (a touched mtime does not make new
 *    data); different hashes → a new acquisition.
 *  - Otherwise: same size and same mtime (within 1 ms: databases round sub-millisecond mtimes) → the
 *    same file; any difference → a new acquisition (collision).
 * So a collision needs a finished record (acquired, backed up, ...) whose recorded size/mtime differ
 * from the new observation at the same path.
 */
import { fitName } from '../core/names.ts';

/**
 * The id of a file: its name as given, in text form (core/names.ts: valid UTF-8 as it is, other bytes
 * escaped `\xHH`), so it is valid text for the database and stable across scans.
 */
export function fileId(name: string): string {
  return name;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/**
 * The id for a name that reappeared with different content: `<YYYYMMDD-HHMMSS>-<name>`, in UTC (`at`:
 * its mtime). The id names the backup (the layout's last part), so it is kept within 255 bytes: a
 * name longer than 239 bytes is shortened with a hash of the whole (core/names.ts `fitName`).
 */
export function collisionId(name: string, at: Date): string {
  if (Number.isNaN(at.getTime())) throw new RangeError(`collisionId: invalid date for ${name}`);
  const d = `${pad(at.getUTCFullYear(), 4)}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}`;
  const t = `${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
  return stampedId(`${d}-${t}-`, name);
}

/** `<stamp><name>` (stamp `YYYYMMDD-HHMMSS-`) within 255 bytes: the collision id for that stamp. */
export function stampedId(stamp: string, name: string): string {
  return fitName(`${stamp}${name}`);
}

/** What Sluice recorded about a file. */
export interface RecordedFile {
  size: number;
  mtimeMs: number;
  /** True once the acquisition ended (acquired, backed up, processed, failed, ...). */
  acquisitionFinished: boolean;
  hash?: string | null;
}

/** What a scan sees now at the same name. */
export interface ObservedFile {
  size: number;
  mtimeMs: number;
  hash?: string | null;
}

/** Is `seen` the same acquisition as the `recorded` one? See the policy in the header. */
export function sameAcquisition(recorded: RecordedFile, seen: ObservedFile): boolean {
  if (!recorded.acquisitionFinished) return true;
  if (recorded.hash && seen.hash) return recorded.hash === seen.hash;
  return recorded.size === seen.size && Math.abs(recorded.mtimeMs - seen.mtimeMs) < 1;
}

/**
 * The id for an observation of `name`: a new name gets `fileId(name)`; a known one keeps `knownId`
 * when it is the same acquisition, else gets a collision id stamped `at`.
 */
export function identify(
  name: string,
  known: (RecordedFile & { id: string }) | undefined,
  seen: ObservedFile,
  at: Date,
): { id: string; collision: boolean } {
  if (!known) return { id: fileId(name), collision: false };
  if (sameAcquisition(known, seen)) return { id: known.id, collision: false };
  return { id: collisionId(name, at), collision: true };
}
