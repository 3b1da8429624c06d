/**
 * A job's output folder is Sluice's own when Sluice created it for that job: the folder appears
 * (by rename) already holding `.sluice-owner.json` — file id, job key, the submit task's id, its
 * fencing token and attempt, host and pid — together with the settings and the job manifest. There
 * is no moment at which the folder exists without its owner record, so a later attempt of the same
 * job that finds it knows it made it and uses it again without asking; a folder that is not owned by
 * the job still follows `output_exists_mode` (submit.ts).
 *
 * Crash points (SLUICE_CRASH_AT, src/core/crash.ts):
 *   process.submit.output_partial  the temp folder `<out>.sluice-new-<task>-<token>` is filled but
 *                                  not renamed: the next attempt of the job deletes it (its owner
 *                                  record names the job) and starts again;
 *   process.submit.after_mkdir     the folder is in place: the next attempt finds it owned by the
 *                                  job, no job started in it, and uses it as it is.
 */

import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { crashPoint } from '../core/crash.ts';
import { SluiceError } from '../core/errors.ts';

export const OWNER_FILE = '.sluice-owner.json';
const TEMP_INFIX = '.sluice-new-';

export interface OutputOwner {
  format: 1;
  file_id: string;
  job_key: string;
  task_id: string;
  token: string;
  task_attempt: number;
  host: string;
  pid: number;
  created_at: string;
}

export function newOwner(o: {
  fileId: string;
  jobKey: string;
  taskId: string;
  token: string;
  attempt: number;
}): OutputOwner {
  return {
    format: 1,
    file_id: o.fileId,
    job_key: o.jobKey,
    task_id: o.taskId,
    token: o.token,
    task_attempt: o.attempt,
    host: hostname(),
    pid: process.pid,
    created_at: new Date().toISOString(),
  };
}

/** The owner record in `dir`, or undefined (none, unreadable or not one). */
export async function readOwner(dir: string): Promise<OutputOwner | undefined> {
  try {
    const v = JSON.parse(await readFile(path.join(dir, OWNER_FILE), 'utf8')) as Partial<OutputOwner>;
    return v.format === 1 && typeof v.job_key === 'string' && typeof v.file_id === 'string'
      ? (v as OutputOwner)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the submit step does with the output folder (pure):
 *   create  there is none;
 *   reuse   it exists and is this job's own (owner record names the job and its submit task, or
 *           its manifest says prepared for this job and never started), its manifest does not say
 *           otherwise, and no job of it was found running or finished;
 *   exists  it exists and is not this job's: `output_exists_mode` decides.
 */
export function outputAction(o: {
  exists: boolean;
  preparedOnly: boolean;
  owner: OutputOwner | undefined;
  /** The folder's job manifest says it is not this job's (another instance's, a failed run, …). */
  notThisJob: boolean;
  jobKey: string;
  fileId: string;
  taskId: string;
}): 'create' | 'reuse' | 'exists' {
  if (!o.exists) return 'create';
  if (o.notThisJob) return 'exists';
  if (o.preparedOnly) return 'reuse';
  // Job keys are the same on every instance (file, settings, version, attempt): the owner record
  // must also name this very submit task, and the manifest must not say otherwise (above).
  const own = o.owner;
  if (own && own.job_key === o.jobKey && own.file_id === o.fileId && own.task_id === o.taskId) return 'reuse';
  return 'exists';
}

/** "created by attempt 2 of task 17 on host h (pid 123) at …", for timelines. */
export function describeOwner(o: OutputOwner): string {
  return `created for job ${o.job_key} by attempt ${o.task_attempt} of task ${o.task_id} on ${o.host} (pid ${o.pid}) at ${o.created_at}`;
}

async function writeAtomic(p: string, text: string): Promise<void> {
  const tmp = `${p}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, p);
}

/**
 * Creates `dir` holding `files` and the owner record, all at once: filled under a temp name beside
 * it, then renamed into place. Left-over temp folders of the same job (an attempt killed while
 * filling one) are deleted first. When `dir` appeared meanwhile (another process), the temp folder
 * is deleted and a retryable error says so: the next attempt decides again.
 */
export async function createOwnedFolder(
  dir: string,
  owner: OutputOwner,
  files: { name: string; text: string }[],
): Promise<void> {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  await mkdir(parent, { recursive: true });
  for (const e of await readdir(parent)) {
    if (!e.startsWith(`${base}${TEMP_INFIX}`)) continue;
    const left = path.join(parent, e);
    if ((await readOwner(left))?.job_key === owner.job_key) await rm(left, { recursive: true, force: true });
  }
  const tmp = path.join(parent, `${base}${TEMP_INFIX}${owner.task_id}-${owner.token}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  await writeFile(path.join(tmp, OWNER_FILE), `${JSON.stringify(owner, null, 2)}\n`);
  for (const f of files) await writeFile(path.join(tmp, f.name), f.text);
  crashPoint('process.submit.output_partial');
  try {
    await rename(tmp, dir); // replaces only an empty folder: nothing of anyone's is lost
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') {
      throw new SluiceError(
        'process.output_appeared',
        `the output folder ${dir} appeared while Sluice was preparing it; the next attempt looks at it again`,
      );
    }
    throw err;
  }
  crashPoint('process.submit.after_mkdir');
}

/** Takes an owned folder over for this attempt: new owner record, settings and manifest files. */
export async function reuseOwnedFolder(
  dir: string,
  owner: OutputOwner,
  files: { name: string; text: string }[],
): Promise<void> {
  await writeAtomic(path.join(dir, OWNER_FILE), `${JSON.stringify(owner, null, 2)}\n`);
  for (const f of files) await writeAtomic(path.join(dir, f.name), f.text);
}
