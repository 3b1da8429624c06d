/**
 * Identity from the shared backup area: the id of raw data this database has no record of, decided
 * so that two instances with separate databases (a fallback and the main one, or the main one after
 * a database restore) give the same acquisition the same id — and so the same backup path and the
 * same job keys — without talking to each other.
 *
 * The backup area is what they share. For a name this database has never seen:
 *  - nothing at the backup path of the plain id (`fileId(name)`) → the plain id;
 *  - something there with the same file names and sizes → the plain id (the backup step verifies
 *    the hashes and associates it, or stops with "differs" when only the bytes differ);
 *  - something there with other names or sizes → the name was re-used: an earlier acquisition under
 *    it was backed up by someone else. This one is a collision, exactly as on the instance that
 *    saw both.
 * For a collision (above, or a known name that came back with other content): a collision id
 * already in the backup area for this name whose names and sizes match is taken over (the instance
 * that backed it up chose it); otherwise `collisionId(name, mtime)`, stamped with the raw data's
 * modification time, so an instance that first sees the finished file computes the same one.
 *
 * Only metadata is read (names and sizes, no content), and only for names new to this database.
 * Crash points: reads only.
 */
import path from 'node:path';
import { compareEntries } from '../backup/compare.ts';
import { listSource, type SourceSpec } from '../backup/manifest.ts';
import type { Config } from '../core/config/index.ts';
import { access, readdir } from '../core/text-fs.ts';
import { backupLocation, sourceSpec } from '../storage/raw-data.ts';
import { collisionId, fileId, stampedId } from './file-id.ts';
import type { Candidate } from './scan.ts';

type Found = 'missing' | 'same' | 'differs' | 'unreadable';

function backupSpec(c: Candidate, dest: string): SourceSpec {
  if (c.kind === 'files') return { kind: 'files', dir: dest, names: [c.name, ...c.companions] };
  return { kind: c.kind, path: dest };
}

/** Is there anything at `path`? */
export type Presence = (path: string) => Promise<boolean>;

const accessible: Presence = (p) =>
  access(p).then(
    () => true,
    () => false,
  );

/**
 * A `Presence` that reads each parent folder once and answers from its listing: for a scan with many
 * new names, one `readdir` of the backup month folder instead of one `access` per name. A parent that
 * cannot be listed (other than missing) is asked with `access`. Something created after the listing
 * counts as absent, as it would an instant after an `access`: the backup step looks again.
 */
export function listedPresence(): Presence {
  const listings = new Map<string, Promise<Set<string> | undefined>>();
  return async (p) => {
    const parent = path.dirname(p);
    let listing = listings.get(parent);
    if (!listing) {
      listing = readdir(parent).then(
        (names) => new Set(names),
        (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? new Set<string>() : undefined),
      );
      listings.set(parent, listing);
    }
    const names = await listing;
    return names ? names.has(path.basename(p)) : accessible(p);
  };
}

/** Does the backup at `dest` hold raw data with the names and sizes of `c`? */
async function compareWithBackup(c: Candidate, dest: string, present = accessible): Promise<Found> {
  if (!(await present(dest))) return 'missing';
  let source: Awaited<ReturnType<typeof listSource>>;
  let backup: Awaited<ReturnType<typeof listSource>>;
  try {
    source = await listSource(
      sourceSpec({
        kind: c.kind,
        name: c.name,
        companions: c.companions,
        source_path: c.path,
        current_path: null,
      }),
    );
  } catch {
    return 'unreadable'; // the source is changing or gone: the backup step will say what it finds
  }
  try {
    backup = await listSource(backupSpec(c, dest));
  } catch {
    // a backup with other files (a companion missing, a file where a folder was) is other data
    return 'differs';
  }
  return compareEntries(c.kind, source, backup, { root: dest }).length === 0 ? 'same' : 'differs';
}

export interface NewIdentity {
  id: string;
  collision: boolean;
  /** For the first event, when the backup area decided it. */
  reason?: string;
}

/**
 * The id for raw data `c` that needs a new record: `known` says whether this database has a record
 * of the name already (then it is a collision). See the header.
 */
export async function identifyNew(
  config: Config,
  instrument: string,
  project: string,
  c: Candidate,
  known: boolean,
  present: Presence = accessible,
): Promise<NewIdentity> {
  const where = (id: string) =>
    backupLocation(config, {
      id,
      instrument_id: instrument,
      project_id: project,
      mtime: new Date(c.mtimeMs),
    });
  let reason: string | undefined;
  if (!known) {
    const plain = where(fileId(c.name));
    const found = await compareWithBackup(c, plain, present);
    if (found !== 'differs') return { id: fileId(c.name), collision: false };
    reason = `the name ${c.name} was already backed up at ${plain} with other files or sizes (by another instance, or before a database restore): recorded as a new acquisition under its own id`;
  }
  const computed = collisionId(c.name, new Date(c.mtimeMs));
  const adopted = await adoptCollisionId(config, c, where(computed));
  if (adopted) {
    return {
      id: adopted,
      collision: true,
      reason: `${reason ? `${reason}; ` : ''}the id ${adopted} was taken over from the matching backup already at ${path.join(path.dirname(where(computed)), adopted)}`,
    };
  }
  return { id: computed, collision: true, reason };
}

const STAMPED = /^\d{8}-\d{6}-/;
const STAMP_LENGTH = 16;

/**
 * A collision id that another instance already gave this acquisition: a sibling of `dest` named
 * `<YYYYMMDD-HHMMSS>-<name>` holding the same names and sizes. Only when the layout ends in
 * `{file_id}` (then every id of the month sits in one folder).
 */
async function adoptCollisionId(config: Config, c: Candidate, dest: string): Promise<string | undefined> {
  if (!config.backup.layout.endsWith('{file_id}')) return undefined;
  let names: string[];
  try {
    names = await readdir(path.dirname(dest));
  } catch {
    return undefined;
  }
  for (const n of names.sort()) {
    if (!STAMPED.test(n) || stampedId(n.slice(0, STAMP_LENGTH), c.name) !== n) continue;
    if ((await compareWithBackup(c, path.join(path.dirname(dest), n))) === 'same') return n;
  }
  return undefined;
}
