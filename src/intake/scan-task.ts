/**
 * The periodic scan of one instrument (task kind `intake.scan`, one schedule per instrument):
 * reads the watch folder, records new raw data as `discovered`, follows growing files, applies the
 * acquisition-done rules, and hands finished acquisitions to backup — all in the transaction that
 * completes the scan task, so a crash mid-scan leaves nothing half-recorded (the next scan redoes it).
 *
 * Identity: the latest record of a name on an instrument is the file. A name that reappears with
 * different content after its acquisition finished becomes a new record with a collision id; the
 * old record stays. Ids of new records are decided with the shared backup area
 * (backup-identity.ts), so separate databases agree on them (fallback and catch-up). A file that disappears before it was backed up is reported on its record
 * (`error`, or `acquisition_failed` when the instrument renamed it `_CORRUPTED`), never crashed on.
 * An unreachable folder marks the instrument offline and records nothing about its files.
 */
import path from 'node:path';
import type { Config, InstrumentConfig } from '../core/config/index.ts';
import { MAIN_FILE_TIMEOUT_SECONDS } from '../core/config/schema/instruments.ts';
import type { Tx } from '../core/db/db.ts';
import { SluiceError } from '../core/errors.ts';
import { inLanes } from '../core/lanes.ts';
import type { Logger } from '../core/log.ts';
import type { Variables } from '../core/variables.ts';
import { recordEvent } from '../engine/events.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { fingerprint } from '../files/fingerprint.ts';
import { ACQUIRING, type FileStatus, transition, transitionMany } from '../files/lifecycle.ts';
import { defineHandler, Kind, scheduleOf } from '../tasks/catalogue.ts';
import { identifyNew, listedPresence, type NewIdentity } from './backup-identity.ts';
import { collisionId, sameAcquisition } from './file-id.ts';
import { corruptedOriginalName } from './instrument-types.ts';
import { assignProject } from './projects.ts';
import { acquisitionSettings, decideAcquisition, type Tracked } from './rules.ts';
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
}

export interface IntakeDeps {
  config: Config;
  vars: Variables;
  /** The flow's `report` (injected by src/runtime/handlers.ts). */
  report(tx: Tx, outcome: Acquired): Promise<void>;
}

interface KnownRow {
  id: string;
  name: string;
  status: FileStatus;
  size_bytes: string;
  mtime: Date;
  first_seen_at: Date;
  last_change_at: Date;
  main_file_present: boolean;
  instrument_copy: string;
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

export function scanHandler(deps: IntakeDeps): TaskHandlerDef {
  const timeoutMs = scanTimeoutMs(deps.config);
  return defineHandler(Kind.intakeScan, {
    // The folder calls have their own deadline (above); this catches the rest (e.g. the backup
    // target, asked about new names) hanging (engine/stall.ts).
    stallMs: deps.config.worker.stall_seconds * 1000,
    async run(ctx) {
      const id = ctx.payload.instrument;
      const inst = deps.config.instruments[id];
      if (!inst) {
        ctx.log.warn({ instrument: id }, 'instrument no longer in the config; scan skipped');
        return;
      }
      const log = ctx.log.child({ instrument: id });
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

async function markOffline(tx: Tx, id: string, reason: string, log: Logger): Promise<void> {
  const prev = await tx.maybeOne<{ online: boolean | null }>(
    `update instruments i set online = false, offline_reason = $2, checked_at = now(), updated_at = now()
     from (select online from instruments where id = $1 for update) p where i.id = $1 returning p.online`,
    [id, reason],
  );
  if (prev?.online !== false) {
    log.warn({ reason }, 'instrument offline');
    await recordEvent(tx, {
      subjectType: 'instrument',
      subjectId: id,
      actor: ACTOR,
      from: 'online',
      to: 'offline',
      reason,
    });
  }
}

async function markOnline(
  tx: Tx,
  id: string,
  space: { freeBytes: number; totalBytes: number } | undefined,
  newFile: boolean,
): Promise<void> {
  const prev = await tx.maybeOne<{ online: boolean | null }>(
    `update instruments i set online = true, offline_reason = null, checked_at = now(), updated_at = now(),
       free_bytes = $2, total_bytes = $3, last_new_file_at = case when $4 then now() else i.last_new_file_at end
     from (select online from instruments where id = $1 for update) p where i.id = $1 returning p.online`,
    [id, space?.freeBytes ?? null, space?.totalBytes ?? null, newFile],
  );
  if (prev && prev.online === false) {
    await recordEvent(tx, {
      subjectType: 'instrument',
      subjectId: id,
      actor: ACTOR,
      from: 'offline',
      to: 'online',
      reason: 'watch folder readable again',
    });
  }
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

/** The merge of one scan of a watch folder into the instrument's file records. */
async function mergeScan(tx: Tx, r: MergeInput) {
  const { id, inst, config } = r;
  const known = new Map<string, KnownRow>();
  for (const row of await tx.query<KnownRow>(
    `select distinct on (name) id, name, status, size_bytes, mtime, first_seen_at, last_change_at, main_file_present, instrument_copy
     from files where instrument_id = $1 order by name, created_at desc`,
    [id],
  )) {
    known.set(row.name, row);
  }
  const projects = Object.entries(config.projects).map(([pid, p]) => ({ id: pid, tokens: p.tokens }));
  const stats = { newFiles: 0, changed: 0, decided: 0, vanished: 0 };
  const tracked = new Map<string, { fileId: string; status: FileStatus; t: Tracked; candidate: Candidate }>();
  const seen = new Set<string>();
  // Writes are collected and sent in a few multi-row statements at the end of each phase: a scan that
  // finds 10,000 new files makes ~10 round trips, not ~50,000.
  const changedRows: ChangedRow[] = [];
  const unidentified: { project: string; c: Candidate; t: Tracked; rec: KnownRow | undefined }[] = [];
  const returned: { id: string; path: string }[] = [];

  // the database keeps mtimes to the millisecond; compare at that precision
  for (const c of r.candidates) c.mtimeMs = Math.floor(c.mtimeMs);
  for (const c of r.candidates) {
    seen.add(c.name);
    const rec = known.get(c.name);
    const t: Tracked = {
      name: c.name,
      firstSeenMs: r.now,
      lastChangeMs: r.now,
      size: c.size,
      mtimeMs: c.mtimeMs,
      mainFilePresent: c.mainFilePresent,
      corrupted: c.corrupted,
    };
    // what is left of a copy the remover is deleting (or was, when it was stopped): not new data
    if (rec?.instrument_copy === 'removing') continue;
    const finished = rec ? !ACQUIRING.includes(rec.status) : false;
    // Back, unchanged, after it disappeared before its backup (someone put it back): the same
    // acquisition, which goes on; the rules below decide it again.
    if (
      rec?.instrument_copy === 'missing' &&
      rec.status === 'error' &&
      sameAcquisition(
        { size: Number(rec.size_bytes), mtimeMs: rec.mtime.getTime(), acquisitionFinished: true },
        { size: c.size, mtimeMs: c.mtimeMs },
      )
    ) {
      returned.push({ id: rec.id, path: c.path });
      t.firstSeenMs = rec.first_seen_at.getTime(); // the stable window starts now (lastChangeMs)
      tracked.set(c.name, { fileId: rec.id, status: 'acquiring', t, candidate: c });
      continue;
    }
    // A record whose data was lost (changed before its backup: backup-task.ts) is never the same
    // acquisition: whatever its name holds now is new data, even where size and mtime look the same.
    if (
      rec &&
      rec.status !== 'lost' &&
      (!finished ||
        sameAcquisition(
          { size: Number(rec.size_bytes), mtimeMs: rec.mtime.getTime(), acquisitionFinished: finished },
          { size: c.size, mtimeMs: c.mtimeMs },
        ))
    ) {
      if (!finished) {
        const changed =
          Number(rec.size_bytes) !== c.size ||
          rec.mtime.getTime() !== c.mtimeMs ||
          rec.main_file_present !== c.mainFilePresent;
        t.firstSeenMs = rec.first_seen_at.getTime();
        t.lastChangeMs = changed ? r.now : rec.last_change_at.getTime();
        if (changed) {
          stats.changed++;
          changedRows.push({
            id: rec.id,
            size: c.size,
            mtime: new Date(c.mtimeMs).toISOString(),
            main_file_present: c.mainFilePresent,
            companions: c.companions,
          });
        }
        tracked.set(c.name, { fileId: rec.id, status: rec.status, t, candidate: c });
      }
      continue;
    }
    // new raw data, or a name that came back with other content (collision)
    const project = inst.project ?? assignProject(c.name, projects, config.fallback_project);
    unidentified.push({ project, c, t, rec });
  }
  await updateChanged(tx, changedRows);
  // Each new name looks at the backup area (a few filesystem calls): many at once, in list order.
  // Many new names: one listing of each backup folder instead of a look per name.
  const present = unidentified.length >= LIST_BACKUP_FOLDERS_FROM ? listedPresence() : undefined;
  const idents: NewIdentity[] = new Array(unidentified.length);
  await inLanes(
    unidentified.map((_, i) => i),
    IDENTIFY_LANES,
    async (i) => {
      const { project, c, rec } = unidentified[i]!;
      idents[i] = await identifyNew(config, id, project, c, rec !== undefined, present);
    },
  );
  const fresh = unidentified.map((u, i) => ({ ...u, ident: idents[i]! }));

  // Ids are shared by all instruments. A plain id already taken (by another instrument's file of the
  // same name) gets a collision id from the file's mtime instead, and the reason says why; a
  // collision id taken by an earlier collision within the same second gets the detection time.
  const taken = new Set(
    (
      await tx.query<{ id: string }>('select id from files where id = any($1::text[])', [
        fresh.map((x) => x.ident.id),
      ])
    ).map((row) => row.id),
  );
  const inserts: NewFileRow[] = [];
  for (const { ident, project, c, t, rec } of fresh) {
    let newId = ident.id;
    let reason = rec
      ? rec.status === 'lost'
        ? `the name ${c.name} holds other data than the earlier record ${rec.id} acquired (lost before its backup); recorded as new data`
        : Number(rec.size_bytes) !== c.size
          ? `the name ${c.name} reappeared with other content (${c.size} bytes, was ${rec.size_bytes}); the earlier record ${rec.id} is kept`
          : `the name ${c.name} reappeared with another modification time (same size; the content is compared before its backup); the earlier record ${rec.id} is kept`
      : (ident.reason ?? `found in ${inst.watch}`);
    if (taken.has(newId) && !ident.collision) {
      newId = collisionId(c.name, new Date(c.mtimeMs));
      reason = `the id ${ident.id} is already taken by a file of another instrument; found in ${inst.watch}`;
    }
    if (taken.has(newId)) newId = collisionId(c.name, new Date(r.now));
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
    stats.newFiles++;
    tracked.set(c.name, { fileId: newId, status: 'discovered', t, candidate: c });
  }
  await insertDiscovered(tx, id, inserts);
  for (const back of returned) {
    await tx.exec(
      `update files set instrument_copy = 'present', current_path = $2, last_change_at = now()
       where id = $1 and instrument_copy = 'missing'`,
      [back.id, back.path],
    );
    await transition(tx, back.id, 'acquiring', {
      actor: ACTOR,
      from: ['error'],
      reason: `back in ${inst.watch}, unchanged, after it disappeared: acquiring again`,
    });
  }

  // acquisition rules for everything still acquiring
  const all = [...tracked.values()].map((x) => x.t);
  for (const c of r.candidates) {
    if (!tracked.has(c.name)) {
      all.push({
        name: c.name,
        firstSeenMs: 0,
        lastChangeMs: 0,
        size: c.size,
        mtimeMs: c.mtimeMs,
        mainFilePresent: c.mainFilePresent,
        corrupted: c.corrupted,
      });
    }
  }
  const settings = acquisitionSettings({
    stableWindowSeconds: inst.acquisition.stable_window_seconds,
    newerFileMeansDone: inst.acquisition.newer_file_means_done,
    considerOldFilesAcquired: inst.acquisition.consider_old_files_acquired,
    oldFileThresholdHours: inst.acquisition.old_file_threshold_hours,
    // set for Bruker only (the others have no main file to wait for)
    mainFileTimeoutSeconds: inst.acquisition.main_file_timeout_seconds ?? MAIN_FILE_TIMEOUT_SECONDS,
    emptyFileTimeoutSeconds: inst.acquisition.empty_file_timeout_seconds,
    maxFileAgeHours: r.maxAge,
  });
  // Transitions grouped by target state, each group in one statement (transitionMany), in the order
  // the files were seen.
  const moves = new Map<FileStatus, { ids: string[]; reasons: string[] }>();
  const move = (to: FileStatus, fileIdValue: string, reason: string) => {
    let m = moves.get(to);
    if (!m) {
      m = { ids: [], reasons: [] };
      moves.set(to, m);
    }
    m.ids.push(fileIdValue);
    m.reasons.push(reason);
  };
  // The rules look at the other files only for the newest one (by mtime, non-empty; the first of
  // equals in scan order): passing the two newest gives the same decisions as passing all of them,
  // without the O(n²) of every file scanning every other (10,000 new files: 10^8 steps per scan).
  const rivals = newestTwo(all);
  for (const x of tracked.values()) {
    const d = decideAcquisition(x.t, rivals, r.now, settings);
    if (d.decision === 'acquiring') {
      if (x.status === 'discovered') move('acquiring', x.fileId, d.reason);
      continue;
    }
    stats.decided++;
    move(d.decision, x.fileId, d.reason);
  }
  const from: FileStatus[] = ['discovered', 'acquiring'];
  for (const [to, m] of moves) {
    if (to === 'acquired') {
      await recordAcquired(tx, m.ids, tracked);
    }
    const moved = await transitionMany(tx, m.ids, to, { actor: ACTOR, from, reason: m.reasons });
    if (to === 'acquired') {
      // only files that really moved are reported (and get a backup task)
      if (moved.length > 0) await r.report(tx, { kind: 'acquired', instrument: id, files: moved });
    }
  }

  // records still acquiring that are no longer in the folder
  const unreadable = new Set(r.entryErrors.map((e) => path.basename(e.path)));
  const corruptedOf = new Map<string, string>();
  for (const name of seen) {
    const orig = corruptedOriginalName(name);
    if (orig) corruptedOf.set(orig.toLowerCase(), name);
  }
  for (const rec of known.values()) {
    if (!ACQUIRING.includes(rec.status) || seen.has(rec.name) || unreadable.has(rec.name)) continue;
    stats.vanished++;
    const renamed = corruptedOf.get(rec.name.toLowerCase());
    await tx.exec(`update files set instrument_copy = 'missing', current_path = null where id = $1`, [
      rec.id,
    ]);
    if (renamed) {
      await transition(tx, rec.id, 'acquisition_failed', {
        actor: ACTOR,
        from: ACQUIRING,
        reason: `the instrument renamed it to ${renamed}: the acquisition failed`,
      });
    } else {
      await transition(tx, rec.id, 'error', {
        actor: ACTOR,
        from: ACQUIRING,
        reason: `disappeared from ${inst.watch} before it was backed up (renamed or deleted on the instrument?)`,
      });
    }
  }
  for (const e of r.entryErrors) r.log.warn({ path: e.path, err: e.message }, 'entry could not be read');
  return stats;
}

/**
 * `acquired_at` and the acquired fingerprint (files/fingerprint.ts) of the files declared acquired,
 * from what this scan saw of them: the record stands for exactly these bytes from now on.
 */
async function recordAcquired(
  tx: Tx,
  ids: string[],
  tracked: Map<string, { fileId: string; candidate: Candidate }>,
): Promise<void> {
  const byId = new Map([...tracked.values()].map((x) => [x.fileId, x.candidate]));
  const rows = ids.map((id) => {
    const c = byId.get(id)!;
    return { id, fp: fingerprint(c.size, c.mtimeMs, candidateMembers(c)) };
  });
  await tx.exec(
    `update files f set acquired_at = now(), acquired_fingerprint = x.fp
     from jsonb_to_recordset($1::jsonb) as x(id text, fp jsonb)
     where f.id = x.id and f.status in ('discovered', 'acquiring')`,
    [JSON.stringify(rows)],
  );
}

interface ChangedRow {
  id: string;
  size: number;
  mtime: string;
  main_file_present: boolean;
  companions: string[];
}

/** Size, mtime, main file and companions of growing files, one statement for all. */
async function updateChanged(tx: Tx, rows: ChangedRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.exec(
    `update files f set size_bytes = x.size, mtime = x.mtime, main_file_present = x.main_file_present,
       last_change_at = now(), updated_at = now(), companions = x.companions
     from jsonb_to_recordset($1::jsonb) as x(id text, size bigint, mtime timestamptz, main_file_present boolean, companions text[])
     where f.id = x.id`,
    [JSON.stringify(rows)],
  );
}

interface NewFileRow {
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

/** New file records (`discovered`) and their first events, in two statements for all. */
async function insertDiscovered(tx: Tx, instrument: string, rows: NewFileRow[]): Promise<void> {
  if (rows.length === 0) return;
  const json = JSON.stringify(rows.map((row, ord) => ({ ...row, ord })));
  await tx.exec(
    `insert into files (id, instrument_id, name, kind, companions, source_path, current_path, project_id, status, size_bytes, mtime, main_file_present)
     select x.id, $1, x.name, x.kind, x.companions, x.path, x.path, x.project, 'discovered', x.size, x.mtime, x.main_file_present
     from jsonb_to_recordset($2::jsonb) as x(id text, name text, kind text, companions text[], path text, project text, size bigint, mtime timestamptz, main_file_present boolean, ord int)
     order by x.ord`,
    [instrument, json],
  );
  await tx.exec(
    `insert into events (subject_type, subject_id, actor, from_state, to_state, reason, data)
     select 'file', x.id, $1, null, 'discovered', x.reason, x.data
     from jsonb_to_recordset($2::jsonb) as x(id text, reason text, data jsonb, ord int)
     order by x.ord`,
    [ACTOR, json],
  );
}

/**
 * The first non-empty entry with the latest mtime and, among the others, the next such: all that
 * `decideAcquisition` needs of `all` (rules 5 and 6 take the newest file other than the one decided).
 */
function newestTwo(all: readonly Tracked[]): Tracked[] {
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
