/**
 * The periodic scan of one instrument (task kind `intake.scan`, one schedule per instrument):
 * reads the watch folder, records new raw data as `discovered`, follows growing files, applies the
 * acquisition-done rules, and hands finished acquisitions to backup — all in the transaction that
 * completes the scan task, so a crash mid-scan leaves nothing half-recorded (the next scan redoes it).
 *
 * Identity: the latest record of a name on an instrument is the file. A name that reappears with
 * different content after its acquisition finished becomes a new record with a collision id; the
 * old record stays. A file that disappears before it was backed up is reported on its record
 * (`error`, or `acquisition_failed` when the instrument renamed it `_CORRUPTED`), never crashed on.
 * An unreachable folder marks the instrument offline and records nothing about its files.
 */
import path from 'node:path';
import type { Config, InstrumentConfig } from '../core/config/index.ts';
import type { Tx } from '../core/db/db.ts';
import { SluiceError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { Variables } from '../core/variables.ts';
import { enqueue } from '../engine/enqueue.ts';
import { recordEvent } from '../engine/events.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { ACQUIRING, type FileStatus, transition } from '../files/lifecycle.ts';
import { collisionId, fileId, sameAcquisition } from './file-id.ts';
import { corruptedOriginalName } from './instrument-types.ts';
import { assignProject } from './projects.ts';
import { acquisitionSettings, decideAcquisition, type Tracked } from './rules.ts';
import { type Candidate, freeSpace, scanFolder } from './scan.ts';

const ACTOR = 'intake';

export interface IntakeDeps {
  config: Config;
  vars: Variables;
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
  return Object.entries(config.instruments).map(([id, inst]) => ({
    name: `scan:${id}`,
    kind: 'intake.scan',
    payload: { instrument: id },
    pool: 'scan',
    tags: inst.tags,
    intervalMs: Math.round(inst.scan_interval_seconds * 1000),
  }));
}

export function backupTaskFor(
  fileIdValue: string,
  inst: InstrumentConfig,
  payload: Record<string, unknown> = {},
) {
  return {
    kind: 'backup.copy',
    subject: fileIdValue,
    pool: 'copy',
    tags: inst.tags,
    payload,
    maxAttempts: 12,
    dedupeKey: `backup:${fileIdValue}`,
  };
}

export function scanHandler(deps: IntakeDeps): TaskHandlerDef {
  return {
    kind: 'intake.scan',
    async run(ctx) {
      const id = String(ctx.task.payload.instrument);
      const inst = deps.config.instruments[id];
      if (!inst) {
        ctx.log.warn({ instrument: id }, 'instrument no longer in the config; scan skipped');
        return;
      }
      const log = ctx.log.child({ instrument: id });
      const started = Date.now();
      let candidates: Candidate[];
      let entryErrors: { path: string; message: string }[];
      try {
        const r = await scanFolder(inst.watch, inst.type, {
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
      const space = await freeSpace(inst.watch).catch(() => undefined);
      const maxAge = await deps.vars.get('max_file_age_hours');
      await ctx.complete(async (tx) => {
        const stats = await reconcile(tx, {
          id,
          inst,
          config: deps.config,
          candidates,
          entryErrors,
          maxAge,
          now: Date.now(),
          log,
        });
        await markOnline(tx, id, space, stats.newFiles > 0);
        if (stats.newFiles + stats.changed > 0) {
          log.info({ ...stats, ms: Date.now() - started }, 'scan');
        }
      });
    },
  };
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

interface ReconcileInput {
  id: string;
  inst: InstrumentConfig;
  config: Config;
  candidates: Candidate[];
  entryErrors: { path: string; message: string }[];
  maxAge: number | null;
  now: number;
  log: Logger;
}

async function reconcile(tx: Tx, r: ReconcileInput) {
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
    const finished = rec ? !ACQUIRING.includes(rec.status) : false;
    if (
      rec &&
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
          await tx.exec(
            `update files set size_bytes = $2, mtime = $3, main_file_present = $4, last_change_at = now(), updated_at = now(), companions = $5 where id = $1`,
            [rec.id, c.size, new Date(c.mtimeMs), c.mainFilePresent, c.companions],
          );
        }
        tracked.set(c.name, { fileId: rec.id, status: rec.status, t, candidate: c });
      }
      continue;
    }
    // new raw data, or a name that came back with other content (collision)
    const newId = rec ? collisionId(c.name, new Date(r.now)) : fileId(c.name);
    if (!rec && (await tx.maybeOne('select 1 from files where id = $1', [newId]))) {
      // an id taken by another instrument's file of the same name
      continue;
    }
    const project = inst.project ?? assignProject(c.name, projects, config.fallback_project);
    await tx.exec(
      `insert into files (id, instrument_id, name, kind, companions, source_path, current_path, project_id, status, size_bytes, mtime, main_file_present)
       values ($1, $2, $3, $4, $5, $6, $6, $7, 'discovered', $8, $9, $10)`,
      [
        newId,
        id,
        c.name,
        c.kind,
        c.companions,
        c.path,
        project,
        c.size,
        new Date(c.mtimeMs),
        c.mainFilePresent,
      ],
    );
    await recordEvent(tx, {
      subjectType: 'file',
      subjectId: newId,
      actor: ACTOR,
      from: null,
      to: 'discovered',
      reason: rec
        ? `the name ${c.name} reappeared with different content; the earlier record ${rec.id} is kept`
        : `found in ${inst.watch}`,
      data: { size: c.size, path: c.path, project },
    });
    stats.newFiles++;
    tracked.set(c.name, { fileId: newId, status: 'discovered', t, candidate: c });
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
    mainFileTimeoutSeconds: inst.acquisition.main_file_timeout_seconds,
    maxFileAgeHours: r.maxAge,
  });
  for (const x of tracked.values()) {
    const d = decideAcquisition(x.t, all, r.now, settings);
    const from: FileStatus[] = ['discovered', 'acquiring'];
    if (d.decision === 'acquiring') {
      if (x.status === 'discovered')
        await transition(tx, x.fileId, 'acquiring', { actor: ACTOR, from, reason: d.reason });
      continue;
    }
    stats.decided++;
    if (d.decision === 'acquired') {
      await tx.exec('update files set acquired_at = now() where id = $1', [x.fileId]);
      if (await transition(tx, x.fileId, 'acquired', { actor: ACTOR, from, reason: d.reason })) {
        await enqueue(tx, backupTaskFor(x.fileId, inst));
      }
    } else {
      await transition(tx, x.fileId, d.decision, { actor: ACTOR, from, reason: d.reason });
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
