/**
 * Scan one watch folder: its direct entries only (instruments write there), grouped into raw-data
 * candidates with their total size and newest mtime.
 *
 * Cost model (100,000 entries must stay fast; bench/intake-scan.ts compares with `find`):
 * - one directory listing, names only, in a thread (`opendir`, in directory order, handed over in
 *   parts while it is still being read);
 * - a name pre-filter per instrument type, so unrelated entries are never stat'ed;
 * - one lstat per remaining entry, in chunks of 4,096 to up to two pooled threads (see
 *   fs-thread.ts for why threads and synchronous lstat), starting while the folder is still being
 *   listed (the last chunks shrink, so both threads finish together); results are turned into
 *   candidates while later chunks are still being stat'ed;
 * - a recursive walk only for folder candidates (Bruker `.d`, generic folders), which are few.
 * Symlinks are never followed (a backup tool must not wander outside the folder it watches).
 * Names are read as bytes; candidates carry names and paths in text form (core/names.ts), so a name
 * that is not UTF-8 (`Probe_M\xfcller.raw`) is found, recorded and shown escaped, never skipped.
 * Candidates come in directory order: sorting 100,000 names costs about a third of the scan.
 *
 * Hung shares: the scan gives up after `timeoutMs` (intake.offline). While the stuck call has not
 * returned, further scans of the same folder fail at once instead of tying up more threads.
 *
 * A watch folder that is missing, unreadable, not a folder, unreachable or hanging raises a
 * SluiceError `intake.offline` naming the folder and what to check. Problems with single entries
 * (e.g. an unreadable `.d` folder or a subfolder in it) do not stop the scan: they are listed in
 * `errors` under the entry's path (the message names the exact path that failed) and the entry is left
 * out of `candidates`, so callers can tell "unreadable" from "gone".
 */
import os from 'node:os';
import path from 'node:path';
import { pathToText } from '../core/names.ts';
import type { Member } from '../files/fingerprint.ts';
import { describeFault, OFFLINE_CODES, offlineError } from '../storage/offline.ts';
import {
  acquireThread,
  type FolderProbe,
  type FsThread,
  type LstatBatch,
  releaseThread,
  STAT_ERROR,
  STAT_FILE,
  STAT_FOLDER,
  STAT_GONE,
} from './fs-thread.ts';
import {
  BRUKER_MAIN_FILE,
  type DirEntry,
  type GenericLayout,
  groupRawData,
  type InstrumentLayout,
  type InstrumentType,
  instrumentLayout,
  isCorruptedThermoName,
  isSkippedName,
  nameFilter,
  singleEntryKind,
} from './instrument-types.ts';
import { CHUNK, StatPipeline } from './stat-pipeline.ts';

export { freeSpace, isMountPoint } from '../storage/disk.ts';
export { offlineError } from '../storage/offline.ts';

export interface Candidate {
  /** Main entry name: `x.raw`, `y.d`, `z.wiff` (text form, core/names.ts; so are all names and paths here). */
  name: string;
  kind: 'file' | 'folder' | 'files';
  /** Absolute path of the main entry. */
  path: string;
  /** Companion names (sciex). */
  companions: string[];
  /** Total bytes: the file, all files in the folder, or main file plus companions. */
  size: number;
  /** Newest mtime (ms) among the file(s), and for folders also their subfolders. */
  mtimeMs: number;
  /** Bruker: `analysis.tdf_bin` exists at the top of the folder; true for every other type. */
  mainFilePresent: boolean;
  /** Thermo: renamed `_CORRUPTED.raw` by the instrument. */
  corrupted: boolean;
  /** File sets: every file (the acquired fingerprint, files/fingerprint.ts); see `candidateMembers`. */
  members?: Member[];
  /**
   * Folders: every file below it, as the tree walk returned them (`rel`s, and size and mtime at 2i,
   * 2i+1 of `nums`). Turned into members only for the few declared acquired (`candidateMembers`):
   * finished folders still in the watch folder are walked on every scan.
   */
  tree?: { rels: string[]; nums: Float64Array };
}

/** Every file of a candidate with its size and mtime (a single file: itself). */
export function candidateMembers(c: Candidate): Member[] {
  if (c.tree) {
    const { rels, nums } = c.tree;
    return rels.map((rel, i) => ({ rel, size: nums[2 * i]!, mtimeMs: nums[2 * i + 1]! }));
  }
  return c.members ?? [{ rel: c.name, size: c.size, mtimeMs: c.mtimeMs }];
}

export interface ScanResult {
  /** In directory order (unspecified; sorting 100,000 names would cost more than the scan). */
  candidates: Candidate[];
  /** Entries that are not raw data (hidden entries and the Backup folder are skipped, not counted). */
  ignored: number;
  errors: { path: string; message: string }[];
}

export interface ScanOptions {
  /** Required for type `generic`. */
  generic?: GenericLayout;
  /** Give up (intake.offline) when the folder does not answer within this time. Default 60 s. */
  timeoutMs?: number;
  /** Worker threads for stats; default min(2, available CPUs). */
  workers?: number;
}

interface StatEntry extends DirEntry {
  size: number;
  mtimeMs: number;
}

/** Below this many entries to stat, a second thread costs more than it saves. */
const SPLIT_THRESHOLD = 4000;
/** Folders whose last scan timed out and is still stuck in a filesystem call. */
const hung = new Map<string, Promise<void>>();
/** Entries seen in the previous scan of a directory: decides whether to start two threads upfront. */
const lastRelevant = new Map<string, number>();

/** Scan `dir` for raw data of instrument `type`. */
export async function scanFolder(
  dir: string,
  type: InstrumentType,
  opts: ScanOptions = {},
): Promise<ScanResult> {
  const layout = instrumentLayout(type, opts.generic);
  const root = pathToText(path.resolve(dir)); // paths in candidates are text (core/names.ts)
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const maxThreads = Math.max(1, opts.workers ?? Math.min(2, os.availableParallelism()));
  return withDeadline(root, timeoutMs, (threads, state) =>
    scanWith(threads, maxThreads, root, layout, state),
  );
}

/**
 * Whether the watch folder `dir` is a mount point, and the free space of its filesystem, asked on a
 * filesystem thread under the same deadline as a scan (a hung share blocks that thread only, never
 * libuv's pool): `intake.offline` when it does not answer within `timeoutMs`.
 */
export async function probeFolder(dir: string, timeoutMs = 60_000): Promise<FolderProbe> {
  const root = path.resolve(dir);
  return withDeadline(root, timeoutMs, async (threads, state) => {
    if (!state.abandoned) threads.push(acquireThread());
    const r = await (threads[0] as FsThread).probe(root, path.dirname(root));
    if ('error' in r) throw offlineError(root, r.error);
    return r;
  });
}

/**
 * Run `fn` on filesystem threads it takes into `threads`, giving up with `intake.offline` after
 * `timeoutMs`; the threads are released, or abandoned when it timed out.
 */
async function withDeadline<T>(
  root: string,
  timeoutMs: number,
  fn: (threads: FsThread[], state: { abandoned: boolean }) => Promise<T>,
): Promise<T> {
  if (hung.has(root)) {
    throw offlineError(root, { code: 'ETIMEDOUT', message: 'the previous scan is still waiting for it' });
  }
  const threads: FsThread[] = [];
  const state = { abandoned: false };
  const work = fn(threads, state);
  const settled = work.then(
    () => {},
    () => {}, // after a timeout nobody awaits it any more
  );
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      state.abandoned = true;
      // Until the stuck call returns, further scans of this folder fail fast instead of piling up
      // blocked threads.
      hung.set(root, settled);
      void settled.then(() => hung.delete(root));
      reject(offlineError(root, { code: 'ETIMEDOUT', message: `no answer within ${timeoutMs / 1000} s` }));
    }, timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    const abandon = state.abandoned;
    state.abandoned = true;
    for (const w of threads) releaseThread(w, abandon);
  }
}

async function scanWith(
  threads: FsThread[],
  maxThreads: number,
  root: string,
  layout: InstrumentLayout,
  state: { abandoned: boolean },
): Promise<ScanResult> {
  const take = (n: number) => {
    while (!state.abandoned && threads.length < n) threads.push(acquireThread());
  };
  // Get the threads ready while the directory is read (a new thread takes ~20 ms to start).
  take((lastRelevant.get(root) ?? 0) >= SPLIT_THRESHOLD ? maxThreads : 1);
  const lister = threads[0] as FsThread;
  const accept = nameFilter(layout);
  const relevant: string[] = [];
  let ignored = 0;

  // Thermo and generic/Bruker: one entry is one candidate, built straight from the stat results
  // (no intermediate objects: this loop runs 100,000 times). Sciex: entries are grouped afterwards.
  const single = singleEntryKind(layout);
  const corruptible = layout.type === 'thermo';
  const prefix = root.endsWith(path.sep) ? root : root + path.sep; // path.join is slow on 100k names
  const errors: ScanResult['errors'] = [];
  const candidates: Candidate[] = [];
  const folders: Candidate[] = [];
  const entries: StatEntry[] = [];
  const unpack = (start: number, batch: LstatBatch) => {
    for (const [, fault] of batch.errors) {
      if (OFFLINE_CODES.has(fault.code)) throw offlineError(root, fault);
      errors.push({ path: fault.path ?? root, message: describeFault(fault) });
    }
    const { out } = batch;
    for (let i = 0, n = out.length / 3; i < n; i++) {
      const code = out[3 * i + 2];
      if (code === STAT_GONE || code === STAT_ERROR) continue; // vanished since the read / listed in errors
      const name = relevant[start + i] as string;
      const kind = code === STAT_FILE ? 'file' : code === STAT_FOLDER ? 'folder' : 'other';
      const size = out[3 * i] as number;
      const mtimeMs = out[3 * i + 1] as number;
      if (single === undefined) {
        entries.push({ name, kind, size, mtimeMs });
      } else if (kind !== single) {
        ignored++;
      } else {
        const c = candidate(prefix, name, single, size, mtimeMs, corruptible && isCorruptedThermoName(name));
        (single === 'folder' ? folders : candidates).push(c);
      }
    }
  };

  // The relevant names are stat'ed in chunks while the listing goes on: each thread other than the
  // lister takes a chunk as soon as it is free (at most two queued), the lister too once it has
  // listed everything. Results are unpacked in name order as they arrive.
  const stats = new StatPipeline(root, relevant, unpack);
  const listed = await lister.list(root, CHUNK, (names) => {
    for (const name of names) {
      if (accept(name)) relevant.push(name);
      else if (!isSkippedName(name)) ignored++;
    }
    if (relevant.length >= SPLIT_THRESHOLD) take(maxThreads);
    for (const w of threads) if (w !== lister) stats.feed(w);
  });
  if ('error' in listed) throw offlineError(root, listed.error);
  if (state.abandoned) throw new Error('scan abandoned');
  lastRelevant.set(root, relevant.length);
  stats.listed();
  for (const w of threads) stats.feed(w);
  await stats.done();

  if (single === undefined) ignored += groupEntries(layout, prefix, entries, candidates, folders);
  await summariseFolders(threads, root, layout, folders, candidates, errors);
  return { candidates, ignored, errors };
}

/**
 * Candidates from entries that are grouped (Sciex: a main file and its companions), added to
 * `candidates` or, for folders, to `folders`; returns how many entries were ignored.
 */
function groupEntries(
  layout: InstrumentLayout,
  prefix: string,
  entries: StatEntry[],
  candidates: Candidate[],
  folders: Candidate[],
): number {
  const grouped = groupRawData(layout, entries);
  for (const g of grouped.groups) {
    const c = candidate(prefix, g.name, g.kind, g.main.size, g.main.mtimeMs, g.corrupted);
    if (g.kind === 'files') c.members = [g.main, ...g.companions].map(member);
    for (const e of g.companions) {
      c.companions.push(e.name);
      c.size += e.size;
      if (e.mtimeMs > c.mtimeMs) c.mtimeMs = e.mtimeMs;
    }
    (g.kind === 'folder' ? folders : candidates).push(c);
  }
  return grouped.ignored;
}

/**
 * Folder candidates: total size and newest mtime of everything inside, and the main file, walked on
 * the scan's threads; each one still there is added to `candidates`.
 */
async function summariseFolders(
  threads: FsThread[],
  root: string,
  layout: InstrumentLayout,
  folders: Candidate[],
  candidates: Candidate[],
  errors: ScanResult['errors'],
): Promise<void> {
  const main = layout.type === 'bruker' ? BRUKER_MAIN_FILE : '';
  const folderJobs = folders.map(async (c, k) => {
    const t = await (threads[k % threads.length] as FsThread).tree(c.path, main);
    if ('gone' in t) return;
    if ('error' in t) {
      if (OFFLINE_CODES.has(t.error.code)) throw offlineError(root, t.error);
      errors.push({ path: c.path, message: describeFault(t.error) }); // keyed by the candidate
      return;
    }
    c.size = t.size;
    c.mtimeMs = t.mtimeMs;
    c.mainFilePresent = layout.type !== 'bruker' || t.hasMain;
    c.tree = { rels: t.rels, nums: t.nums };
    candidates.push(c);
  });
  await Promise.all(folderJobs);
}

function candidate(
  prefix: string,
  name: string,
  kind: Candidate['kind'],
  size: number,
  mtimeMs: number,
  corrupted: boolean,
): Candidate {
  return { name, kind, path: prefix + name, companions: [], size, mtimeMs, mainFilePresent: true, corrupted };
}

function member(e: StatEntry): Member {
  return { rel: e.name, size: e.size, mtimeMs: e.mtimeMs };
}
