/**
 * Task `cleanup.remove` (one schedule per instrument with `cleanup.enabled`): frees an instrument's
 * disk when its free space is below `min_free_space_gb`, by deleting the oldest instrument copies
 * older than `min_file_age_days` — and only after re-reading BOTH the instrument copy and the backup
 * and matching them against the hashes recorded at backup. A mismatch on either side keeps the file
 * and is raised on the file's timeline (a corrupt backup is marked `corrupt`).
 *
 * The backup is re-read FROM STORAGE (O_DIRECT, backup/storage-read.ts), not from the page cache that
 * may still hold what was just written; the re-read is recorded as a fixity check of the copy
 * (backup/fixity.ts) and the removal note says how it was read. Where the backup's filesystem refuses
 * O_DIRECT, the read goes through the cache, and with `cleanup.require_storage_read` (default true)
 * the copy is kept and the timeline says why. A copy marked `corrupt` meanwhile (by a fixity audit)
 * stops the deletion: its state is checked again after the verification, just before the deletion
 * begins.
 *
 * Refused outside the `production` environment unless `cleanup.allow_outside_production` is true,
 * and always on a fallback instance (`instance.mode: fallback`, src/core/instance.ts).
 * With the variable `cleanup_dry_run` (default true) it only records what it would delete.
 *
 * Before it verifies and deletes an instrument copy, the remover moves it into a hidden folder next to
 * it (`Place`): what it deletes is exactly what it verified there, and nothing that writes by name (the
 * instrument re-using the name, software adding results to a `.d` folder) can reach it meanwhile.
 * A copy whose sizes differ in place is refused without being moved. A read-only share or missing
 * permissions are recorded on the file; they stop the pass when they repeat.
 *
 * Crash points (`removeCopy`): the file is marked `removing` with its hidden path before anything is
 * moved; the next pass takes it up where it stopped (`finishUnfinished`), and scans leave the name
 * alone meanwhile. A kill before the deletion began leaves a copy that is verified again (and moved
 * back if it does not verify); after it began (the hidden folder holds a mark), the deletion is
 * finished once the backup verifies again.
 */

import { sourceRoot } from '../backup/manifest.ts';
import type { StorageReadOptions } from '../backup/storage-read.ts';
import { checkBackupTarget, recordTargetState } from '../backup/target.ts';
import { verifyCopy } from '../backup/verify.ts';
import type { Config, InstrumentConfig } from '../core/config/index.ts';
import type { Db } from '../core/db/db.ts';
import { isFallback } from '../core/instance.ts';
import type { Logger } from '../core/log.ts';
import { ownEntry } from '../core/own.ts';
import type { Variables } from '../core/variables.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { BACKED_UP } from '../files/lifecycle.ts';
import { type RemovalCandidate, removalCandidates } from '../files/removal.ts';
import { freeSpace } from '../storage/disk.ts';
import { errnoCode } from '../storage/fsutil.ts';
import { sourceSpec } from '../storage/raw-data.ts';
import { defineHandler, Kind, scheduleOf } from '../tasks/catalogue.ts';
import { placeOf } from './place.ts';
import { failed, refuseBackup, refuseDiffering } from './refusals.ts';
import { type CheckOptions, checkBackup, finishUnfinished, removeCopy } from './remove-copy.ts';
import { GB, passRefusal, spaceEnough, stopsPass } from './remover-rules.ts';

export interface RemoverDeps {
  config: Config;
  vars: Variables;
  /** How the backup is opened for a read from storage (default O_DIRECT; tests stand in a refusal). */
  openDirect?: StorageReadOptions['openDirect'];
}

export function removerSchedules(config: Config): ScheduleSpec[] {
  if (isFallback(config)) return []; // and `sluice start` removes the schedules of an earlier run
  return Object.entries(config.instruments)
    .filter(([, inst]) => inst.cleanup.enabled)
    .map(([id, inst]) =>
      scheduleOf(Kind.cleanupRemove, {
        name: `remove:${id}`,
        payload: { instrument: id },
        tags: inst.tags,
        intervalMs: 15 * 60_000,
      }),
    );
}

export interface RemoverReport {
  instrument: string;
  enabled: boolean;
  reason?: string;
  dryRun: boolean;
  freeBefore?: number;
  freeAfter?: number;
  /** The free space the remover aims for (min_free_space_gb, the instrument's or the variable). */
  minFreeGb?: number;
  removed: string[];
  wouldRemove: string[];
  refused: { id: string; problems: string[] }[];
}

type Candidate = RemovalCandidate;

/** A file the remover is about to verify (for progress output), `index` of `count` candidates. */
export interface RemoverCandidate {
  id: string;
  bytes: number;
  path: string;
  index: number;
  count: number;
}

/** What a remover pass is asked to do (see `runRemover`). */
export interface RemoverOptions {
  dryRun?: boolean;
  force?: boolean;
  signal?: AbortSignal;
  onCandidate?: (c: RemoverCandidate) => void;
}

/**
 * One remover pass over an instrument (the `cleanup.remove` task). `dryRun` overrides the
 * `cleanup_dry_run` variable; `force` takes every candidate old enough, even when the free space is
 * enough (`sluice cleanup check --all`); `onCandidate` is told before each candidate is verified.
 */
export async function runRemover(
  db: Db,
  deps: RemoverDeps,
  id: string,
  log: Logger,
  opts: RemoverOptions = {},
): Promise<RemoverReport> {
  const inst: InstrumentConfig | undefined = ownEntry(deps.config.instruments, id);
  const dryRun = opts.dryRun ?? (await deps.vars.get('cleanup_dry_run'));
  const report: RemoverReport = {
    instrument: id,
    enabled: false,
    dryRun,
    removed: [],
    wouldRemove: [],
    refused: [],
  };
  const refusal = passRefusal(deps.config, id);
  if (refusal || !inst) return { ...report, reason: refusal };
  report.enabled = true;
  // Re-verifying "backups" on the wrong disk (an unmounted share's empty folder) would mark good
  // copies corrupt, or pass copies that are not on the share: nothing is touched (target.ts).
  const target = await checkBackupTarget(deps.config, db, { write: false });
  await recordTargetState(db, id, target.ok ? null : target.reason);
  if (!target.ok) {
    log.warn({ instrument: id, reason: target.reason }, 'remover pass skipped: backup target unavailable');
    return {
      ...report,
      reason: `nothing deleted: backup target unavailable: ${target.reason} — ${target.hint}`,
    };
  }
  const check: CheckOptions = {
    signal: opts.signal,
    requireStorage: deps.config.cleanup.require_storage_read,
    openDirect: deps.openDirect,
    config: deps.config,
  };
  await finishUnfinished(db, inst, id, report, log, { ...check, dryRun });
  const minFreeGb = inst.cleanup.min_free_space_gb ?? (await deps.vars.get('min_free_space_gb'));
  const minAgeDays = inst.cleanup.min_file_age_days ?? (await deps.vars.get('min_file_age_days'));
  const free = (await freeSpace(inst.watch)).freeBytes;
  report.freeBefore = free;
  report.minFreeGb = minFreeGb;
  if (spaceEnough(free, minFreeGb, opts.force)) {
    report.freeAfter = free;
    report.reason = `free space ${(free / GB).toFixed(1)} GB ≥ min_free_space_gb ${minFreeGb}`;
    return report;
  }
  const candidates = await removalCandidates(db, id, BACKED_UP, minAgeDays);
  report.freeAfter = await removeCandidates(db, inst, candidates, free, minFreeGb, report, log, {
    ...opts,
    dryRun,
    check,
  });
  return report;
}

/**
 * The candidates in order (oldest first) until the free space is enough: each verified (both copies)
 * and removed, or in a dry run only verified and counted. Returns the free space after.
 */
async function removeCandidates(
  db: Db,
  inst: InstrumentConfig,
  candidates: Candidate[],
  freeBefore: number,
  minFreeGb: number,
  report: RemoverReport,
  log: Logger,
  opts: RemoverOptions & { dryRun: boolean; check: CheckOptions },
): Promise<number> {
  let free = freeBefore;
  let permissionFailures = 0;
  const { check } = opts;
  const handled = new Set([...report.removed, ...report.refused.map((x) => x.id)]); // finishUnfinished
  for (const [index, f] of candidates.entries()) {
    if (spaceEnough(free, minFreeGb, opts.force) || opts.signal?.aborted) break;
    if (handled.has(f.id)) continue;
    opts.onCandidate?.({
      id: f.id,
      bytes: Number(f.size_bytes),
      path: f.current_path!,
      index,
      count: candidates.length,
    });
    const here = sourceRoot(sourceSpec(f));
    if (opts.dryRun) {
      const [orig, backup] = await Promise.all([
        verifyCopy(here, f.kind, f.manifest!, { signal: opts.signal }),
        checkBackup(db, f, check),
      ]);
      if (!backup.ok) await refuseBackup(db, f, backup, report, log);
      else if (!orig.ok) await refuseDiffering(db, f, orig.problems, report);
      else {
        report.wouldRemove.push(f.id);
        free += Number(f.size_bytes);
      }
      continue;
    }
    try {
      if (await removeCopy(db, f, placeOf(f, inst.watch), report, log, check)) {
        free = (await freeSpace(inst.watch)).freeBytes;
      }
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const kind = await failed(db, f, err, report, log);
      if (kind === 'permission') permissionFailures++;
      if (stopsPass(kind, permissionFailures)) {
        report.reason = `stopped: the instrument folder ${inst.watch} refuses changes (${errnoCode(err) ?? 'error'}); the remover needs write access there`;
        break;
      }
    }
  }
  return free;
}

export function removerHandler(deps: RemoverDeps): TaskHandlerDef {
  return defineHandler(Kind.cleanupRemove, {
    async run(ctx) {
      const r = await runRemover(ctx.db, deps, ctx.payload.instrument, ctx.log, {
        signal: ctx.signal,
      });
      if (r.removed.length || r.wouldRemove.length || r.refused.length) ctx.log.info(r, 'remover pass');
    },
  });
}
