/**
 * What an archive holds besides the raw set when a policy asks for it (`what: [raw, outputs,
 * metrics]`, issue #20 item 2):
 *   - `outputs`: every file of each successful job's output folder, at
 *     `outputs/<instrument>/<file id>/<job id>/<rel>`. Nothing recorded their hashes before, so they
 *     are hashed while packed (first sight) and verified from the archive on (read-back, fixity,
 *     retrieval), like raw members;
 *   - `metrics`: the file's metric rows (name, value, unit, settings, job, settings hash) written as
 *     `metrics/<instrument>/<file id>/metrics.json`, hashed like any member.
 * Both live outside `data/` (the raw set's folder), so no name in a raw folder can collide with them.
 *
 * Outputs are only packed once the file's processing has ended: while the file is before `processed`
 * (or any of its jobs is still active, e.g. a re-run) the set waits (`waitFor`). Each archive holds
 * the outputs of every successful job at the time it is packed (the latest job per output folder).
 * The decisions are pure (`waitFor`, `finishedJobs`, `metricsJson`); `extrasOf` reads the rows and
 * walks the folders.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { ArchiveWhat } from '../core/config/schema/archive.ts';
import type { Queryable } from '../core/db/db.ts';
import { FILE_STATUSES } from '../files/lifecycle.ts';
import { type FileRow, getFile } from '../files/repo.ts';
import { metricRowsForArchive } from '../metrics/store.ts';
import { ACTIVE_STATES, type JobRow, jobsOf } from '../process/jobs.ts';
import { errnoCode } from '../storage/fsutil.ts';

/** A member without a recorded hash: a job's output file, or text written at pack time (metrics). */
export type ExtraSource =
  | {
      kind: 'output';
      jobRowId: string;
      path: string;
      rel: string;
      file: string;
      size: number;
      mode: number;
      mtime: Date;
    }
  | { kind: 'metrics'; path: string; rel: string; text: string };

/**
 * Statuses before processing has ended (a file in them waits when outputs are asked for): those
 * FILE_STATUSES lists before `processed` (the lifecycle's order).
 */
const BEFORE_PROCESSED: ReadonlySet<string> = new Set(
  FILE_STATUSES.slice(0, FILE_STATUSES.indexOf('processed')),
);
export const METRICS_NAME = 'metrics.json';

export function outputMemberPath(instrumentId: string, fileId: string, jobId: string, rel: string): string {
  return `outputs/${instrumentId}/${fileId}/${jobId}/${rel}`;
}

export function metricsMemberPath(instrumentId: string, fileId: string): string {
  return `metrics/${instrumentId}/${fileId}/${METRICS_NAME}`;
}

/** Pure: why the set must wait before its outputs can be packed (undefined: it need not). */
export function waitFor(
  what: readonly ArchiveWhat[],
  status: string,
  jobs: readonly Pick<JobRow, 'id' | 'state'>[],
): string | undefined {
  if (!what.includes('outputs')) return undefined;
  if (BEFORE_PROCESSED.has(status)) return `its processing has not finished (status ${status})`;
  const active = jobs.find((j) => ACTIVE_STATES.includes(j.state));
  if (active) return `job ${active.id} is still ${active.state}`;
  return undefined;
}

/** Pure: the successful jobs whose outputs are packed: the latest per output folder, in id order. */
export function finishedJobs<T extends Pick<JobRow, 'id' | 'outcome' | 'output_dir'>>(
  jobs: readonly T[],
): T[] {
  const latest = new Map<string, T>();
  for (const j of jobs) {
    if (j.outcome !== 'success') continue;
    const had = latest.get(j.output_dir);
    if (!had || BigInt(had.id) < BigInt(j.id)) latest.set(j.output_dir, j);
  }
  return [...latest.values()].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
}

/** Pure: the metrics.json text (stable order: settings, version, name). */
export function metricsJson(
  fileId: string,
  rows: readonly {
    settings_name: string;
    settings_version: number;
    name: string;
    value: number | null;
    unit: string | null;
    job_row_id: string | null;
  }[],
  hashOfJob: ReadonlyMap<string, string | null>,
): string {
  const metrics = rows.map((r) => ({
    name: r.name,
    value: r.value,
    unit: r.unit,
    settings: r.settings_name,
    settings_version: r.settings_version,
    settings_hash: r.job_row_id ? (hashOfJob.get(r.job_row_id) ?? null) : null,
    job: r.job_row_id,
  }));
  return `${JSON.stringify({ file: fileId, metrics }, null, 2)}\n`;
}

/** Regular files under `dir` (relative paths, sorted); other entries are left out and named. */
async function walk(dir: string): Promise<{ files: string[]; skipped: string[] }> {
  const files: string[] = [];
  const skipped: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    const entries: Dirent[] = await readdir(path.join(dir, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await visit(r);
      else if (e.isFile()) files.push(r);
      else skipped.push(r);
    }
  };
  await visit('');
  return { files, skipped };
}

/** The output members of one job's folder; `notes` says what was left out and why. */
async function outputsOf(file: FileRow, job: JobRow, notes: string[]): Promise<ExtraSource[]> {
  const found = await walk(job.output_dir).catch((err: unknown) => {
    if (errnoCode(err) !== 'ENOENT') throw err;
    notes.push(`job ${job.id}'s output folder ${job.output_dir} is gone; its outputs are not archived`);
    return undefined;
  });
  if (!found) return [];
  if (found.skipped.length > 0)
    notes.push(
      `job ${job.id}: ${found.skipped.length} entr(ies) that are not regular files left out (${found.skipped.slice(0, 3).join(', ')})`,
    );
  const out: ExtraSource[] = [];
  for (const rel of found.files) {
    const st = await lstat(path.join(job.output_dir, rel));
    out.push({
      kind: 'output',
      jobRowId: job.id,
      path: outputMemberPath(file.instrument_id, file.id, job.id, rel),
      rel,
      file: path.join(job.output_dir, rel),
      size: st.size,
      mode: st.mode & 0o7777,
      mtime: st.mtime,
    });
  }
  return out;
}

export interface Extras {
  extras: ExtraSource[];
  /** Why the set waits (outputs asked for, processing not ended). */
  wait?: string;
  /** What was left out (for the file's timeline). */
  notes: string[];
}

/** The outputs and metrics members of `file` that `what` asks for (see the module comment). */
export async function extrasOf(q: Queryable, file: FileRow, what: readonly ArchiveWhat[]): Promise<Extras> {
  const notes: string[] = [];
  if (!what.includes('outputs') && !what.includes('metrics')) return { extras: [], notes };
  const jobs = await jobsOf(q, file.id);
  const wait = waitFor(what, file.status, jobs);
  if (wait) return { extras: [], wait, notes };
  const extras: ExtraSource[] = [];
  if (what.includes('outputs')) {
    for (const j of finishedJobs(jobs)) extras.push(...(await outputsOf(file, j, notes)));
  }
  if (what.includes('metrics')) {
    const rows = await metricRowsForArchive(q, file.id);
    const hashes = new Map(jobs.map((j) => [j.id, j.settings_hash]));
    extras.push({
      kind: 'metrics',
      path: metricsMemberPath(file.instrument_id, file.id),
      rel: METRICS_NAME,
      text: metricsJson(file.id, rows, hashes),
    });
  }
  return { extras, notes };
}

/** Why the file must wait before `what` can be packed (undefined: it need not); reads its rows. */
export async function waitingOf(
  q: Queryable,
  fileId: string,
  what: readonly ArchiveWhat[],
): Promise<string | undefined> {
  if (!what.includes('outputs')) return undefined;
  const file = await getFile(q, fileId);
  if (!file) return undefined; // the pack step takes it out
  return waitFor(what, file.status, await jobsOf(q, fileId));
}
