/**
 * The job manifest: `.sluice-job.json` in a job's output folder, written by Sluice when it submits
 * the job (`status: submitted`) and again when it records the job's final state (`success` or
 * `failed`, with exit code, finish time and the metrics file).
 *
 * It lets an instance that does not share the database recognise a finished output as the result of
 * the very job it is about to submit — the same job key (file id, settings name, version, attempt),
 * the same file and the same settings definition (its content hash) — instead of trusting "a folder
 * exists". That is how the main instance catches up after a fallback instance processed files while
 * it was down (docs/fallback.md), and how it recovers after a database restore.
 *
 * What the submit step does with it (submit.ts):
 *   matches + success    → the job is recorded as COMPLETED and `associated`, its metrics are read
 *                          from the output, nothing is submitted;
 *   matches + submitted  → the job is looked up by its key (it may still run, or have ended since);
 *   matches + failed     → not associated: `output_exists_mode` decides (default: stop and say why);
 *   does not match       → not associated: `output_exists_mode` decides (default: stop and say why).
 *
 * Crash points: written to a temp name and renamed, so a reader sees the old or the new manifest,
 * never half of one.
 */

import { readFile, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { errorMessage } from '../core/errors.ts';

export const JOB_MANIFEST = '.sluice-job.json';

export type ManifestStatus = 'submitted' | 'success' | 'failed';

export interface JobManifest {
  format: 1;
  key: string;
  job_id: string | null;
  file_id: string;
  settings: { name: string; version: number; hash: string };
  status: ManifestStatus;
  /** The executor's final state (COMPLETED, FAILED, TIMEOUT, ...); null while submitted. */
  state: string | null;
  exit_code: number | null;
  elapsed_s: number | null;
  reason: string | null;
  /** The extractor and the file it reads, relative to the output folder (null: none configured). */
  metrics: { type: string; file: string | null } | null;
  submitted_at: string | null;
  finished_at: string | null;
  written_by: { host: string; mode: string };
}

/** What a job must be for a manifest to be its own. */
export interface JobIdentity {
  key: string;
  file_id: string;
  settings: { name: string; version: number; hash: string };
}

export type ReadManifest = { manifest: JobManifest } | { invalid: string } | undefined;

/** The manifest in `dir`; undefined when there is none, `invalid` when it cannot be used. */
export async function readJobManifest(dir: string): Promise<ReadManifest> {
  const p = path.join(dir, JOB_MANIFEST);
  let text: string;
  try {
    text = await readFile(p, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { invalid: `${p} cannot be read: ${errorMessage(err)}` };
  }
  try {
    const m = JSON.parse(text) as Partial<JobManifest>;
    if (
      m.format !== 1 ||
      typeof m.key !== 'string' ||
      typeof m.file_id !== 'string' ||
      typeof m.settings?.hash !== 'string' ||
      !['submitted', 'success', 'failed'].includes(String(m.status))
    ) {
      return { invalid: `${p} is not a Sluice job manifest (format 1)` };
    }
    return { manifest: m as JobManifest };
  } catch (err) {
    return { invalid: `${p} is not valid JSON: ${errorMessage(err)}` };
  }
}

export function manifestText(m: JobManifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

/** Writes the manifest atomically (temp + rename). */
export async function writeJobManifest(dir: string, m: JobManifest): Promise<void> {
  const p = path.join(dir, JOB_MANIFEST);
  const tmp = `${p}.${process.pid}.tmp`;
  await writeFile(tmp, manifestText(m));
  await rename(tmp, p);
}

/** Why the manifest is not the one of `want` (undefined: it is). */
export function manifestMismatch(m: JobManifest, want: JobIdentity): string | undefined {
  if (m.key !== want.key) return `it belongs to job ${m.key}, not ${want.key}`;
  if (m.file_id !== want.file_id) return `it belongs to file ${m.file_id}, not ${want.file_id}`;
  if (m.settings.name !== want.settings.name || m.settings.version !== want.settings.version) {
    return `it was made with settings ${m.settings.name} v${m.settings.version}, not ${want.settings.name} v${want.settings.version}`;
  }
  if (m.settings.hash !== want.settings.hash) {
    return `it was made with a different definition of ${want.settings.name} v${want.settings.version} (settings hash ${m.settings.hash.slice(0, 12)}…, this instance has ${want.settings.hash.slice(0, 12)}…)`;
  }
  return undefined;
}

/** A manifest for `id`, filled with what is known now. */
export function newManifest(
  id: JobIdentity,
  mode: string,
  fields: Partial<Omit<JobManifest, 'format' | 'key' | 'file_id' | 'settings' | 'written_by'>> & {
    status: ManifestStatus;
  },
): JobManifest {
  return {
    format: 1,
    key: id.key,
    job_id: null,
    file_id: id.file_id,
    settings: id.settings,
    state: null,
    exit_code: null,
    elapsed_s: null,
    reason: null,
    metrics: null,
    submitted_at: null,
    finished_at: null,
    ...fields,
    written_by: { host: hostname(), mode },
  };
}

/** A readable summary of a manifest, for timelines. */
export function describeManifest(m: JobManifest): string {
  const who = `job ${m.job_id ?? '(not started)'} written by ${m.written_by?.host ?? '?'}${m.written_by?.mode === 'fallback' ? ' (fallback instance)' : ''}`;
  if (m.status === 'submitted') return `${who}, submitted ${m.submitted_at ?? ''}`.trim();
  return `${who}, ${m.status} (${m.state ?? '?'}, exit code ${m.exit_code ?? '?'}) at ${m.finished_at ?? '?'}`;
}
