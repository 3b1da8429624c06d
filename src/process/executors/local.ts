/**
 * LocalExecutor: jobs as child processes on this machine (demo, small sites).
 *
 * Each job is `/bin/sh <workDir>/.sluice-job.run.sh` (the wrapper of wrapper.ts) started in its
 * own process group (detached), stdout/stderr to job.log. Job ids are `local-<pid>-<n>`. States
 * come from the job's files plus liveness of the pid: a pid that is gone without an exit file is
 * UNKNOWN, never COMPLETED. The time limit is enforced by the wrapper itself (TIMEOUT); cancel
 * terminates the whole process group (CANCELLED). Limiting how many jobs run at once is the
 * caller's business (pools).
 *
 * A killed worker's jobs are ADOPTED, not killed with it (issue 16). Why: a job's result is only
 * worth something complete; a job killed with its worker would leave half an output and cost a
 * rerun, while a running job finishes on its own and records its exit status in `.sluice-job.exit`
 * (the wrapper). Dying with the worker also cannot be made certain from Node (no parent-death
 * signal for a detached child), so "the job might still be running" would remain anyway. How:
 *   - the next attempt of the submit task finds the job by its key (findByKey): from
 *     `.sluice-job.key`/`.id`, or — when the worker died between starting the wrapper and those
 *     files being written — by the wrapper's command line in /proc (`<workDir>/.sluice-job.run.sh`)
 *     and the key and sequence number written in that wrapper; the job is recorded, not started
 *     again, and the poll follows it to its end;
 *   - liveness is checked against `.sluice-job.proc` (host, kernel boot id, pid namespace, pid and
 *     the process start time from /proc/<pid>/stat), so a recycled pid is never taken for the job;
 *     jobs from before that record are checked by command line, as before;
 *   - a worker on another host (or in another pid namespace, or after a reboot of the host whose
 *     boot id it cannot match) cannot see the job's process: it reports the job RUNNING — never
 *     UNKNOWN, which would lead to LOST and a second job in the same folder — until the job's
 *     exit file appears, or until its deadline (start + time limit + 10 min: past it the wrapper's
 *     watchdog has killed it, or the host died with it) has passed. A reboot on the same host
 *     (same host name, another boot id) kills every job: UNKNOWN at once.
 */
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage, PermanentError, SluiceError } from '../../core/errors.ts';
import { type HostIdentity, hostIdentity, procStart } from '../../engine/processes.ts';
import { jobEnvironment } from './command.ts';
import { quoteArg, validateKey, validateWorkDir } from './quote.ts';
import { statusFromExitRecord } from './slurm-parse.ts';
import type { Executor, JobSpec, JobStatus, LogTail } from './types.ts';
import { FILES, parseExitRecord, renderWrapper } from './wrapper.ts';

export interface LocalExecutorOptions {
  /** Environment of the jobs; default: jobEnvironment() (no secrets of the Sluice process). */
  env?: NodeJS.ProcessEnv;
  /** Between SIGTERM and SIGKILL on cancel. Default 5 s. */
  killGraceMs?: number;
}

const LOCAL_ID = /^local-(\d+)-(\d+)$/;
/** Past its time limit, how long a job on another host is still believed to be running. */
const DEADLINE_GRACE_S = 600;

/** `.sluice-job.proc`: where and as which process a local job runs (written after it started). */
export interface ProcRecord {
  jobId: string;
  host: string;
  bootId: string | null;
  pidNs: string | null;
  pid: number;
  /** /proc/<pid>/stat start time of the wrapper (null: could not be read). */
  start: string | null;
  /** Epoch seconds after which the job cannot still be running (null: no time limit). */
  deadline: number | null;
}

export const PROC_FILE = '.sluice-job.proc';

/**
 * Is the job's wrapper process alive, judged from `here` (pure)? `probe`: the start time of the
 * process with that pid here now (null: none). 'elsewhere': its process cannot be seen from here.
 */
export function judgeJobProcess(
  rec: ProcRecord,
  here: HostIdentity,
  probe: string | null,
  nowS: number,
): 'alive' | 'gone' | 'elsewhere' {
  if (rec.host !== here.host || rec.pidNs !== here.pidNs || !here.bootId) {
    return rec.deadline !== null && nowS > rec.deadline ? 'gone' : 'elsewhere';
  }
  if (rec.bootId !== here.bootId) return 'gone'; // same host, rebooted since: every job died with it
  if (probe === null) return 'gone';
  return rec.start === null || rec.start === probe ? 'alive' : 'gone';
}

async function readText(p: string): Promise<string | undefined> {
  try {
    return (await readFile(p, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function writeAtomic(p: string, text: string): Promise<void> {
  const tmp = `${p}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, p);
}

export class LocalExecutor implements Executor {
  readonly kind = 'local' as const;
  private queries = 0;
  private seq = randomInt(1, 1_000_000);
  private readonly env: NodeJS.ProcessEnv;
  private readonly killGraceMs: number;
  /** Work directories of the jobs this instance started (cancel without /proc). */
  private readonly dirs = new Map<string, string>();

  constructor(opts: LocalExecutorOptions = {}) {
    this.env = opts.env ?? jobEnvironment();
    this.killGraceMs = opts.killGraceMs ?? 5000;
  }

  /** One per states() / findByKey() call (each reads all job files once). */
  get queryCount(): number {
    return this.queries;
  }

  async submit(spec: JobSpec): Promise<{ jobId: string }> {
    validateKey(spec.key);
    validateWorkDir(spec.workDir);
    const wd = spec.workDir;
    try {
      await mkdir(wd, { recursive: true });
    } catch (e) {
      throw new SluiceError('process.work_dir', `cannot create the job directory ${wd}: ${errorMessage(e)}`, {
        cause: e,
      });
    }
    if (spec.timeLimitMinutes !== undefined && !(spec.timeLimitMinutes > 0)) {
      throw new PermanentError(
        'process.bad_resources',
        `timeLimitMinutes must be positive, got ${spec.timeLimitMinutes}`,
      );
    }
    const n = this.seq++;
    const runnerPath = path.join(wd, FILES.runner);
    await writeFile(
      runnerPath,
      renderWrapper({
        key: spec.key,
        workDir: wd,
        script: spec.script,
        id: { localSeq: n },
        ...(spec.timeLimitMinutes ? { timeLimitSeconds: spec.timeLimitMinutes * 60 } : {}),
      }),
      { mode: 0o700 },
    );
    const log = openSync(path.join(wd, FILES.log), 'w');
    let pid: number;
    try {
      const child = spawn('/bin/sh', [runnerPath], {
        cwd: wd,
        detached: true,
        stdio: ['ignore', log, log],
        env: this.env,
      });
      if (spec.onExit) child.once('exit', spec.onExit);
      pid = await new Promise<number>((resolve, reject) => {
        child.once('spawn', () => resolve(child.pid!));
        child.once('error', reject);
      });
      child.unref();
    } catch (e) {
      throw new SluiceError('process.local_spawn', `cannot start local job ${spec.key}: ${errorMessage(e)}`, {
        cause: e,
      });
    } finally {
      closeSync(log);
    }
    const jobId = `local-${pid}-${n}`;
    this.dirs.set(jobId, wd);
    const here = hostIdentity();
    const rec: ProcRecord = {
      jobId,
      ...here,
      pid,
      start: procStart(pid),
      deadline: spec.timeLimitMinutes
        ? Math.ceil(Date.now() / 1000 + spec.timeLimitMinutes * 60 + DEADLINE_GRACE_S)
        : null,
    };
    await writeAtomic(path.join(wd, PROC_FILE), `${JSON.stringify(rec)}\n`);
    // The wrapper writes these too as it starts; writing them here closes the gap.
    await writeAtomic(path.join(wd, FILES.key), `${spec.key}\n`);
    await writeAtomic(path.join(wd, FILES.id), `${jobId}\n`);
    return { jobId };
  }

  /** The job's `.sluice-job.proc`, when it is this job's. */
  private async procRecord(jobId: string, workDir: string): Promise<ProcRecord | undefined> {
    try {
      const rec = JSON.parse(await readFile(path.join(workDir, PROC_FILE), 'utf8')) as ProcRecord;
      return rec.jobId === jobId ? rec : undefined;
    } catch {
      return undefined;
    }
  }

  /** Is this job's wrapper still running (and not a recycled pid)? 'elsewhere': cannot be seen from here. */
  private async liveness(jobId: string, pid: number, workDir: string): Promise<boolean | 'elsewhere'> {
    const rec = await this.procRecord(jobId, workDir);
    if (!rec) return this.alive(pid, workDir);
    const verdict = judgeJobProcess(rec, hostIdentity(), procStart(pid), Date.now() / 1000);
    if (verdict === 'elsewhere') return 'elsewhere';
    return verdict === 'alive' && (await this.alive(pid, workDir));
  }

  /** Is this job's wrapper still running (by its command line: not a recycled pid)? */
  private async alive(pid: number, workDir: string): Promise<boolean> {
    try {
      process.kill(pid, 0);
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
    try {
      const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      return cmd.includes(path.join(workDir, FILES.runner));
    } catch {
      return true; // no /proc: trust kill(0)
    }
  }

  private async stateOf(jobId: string, workDir: string): Promise<JobStatus> {
    const m = LOCAL_ID.exec(jobId);
    if (!m) return { jobId, state: 'UNKNOWN', reason: `not a local job id: ${jobId}` };
    const pid = Number(m[1]);
    // Liveness first: a job that was alive and has ended since has written its exit file.
    const live = await this.liveness(jobId, pid, workDir);
    const alive = live === true;
    const [exitText, timeoutId, cancelId] = await Promise.all([
      readText(path.join(workDir, FILES.exit)),
      readText(path.join(workDir, FILES.timeout)),
      readText(path.join(workDir, FILES.cancelled)),
    ]);
    const rec = parseExitRecord(exitText);
    const mark = (st: JobStatus): JobStatus => {
      if (timeoutId === jobId) return { ...st, state: 'TIMEOUT', reason: 'time limit reached' };
      if (cancelId === jobId) return { ...st, state: 'CANCELLED', reason: 'cancelled' };
      return st;
    };
    if (rec && rec.jobId === jobId) return mark(statusFromExitRecord(jobId, rec));
    if (alive) {
      const st: JobStatus = { jobId, state: 'RUNNING' };
      try {
        const started = (await stat(path.join(workDir, FILES.id))).mtimeMs;
        st.elapsedSeconds = Math.max(0, Math.round((Date.now() - started) / 1000));
      } catch {
        // not yet written
      }
      return st;
    }
    if (live === 'elsewhere') {
      const rec = await this.procRecord(jobId, workDir);
      return {
        jobId,
        state: 'RUNNING',
        reason: `runs on ${rec?.host ?? 'another host'} (pid ${pid}), which this process cannot see; followed by its exit file${rec?.deadline ? ` until ${new Date(rec.deadline * 1000).toISOString()}` : ''}`,
      };
    }
    const gone: JobStatus = {
      jobId,
      state: 'UNKNOWN',
      reason: `process ${pid} is gone and left no exit file in ${workDir}`,
    };
    const marked = mark(gone);
    return marked.state === 'UNKNOWN' ? gone : marked;
  }

  async states(jobs: { jobId: string; workDir: string }[]): Promise<Map<string, JobStatus>> {
    this.queries++;
    const out = new Map<string, JobStatus>();
    const list = await Promise.all(jobs.map((j) => this.stateOf(j.jobId, j.workDir)));
    for (const st of list) out.set(st.jobId, st);
    return out;
  }

  async findByKey(key: string, workDir: string): Promise<JobStatus | undefined> {
    validateKey(key);
    validateWorkDir(workDir);
    this.queries++;
    const fileKey = await readText(path.join(workDir, FILES.key));
    const jobId = await readText(path.join(workDir, FILES.id));
    if (fileKey === key && jobId) return this.stateOf(jobId, workDir);
    // Started, but killed before the key and id files were written: its wrapper is still running.
    const wrapper = await this.runningWrapper(workDir);
    if (!wrapper) return undefined;
    const text = await readText(path.join(workDir, FILES.runner));
    const seq = /^sluice_id="local-\$\$-(\d+)"$/m.exec(text ?? '')?.[1];
    if (!seq || !text?.split('\n').includes(`sluice_key=${quoteArg(key)}`)) return undefined;
    const found = `local-${wrapper}-${seq}`;
    // the records its wrapper did not get to write (cancel and logs rely on them)
    await writeAtomic(path.join(workDir, FILES.key), `${key}\n`);
    await writeAtomic(path.join(workDir, FILES.id), `${found}\n`);
    return { jobId: found, state: 'RUNNING' };
  }

  /** The pid of a wrapper running `<workDir>/.sluice-job.run.sh` on this host (from /proc), if any. */
  private async runningWrapper(workDir: string): Promise<number | undefined> {
    const runner = path.join(workDir, FILES.runner);
    let pids: string[];
    try {
      pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e));
    } catch {
      return undefined;
    }
    for (const p of pids) {
      const cmd = await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '');
      if (cmd.split('\0').includes(runner)) return Number(p);
    }
    return undefined;
  }

  async cancel(jobId: string): Promise<void> {
    const m = LOCAL_ID.exec(jobId);
    if (!m) throw new PermanentError('process.bad_job_id', `not a local job id: ${JSON.stringify(jobId)}`);
    const pid = Number(m[1]);
    const workDir = await this.workDirOf(pid, jobId);
    if (!workDir || !(await this.alive(pid, workDir))) return; // ended: nothing to cancel
    await writeAtomic(path.join(workDir, FILES.cancelled), `${jobId}\n`);
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      return;
    }
    const t = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, this.killGraceMs);
    t.unref();
  }

  /** The job's work directory: from the wrapper's command line, or remembered from submit. */
  private async workDirOf(pid: number, jobId: string): Promise<string | undefined> {
    let cmd: string[];
    try {
      cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    } catch {
      return this.dirs.get(jobId); // no such process, or no /proc
    }
    // The wrapper is `/bin/sh <workDir>/.sluice-job.run.sh`.
    const runner = cmd.find((a) => a.endsWith(`/${FILES.runner}`));
    if (!runner) return undefined; // the pid belongs to another process now
    const workDir = path.dirname(runner);
    return (await readText(path.join(workDir, FILES.id))) === jobId ? workDir : undefined;
  }

  async logTail(workDir: string, lines = 100): Promise<string> {
    validateWorkDir(workDir);
    const n = Math.max(1, Math.trunc(lines));
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(path.join(workDir, FILES.log), 'r');
    } catch {
      return '';
    }
    try {
      const { size } = await fh.stat();
      const want = Math.min(size, Math.max(64 * 1024, n * 1024));
      const buf = Buffer.alloc(want);
      await fh.read(buf, 0, want, size - want);
      let text = buf.toString('utf8');
      const trailing = text.endsWith('\n');
      const all = (trailing ? text.slice(0, -1) : text).split('\n');
      text = all.slice(-n).join('\n');
      return trailing ? `${text}\n` : text;
    } finally {
      await fh.close();
    }
  }

  async logTails(workDirs: string[], lines = 100): Promise<LogTail[]> {
    return Promise.all(
      workDirs.map((d) =>
        this.logTail(d, lines).then(
          (text) => ({ text }),
          (err) => ({ problem: errorMessage(err) }),
        ),
      ),
    );
  }

  async close(): Promise<void> {
    // Jobs keep running (detached); their outcome is in their files.
  }
}
