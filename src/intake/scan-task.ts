/**
 * The periodic scan of one instrument (task kind `intake.scan`, one schedule per instrument):
 * reads the watch folder, records new raw data as `discovered`, follows growing files, applies the
 * acquisition-done rules, and reports finished acquisitions to the flow (src/pipeline/flow.ts, which
 * backs them up) — all in the transaction that completes the scan task, so a crash mid-scan leaves
 * nothing half-recorded (the next scan redoes it). What the merge of a scan into the records does is
 * decided in merge.ts (pure); `mergeScan` here reads and writes.
 *
 * Identity: the latest record of a name on an instrument is the file. A name that reappears with
 * different content after its acquisition finished becomes a new record with a collision id; the
 * old record stays. Ids of new records are decided with the shared backup area
 * (backup-identity.ts), so separate databases agree on them (fallback and catch-up). A file that
 * disappears before it was backed up is reported on its record (`error`, or `acquisition_failed`
 * when the instrument renamed it `_CORRUPTED`), never crashed on.
 * An unreachable folder marks the instrument offline and records nothing about its files.
 */
import path from 'node:path';
import type { Config, InstrumentConfig } from '../core/config/index.ts';
import { MAIN_FILE_TIMEOUT_SECONDS } from '../core/config/schema/instruments.ts';
import type { Tx } from '../core/db/db.ts';
import { SluiceError } from '../core/errors.ts';
import { inLanes } from '../core/lanes.ts';
import type { Logger } from '../core/log.ts';
import { ownEntry } from '../core/own.ts';
import type { Variables } from '../core/variables.ts';
import { recordDiscoveredEvents } from '../engine/events.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { fingerprint } from '../files/fingerprint.ts';
import { ACQUIRING, type FileStatus, transition, transitionMany } from '../files/lifecycle.ts';
import {
  existingIds,
  insertDiscoveredRecords,
  latestRecordsByName,
  markInstrumentCopyBack,
  markInstrumentCopyVanished,
  recordGrowth,
} from '../files/scan-records.ts';
import { defineHandler, Kind, scheduleOf } from '../tasks/catalogue.ts';
import { markSignalled, spendDecided } from './acquisition-signals.ts';
import { identifyNew, listedPresence, type NewIdentity } from './backup-identity.ts';
import { markOffline, markOnline } from './instrument-state.ts';
import {
  assignIds,
  type ChangedRow,
  decideMoves,
  type KnownRow,
  type Moves,
  type NewFileRow,
  sortCandidates,
  type TrackedFile,
  type Unidentified,
  type Vanished,
  vanishedRecords,
} from './merge.ts';
import { nativeStatStatus } from './native-stat.mjs';
import { assignProject } from './projects.ts';
import { type AcquisitionSettings, acquisitionSettings } from './rules.ts';
import { type Candidate, candidateMembers, probeFolder, scanFolder } from './scan.ts';

const ACTOR = 'intake';
/**
 * New names identified at once (identifyNew: an `access` of the backup path, more only when something
 * is there). One after the other, 9,400 new names held the scan's transaction open ~0.9 s before
 * their rows went in, and delayed their discovery by as much; 32 at a time, ~0.4 s.
 */
const IDENTIFY_LANES = 32;
/** From this many new names in one scan, backup folders are listed once (`listedPresence`). */
const LIST_BACKUP_FOLDERS_FROM = 64;

/**
 * What this stage reports, in the transaction that records it; the flow (src/pipeline/flow.ts)
 * decides what follows (a backup).
 */
export interface Acquired {
  kind: 'acquired';
  instrument: string;
  /** The records that moved to `acquired` in this scan, in the order they were seen. */
  files: string[];
  /** Their total sizes in bytes as acquired, same order (the flow batches small files' backups). */
  sizes?: (number | undefined)[];
}

export interface IntakeDeps {
  config: Config;
  vars: Variables;
  /** The flow's `report` (injected by src/runtime/handlers.ts). */
  report(tx: Tx, outcome: Acquired): Promise<void>;
}

export function scanSchedules(config: Config): ScheduleSpec[] {
  return Object.entries(config.instruments).map(([id, inst]) =>
    scheduleOf(Kind.intakeScan, {
      name: `scan:${id}`,
      payload: { instrument: id },
      tags: inst.tags,
      intervalMs: Math.round(inst.scan_interval_seconds * 1000),
    }),
  );
}

/**
 * A watch folder that does not answer within this long is offline: `worker.stall_seconds`, at most
 * 60 s (a scan of 100,000 entries takes about a second; an instrument should not wait five minutes
 * to be shown offline).
 */
export function scanTimeoutMs(config: Config): number {
  return Math.min(60, config.worker.stall_seconds) * 1000;
}

/** Whether this process said which lstat path its scans use (once, at its first scan). */
let nativeSaid = false;

/** Once per process: whether scans use the native stat helper or the pure-Node path, and why. */
function sayNativeStat(log: Logger): void {
  if (nativeSaid) return;
  nativeSaid = true;
  const s = nativeStatStatus();
  log.info({ native: s.loaded }, `native stat helper: ${s.detail}`);
}

export function scanHandler(deps: IntakeDeps): TaskHandlerDef {
  const timeoutMs = scanTimeoutMs(deps.config);
  return defineHandler(Kind.intakeScan, {
    // The folder calls have their own deadline (above); this catches the rest (e.g. the backup
    // target, asked about new names) hanging (engine/stall.ts).
    stallMs: deps.config.worker.stall_seconds * 1000,
    async run(ctx) {
      const id = ctx.payload.instrument;
      const inst = ownEntry(deps.config.instruments, id);
      if (!inst) {
        ctx.log.warn({ instrument: id }, 'instrument no longer in the config; scan skipped');
        return;
      }
      const log = ctx.log.child({ instrument: id });
      sayNativeStat(ctx.log);
      const started = Date.now();
      let candidates: Candidate[];
      let entryErrors: { path: string; message: string }[];
      let space: { freeBytes: number; totalBytes: number } | undefined;
      try {
        ctx.progress(`scanning ${inst.watch}`);
        // asked on a filesystem worker under the scan's deadline: a hung share blocks no pool thread
        const probe = await probeFolder(inst.watch, timeoutMs);
        space = probe.space;
        if (inst.require_mount && !probe.mounted) {
          // an unmounted share leaves an empty local folder: scanning it would see no files
          const reason = `${inst.watch} is not a mount point (require_mount is set): the instrument share is not mounted`;
          await ctx.complete((tx) => markOffline(tx, id, reason, log));
          return;
        }
        const r = await scanFolder(inst.watch, inst.type, {
          timeoutMs,
          generic:
            inst.type === 'generic' ? { glob: inst.glob!, kind: inst.entry_kind ?? 'file' } : undefined,
        });
        candidates = r.candidates;
        entryErrors = r.errors;
      } catch (err) {
        if (err instanceof SluiceError && err.code === 'intake.offline') {
          await ctx.complete((tx) => markOffline(tx, id, err.message, log));
          return;
        }
        throw err;
      }
      ctx.progress(`recording the scan of ${inst.watch}`);
      const maxAge = await deps.vars.get('max_file_age_hours');
      await ctx.complete(async (tx) => {
        const stats = await mergeScan(tx, {
          id,
          inst,
          config: deps.config,
          candidates,
          entryErrors,
          maxAge,
          now: Date.now(),
          log,
          report: deps.report,
        });
        await markOnline(tx, id, space, stats.newFiles > 0);
        if (stats.newFiles + stats.changed > 0) {
          log.info({ ...stats, ms: Date.now() - started }, 'scan');
        }
      });
    },
  });
}

interface MergeInput {
  id: string;
  inst: InstrumentConfig;
  config: Config;
  candidates: Candidate[];
  entryErrors: { path: string; message: string }[];
  maxAge: number | null;
  now: number;
  log: Logger;
  report: IntakeDeps['report'];
}

/**
 * The merge of one scan of a watch folder into the instrument's file records: the decisions are
 * merge.ts's (pure); this reads the records, identifies new names against the backup area and
 * writes. Writes are collected and sent in a few multi-row statements per phase: a scan that finds
 * 10,000 new files makes ~10 round trips, not ~50,000.
 */
async function mergeScan(tx: Tx, r: MergeInput) {
  const { id, inst, config } = r;
  const known = new Map<string, KnownRow>();
  for (const row of await latestRecordsByName(tx, id)) {
    known.set(row.name, row);
  }
  const projects = Object.entries(config.projects).map(([pid, p]) => ({ id: pid, tokens: p.tokens }));
  // the database keeps mtimes to the millisecond; compare at that precision
  for (const c of r.candidates) c.mtimeMs = Math.floor(c.mtimeMs);
  const sorted = sortCandidates(
    r.candidates,
    known,
    r.now,
    (name) => inst.project ?? assignProject(name, projects, config.fallback_project),
  );
  await updateChanged(tx, sorted.changedRows);
  const fresh = await identifyAll(config, id, sorted.unidentified);
  const taken = await existingIds(
    tx,
    fresh.map((x) => x.ident.id),
  );
  const added = assignIds(fresh, taken, inst.watch, r.now);
  for (const t of added.tracked) sorted.tracked.set(t.candidate.name, t);
  await insertDiscovered(tx, id, added.inserts);
  await recordReturned(tx, sorted.returned, inst.watch);
  const signalled = await markSignalled(tx, id, inst, sorted.tracked);
  const { moves, decided } = decideMoves(sorted.tracked, r.candidates, r.now, scanSettings(inst, r.maxAge));
  await applyMoves(tx, moves, sorted.tracked, r);
  if (signalled) await spendDecided(tx, id, sorted.tracked, moves);
  const unreadable = new Set(r.entryErrors.map((e) => path.basename(e.path)));
  const vanished = vanishedRecords(known.values(), sorted.seen, unreadable, inst.watch);
  await recordVanished(tx, vanished);
  for (const e of r.entryErrors) r.log.warn({ path: e.path, err: e.message }, 'entry could not be read');
  return {
    newFiles: added.inserts.length,
    changed: sorted.changedRows.length,
    decided,
    vanished: vanished.length,
  };
}

/** Each new name looks at the backup area (a few filesystem calls): many at once, in list order. */
async function identifyAll(
  config: Config,
  instrument: string,
  unidentified: Unidentified[],
): Promise<(Unidentified & { ident: NewIdentity })[]> {
  // Many new names: one listing of each backup folder instead of a look per name.
  const present = unidentified.length >= LIST_BACKUP_FOLDERS_FROM ? listedPresence() : undefined;
  const idents: NewIdentity[] = new Array(unidentified.length);
  await inLanes(
    unidentified.map((_, i) => i),
    IDENTIFY_LANES,
    async (i) => {
      const { project, c, rec } = unidentified[i]!;
      idents[i] = await identifyNew(config, instrument, project, c, rec !== undefined, present);
    },
  );
  return unidentified.map((u, i) => ({ ...u, ident: idents[i]! }));
}

/** Records back in the folder, unchanged, after they disappeared: acquiring again. */
async function recordReturned(
  tx: Tx,
  returned: { id: string; path: string }[],
  watch: string,
): Promise<void> {
  for (const back of returned) {
    await markInstrumentCopyBack(tx, back.id, back.path);
    await transition(tx, back.id, 'acquiring', {
      actor: ACTOR,
      from: ['error'],
      reason: `back in ${watch}, unchanged, after it disappeared: acquiring again`,
    });
  }
}

/** The instrument's acquisition settings (rules.ts) for this scan. */
function scanSettings(inst: InstrumentConfig, maxAge: number | null): AcquisitionSettings {
  return acquisitionSettings({
    stableWindowSeconds: inst.acquisition.stable_window_seconds,
    newerFileMeansDone: inst.acquisition.newer_file_means_done,
    considerOldFilesAcquired: inst.acquisition.consider_old_files_acquired,
    oldFileThresholdHours: inst.acquisition.old_file_threshold_hours,
    // set for Bruker only (the others have no main file to wait for)
    mainFileTimeoutSeconds: inst.acquisition.main_file_timeout_seconds ?? MAIN_FILE_TIMEOUT_SECONDS,
    emptyFileTimeoutSeconds: inst.acquisition.empty_file_timeout_seconds,
    maxFileAgeHours: maxAge,
  });
}

/**
 * The transitions, each target state in one statement (transitionMany); the files that really moved
 * to `acquired` get their acquired fingerprint and are reported to the flow (which backs them up).
 */
async function applyMoves(
  tx: Tx,
  moves: Moves,
  tracked: Map<string, TrackedFile>,
  r: MergeInput,
): Promise<void> {
  const from: FileStatus[] = ['discovered', 'acquiring'];
  for (const [to, m] of moves) {
    const acquired = to === 'acquired' ? acquiredFingerprints(m.ids, tracked) : undefined;
    const moved = await transitionMany(tx, m.ids, to, { actor: ACTOR, from, reason: m.reasons, acquired });
    if (to === 'acquired' && moved.length > 0) {
      const size = new Map([...tracked.values()].map((x) => [x.fileId, x.candidate.size]));
      const sizes = moved.map((id) => size.get(id));
      await r.report(tx, { kind: 'acquired', instrument: r.id, files: moved, sizes });
    }
  }
}

/** Records still acquiring that are no longer in the folder: their instrument copy is missing. */
async function recordVanished(tx: Tx, vanished: Vanished[]): Promise<void> {
  for (const v of vanished) {
    await markInstrumentCopyVanished(tx, v.id);
    await transition(tx, v.id, v.to, { actor: ACTOR, from: ACQUIRING, reason: v.reason });
  }
}

/**
 * The acquired fingerprints (files/fingerprint.ts) of the files declared acquired, from what this
 * scan saw of them, in `ids` order: set with their `acquired` transition (with `acquired_at`), the
 * record stands for exactly these bytes from then on.
 */
function acquiredFingerprints(
  ids: string[],
  tracked: Map<string, { fileId: string; candidate: Candidate }>,
): object[] {
  const byId = new Map([...tracked.values()].map((x) => [x.fileId, x.candidate]));
  return ids.map((id) => {
    const c = byId.get(id)!;
    return fingerprint(c.size, c.mtimeMs, candidateMembers(c));
  });
}

/** Size, mtime, main file and companions of growing files, one statement for all. */
async function updateChanged(tx: Tx, rows: ChangedRow[]): Promise<void> {
  if (rows.length === 0) return;
  await recordGrowth(tx, rows);
}

/** New file records (`discovered`) and their first events, in two statements for all. */
async function insertDiscovered(tx: Tx, instrument: string, rows: NewFileRow[]): Promise<void> {
  if (rows.length === 0) return;
  const json = JSON.stringify(rows.map((row, ord) => ({ ...row, ord })));
  await insertDiscoveredRecords(tx, instrument, json);
  await recordDiscoveredEvents(tx, ACTOR, json);
}
