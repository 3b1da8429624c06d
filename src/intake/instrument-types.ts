/**
 * Instrument types: how one acquisition ("raw data") looks in an instrument's watch folder.
 *
 * - `thermo`:  one file `<name>.raw` (extension case-insensitive). The instrument renames a failed
 *              acquisition to `<name>_CORRUPTED.raw`; that candidate is flagged `corrupted`.
 * - `bruker`:  one folder `<name>.d`. Its main file `analysis.tdf_bin` appears late; until then the
 *              folder is incomplete (see rules.ts). It may contain (read-only) subfolders.
 * - `sciex`:   a main file `<stem>.wiff` plus optional companions sharing its stem: `<stem>.wiff2`,
 *              `<stem>.wiff.scan`, `<stem>.timeseries.data`. A companion without its main file is not
 *              raw data on its own (it is counted as ignored until the main file shows up).
 * - `generic`: entries whose name matches a configured glob, either files or folders.
 *
 * Everything here is pure: it works on names and entry kinds only. scan.ts does the filesystem work.
 * Skipped silently (not counted as ignored): hidden entries (name starts with '.') and the `Backup`
 * folder into which Sluice moves backed-up files.
 */
import { ConfigError } from '../core/errors.ts';
import { globMatcher } from '../core/glob.ts';

export type InstrumentType = 'thermo' | 'bruker' | 'sciex' | 'generic';
export const INSTRUMENT_TYPES: readonly InstrumentType[] = ['thermo', 'bruker', 'sciex', 'generic'];

/** Layout of a `generic` instrument: a glob on entry names, and whether raw data is a file or a folder. */
export interface GenericLayout {
  glob: string;
  kind: 'file' | 'folder';
}

/** An instrument's layout: its type, plus the glob for `generic`. */
export type InstrumentLayout =
  | { type: Exclude<InstrumentType, 'generic'> }
  | { type: 'generic'; generic: GenericLayout };

/** Build a layout from a type and (for `generic`) its options; ConfigError when they do not fit. */
export function instrumentLayout(type: InstrumentType, generic?: GenericLayout): InstrumentLayout {
  if (!INSTRUMENT_TYPES.includes(type)) {
    throw new ConfigError(`unknown instrument type "${type}"`, `use one of: ${INSTRUMENT_TYPES.join(', ')}`);
  }
  if (type !== 'generic') return { type };
  if (!generic) {
    throw new ConfigError(
      'instrument type "generic" needs a layout { glob, kind }',
      'for example: generic: { glob: "*.tif", kind: file }',
    );
  }
  if (generic.kind !== 'file' && generic.kind !== 'folder') {
    throw new ConfigError(
      `generic instrument kind "${String(generic.kind)}" is invalid`,
      'use "file" or "folder"',
    );
  }
  globMatcher(generic.glob); // validates the glob
  return { type, generic };
}

/** The Bruker main file; a `.d` folder without it is not yet complete. */
export const BRUKER_MAIN_FILE = 'analysis.tdf_bin';
/** Name of the folder (in the watch folder) where Sluice moves backed-up data; never scanned. */
export const BACKUP_FOLDER = 'Backup';
/** Sciex companion suffixes, appended to the stem of `<stem>.wiff`. */
export const SCIEX_COMPANION_SUFFIXES = ['.wiff2', '.wiff.scan', '.timeseries.data'] as const;

export type EntryKind = 'file' | 'folder' | 'other';

/** One directory entry: name plus kind (symlinks, sockets, ... are `other` and never raw data). */
export interface DirEntry {
  name: string;
  kind: EntryKind;
}

/** One raw-data candidate: its entries (as passed in, so callers can attach facts such as size). */
export interface RawGroup<E extends DirEntry = DirEntry> {
  /** Name of the main entry: `x.raw`, `y.d`, `z.wiff`. */
  name: string;
  kind: 'file' | 'folder' | 'files';
  main: E;
  /** Companion entries (sciex only), sorted by name. */
  companions: E[];
  /** Thermo: renamed to `_CORRUPTED.raw` by the instrument. */
  corrupted: boolean;
}

/**
 * Case-insensitive `name.endsWith(suffix)` for an ASCII lower-case `suffix`, without allocating
 * (this runs on every entry of folders with 100,000 files).
 */
export function endsWithCI(name: string, suffix: string): boolean {
  const off = name.length - suffix.length;
  if (off < 0) return false;
  for (let i = 0; i < suffix.length; i++) {
    let c = name.charCodeAt(off + i);
    if (c >= 65 && c <= 90) c += 32; // A-Z → a-z
    if (c !== suffix.charCodeAt(i)) return false;
  }
  return true;
}

/** Sciex: the companion suffix of `name`, if any (longest match first is not needed: they are disjoint). */
function sciexCompanionSuffix(name: string): string | undefined {
  for (const s of SCIEX_COMPANION_SUFFIXES) if (name.length > s.length && endsWithCI(name, s)) return s;
  return undefined;
}

/** Hidden entries and the Backup folder are never looked at. */
export function isSkippedName(name: string): boolean {
  return name.charCodeAt(0) === 46 /* . */ || (name.length === 6 && name.toLowerCase() === 'backup');
}

/** Thermo: true for `<name>_CORRUPTED.raw`. */
export function isCorruptedThermoName(name: string): boolean {
  return endsWithCI(name, '_corrupted.raw');
}

/** Thermo: the name the acquisition had before the instrument marked it corrupted (`x_CORRUPTED.raw` → `x.raw`). */
export function corruptedOriginalName(name: string): string | undefined {
  const m = /^(.*)_CORRUPTED(\.raw)$/i.exec(name);
  return m ? `${m[1]}${m[2]}` : undefined;
}

/**
 * Name-only pre-filter: could this entry be (part of) raw data for the layout? scan.ts stats only
 * entries that pass, so unrelated files in a big folder cost nothing beyond the directory read.
 */
export function nameFilter(layout: InstrumentLayout): (name: string) => boolean {
  switch (layout.type) {
    case 'thermo':
      return (n) => endsWithCI(n, '.raw') && !isSkippedName(n);
    case 'bruker':
      return (n) => endsWithCI(n, '.d') && !isSkippedName(n);
    case 'sciex':
      return (n) => (endsWithCI(n, '.wiff') || sciexCompanionSuffix(n) !== undefined) && !isSkippedName(n);
    case 'generic': {
      const match = globMatcher(layout.generic.glob);
      return (n) => !isSkippedName(n) && match(n);
    }
  }
}

/** The entry kind of a one-entry candidate for `layout`; undefined for sciex (main file + companions). */
export function singleEntryKind(layout: InstrumentLayout): 'file' | 'folder' | undefined {
  if (layout.type === 'sciex') return undefined;
  return layout.type === 'bruker' || (layout.type === 'generic' && layout.generic.kind === 'folder')
    ? 'folder'
    : 'file';
}

/**
 * Group a folder's entries into raw-data candidates for `layout`.
 * Returns the candidates (in entry order) and how many non-skipped entries are not raw data.
 */
export function groupRawData<E extends DirEntry>(
  layout: InstrumentLayout,
  entries: readonly E[],
): { groups: RawGroup<E>[]; ignored: number } {
  const accept = nameFilter(layout);
  if (layout.type === 'sciex') return groupSciex(entries, accept);
  const groups: RawGroup<E>[] = [];
  let ignored = 0;
  const want = singleEntryKind(layout) as 'file' | 'folder';
  for (const e of entries) {
    if (isSkippedName(e.name)) continue;
    if (e.kind !== want || !accept(e.name)) {
      ignored++;
      continue;
    }
    groups.push({
      name: e.name,
      kind: want,
      main: e,
      companions: [],
      corrupted: layout.type === 'thermo' && isCorruptedThermoName(e.name),
    });
  }
  return { groups, ignored };
}

function groupSciex<E extends DirEntry>(
  entries: readonly E[],
  accept: (name: string) => boolean,
): { groups: RawGroup<E>[]; ignored: number } {
  const mains = new Map<string, RawGroup<E>>(); // lower-cased stem → group
  const companions: { stem: string; entry: E }[] = [];
  const groups: RawGroup<E>[] = [];
  let ignored = 0;
  for (const e of entries) {
    if (isSkippedName(e.name)) continue;
    if (e.kind !== 'file' || !accept(e.name)) {
      ignored++;
      continue;
    }
    const suffix = sciexCompanionSuffix(e.name);
    if (suffix === undefined) {
      const g: RawGroup<E> = { name: e.name, kind: 'files', main: e, companions: [], corrupted: false };
      mains.set(e.name.slice(0, -'.wiff'.length).toLowerCase(), g);
      groups.push(g);
    } else {
      companions.push({ stem: e.name.slice(0, -suffix.length).toLowerCase(), entry: e });
    }
  }
  for (const c of companions) {
    const main = mains.get(c.stem);
    if (main) main.companions.push(c.entry);
    else ignored++; // a companion without its .wiff is not raw data (yet)
  }
  for (const g of groups) g.companions.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { groups, ignored };
}
