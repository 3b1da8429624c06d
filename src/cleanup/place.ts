/**
 * Where an instrument copy is while the remover works on it (`Place`): the hidden folder next to it
 * that it is moved into before it is verified and deleted, and the marks in that folder. Pure: paths
 * from the file's record.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { pathToText } from '../core/names.ts';
import type { FileRow } from '../files/repo.ts';
import { BACKUP_FOLDER } from '../intake/instrument-types.ts';

/**
 * Where an instrument copy is while the remover works on it. Before it verifies and deletes a copy,
 * the remover moves it into a hidden folder next to it (`.sluice-removing-<hash of the id>`), out of
 * reach of anything that writes by name: the instrument re-using the name, or software adding results
 * to a `.d` folder. What is deleted is exactly what was verified there; new data under the old name
 * is left alone and recorded by the scan.
 */
export interface Place {
  /** Where the main entry is outside the hidden folder. */
  original: string;
  /** Where it is inside the hidden folder. */
  quarantined: string;
  /** The hidden folder. */
  dir: string;
  /** The names moved: the main entry and, for a file set, its companions. */
  names: string[];
  /** The instrument copy's state to go back to when the copy is kept. */
  before: 'present' | 'moved';
}

export const QUARANTINE_PREFIX = '.sluice-removing-';
/** Written into the hidden folder once both copies verified, just before the deletion begins. */
export const DELETING_MARK = '.sluice-deleting';

/** The hidden folder for the copy at `original` of file `id`. */
function quarantineDir(original: string, id: string): string {
  const tag = createHash('sha256').update(id).digest('hex').slice(0, 16);
  return path.join(path.dirname(original), QUARANTINE_PREFIX + tag);
}

export function placeOf(f: FileRow, watch: string): Place {
  const cur = f.current_path!;
  const inside = path.basename(path.dirname(cur)).startsWith(QUARANTINE_PREFIX);
  const original = inside ? path.join(path.dirname(path.dirname(cur)), path.basename(cur)) : cur;
  const dir = quarantineDir(original, f.id);
  const before =
    f.instrument_copy === 'present' || f.instrument_copy === 'moved'
      ? f.instrument_copy
      : path.dirname(original) === path.join(pathToText(watch), BACKUP_FOLDER)
        ? 'moved'
        : 'present';
  return {
    original,
    quarantined: path.join(dir, path.basename(original)),
    dir,
    names: [path.basename(original), ...(f.kind === 'files' ? f.companions : [])],
    before,
  };
}
