/**
 * SlurmExecutor: jobs on a SLURM cluster through sbatch / squeue / scancel, run by a
 * CommandRunner (LocalRunner: this machine's SLURM client; SshRunner: a login host).
 *
 * - submit: `sbatch --parsable` with the wrapped script on stdin, --job-name and --comment set
 *   to the key, --chdir and --output in the work directory; every value is an argv element.
 *   The work directory is made first (in-process on this machine, `mkdir -p` over SSH).
 * - states: ONE `squeue --jobs=... --states=all` call for all jobs; jobs squeue no longer knows
 *   are looked up in their exit files (ONE command for all of them); what is still unknown is
 *   UNKNOWN (the caller re-checks and later marks it lost), never COMPLETED.
 * - findByKey: ONE `squeue --name=<key> --states=all`, then the key/id/exit files in the work
 *   directory (a finished job the scheduler forgot).
 * - logTails: the logs of all of a poll round's finished jobs with ONE command (jobfiles.ts).
 * No accounting (sacct) is used: jobs record their own end (wrapper.ts).
 */
import { mkdir } from 'node:fs/promises';
import { errorMessage, PermanentError, SluiceError } from '../../core/errors.ts';
import { type CommandResult, type CommandRunner, LocalRunner } from './command.ts';
import { readJobFiles, readLogTails } from './jobfiles.ts';
import { inWorkDir, slurmFilename, validateKey, validateWorkDir } from './quote.ts';
import { parseSqueue, SQUEUE_FORMAT, type SqueueRow, statusFromExitRecord } from './slurm-parse.ts';
import type { Executor, JobSpec, JobStatus, LogTail } from './types.ts';
import { FILES, parseExitRecord, renderWrapper } from './wrapper.ts';

export interface SlurmExecutorOptions {
  /** Timeout of each scheduler command. Default 60 s. */
  commandTimeoutMs?: number;
}

const JOB_ID = /^\d+(_\d+)?$/;
/** Ids per squeue call; far more than any realistic number of Sluice jobs in flight. */
const MAX_IDS_PER_QUERY = 5000;

/** sbatch errors that will not go away by retrying. */
const PERMANENT_SBATCH =
  /invalid|not available|more processors requested|memory specification|unrecognized option|unknown option|not permitted|access denied|invalid partition|time limit/i;

export class SlurmExecutor implements Executor {
  readonly kind = 'slurm' as const;
  private queries = 0;
  private readonly timeoutMs: number;

  constructor(
    readonly runner: CommandRunner,
    opts: SlurmExecutorOptions = {},
  ) {
    this.timeoutMs = opts.commandTimeoutMs ?? 60_000;
  }

  /** Calls of SLURM commands (sbatch, squeue, scancel); reading job files is not counted. */
  get queryCount(): number {
    return this.queries;
  }

  private async slurm(argv: string[], input?: string): Promise<CommandResult> {
    this.queries++;
    return this.runner.run(argv, { timeoutMs: this.timeoutMs, ...(input !== undefined ? { input } : {}) });
  }

  async submit(spec: JobSpec): Promise<{ jobId: string }> {
    validateKey(spec.key);
    validateWorkDir(spec.workDir, { forSlurm: true });
    const argv = [
      'sbatch',
      '--parsable',
      `--job-name=${spec.key}`,
      `--comment=${spec.key}`,
      `--chdir=${spec.workDir}`,
      `--output=${slurmFilename(inWorkDir(spec.workDir, FILES.log))}`,
      ...resourceFlags(spec),
    ];
    await this.makeWorkDir(spec.workDir);
    const script = renderWrapper({ key: spec.key, workDir: spec.workDir, script: spec.script, id: 'slurm' });
    const r = await this.slurm(argv, script);
    const out = r.stdout.trim();
    if (r.code !== 0) {
      const msg = `sbatch refused job ${spec.key} on ${this.runner.description}: ${r.stderr.trim() || out || `exit ${r.code}`}`;
      if (PERMANENT_SBATCH.test(r.stderr)) {
        throw new PermanentError(
          'process.sbatch',
          msg,
          'check the processing settings (partition, cpus, memory, time)',
        );
      }
      throw new SluiceError('process.sbatch', msg, {
        hint: 'the scheduler may be busy or down; it will be retried',
      });
    }
    const jobId = out.split('\n').at(-1)!.split(';')[0]!.trim();
    if (!JOB_ID.test(jobId)) {
      throw new SluiceError(
        'process.sbatch',
        `sbatch printed no job id for ${spec.key}: ${JSON.stringify(out)}`,
      );
    }
    return { jobId };
  }

  /**
   * The job's work directory, made where the scheduler's commands run: on this machine in-process
   * (no `mkdir` child process per submit), over SSH with `mkdir -p`.
   */
  private async makeWorkDir(dir: string): Promise<void> {
    let problem: string | undefined;
    if (this.runner instanceof LocalRunner) {
      await mkdir(dir, { recursive: true }).catch((err) => {
        problem = errorMessage(err);
      });
    } else {
      const mk = await this.runner.run(['mkdir', '-p', '--', dir], { timeoutMs: this.timeoutMs });
      if (mk.code !== 0) problem = mk.stderr.trim();
    }
    if (problem !== undefined) {
      throw new SluiceError(
        'process.work_dir',
        `cannot create the job directory ${dir} on ${this.runner.description}: ${problem}`,
        { hint: 'check that the output location is mounted and writable for the cluster user' },
      );
    }
  }

  private async squeue(args: string[]): Promise<Map<string, SqueueRow>> {
    const r = await this.slurm(['squeue', '--noheader', '--states=all', '-O', SQUEUE_FORMAT, ...args]);
    if (r.code !== 0) {
      // With a single unknown id, squeue asks for that one job and fails; with several it
      // filters the full list. Either way: "not known", not an error.
      if (/invalid job id/i.test(r.stderr)) return new Map();
      throw new SluiceError(
        'process.slurm_query',
        `squeue failed on ${this.runner.description} (exit ${r.code}): ${r.stderr.trim().slice(0, 500)}`,
        { hint: 'is slurmctld reachable? Job states will be checked again on the next poll' },
      );
    }
    return parseSqueue(r.stdout);
  }

  async findByKey(key: string, workDir: string): Promise<JobStatus | undefined> {
    validateKey(key);
    validateWorkDir(workDir);
    const rows = [...(await this.squeue([`--name=${key}`])).values()].filter((r) => r.name === key);
    if (rows.length > 0) {
      const rank = (r: SqueueRow) => (r.state === 'PENDING' || r.state === 'RUNNING' ? 1 : 0);
      rows.sort((a, b) => rank(b) - rank(a) || compareIds(b.jobId, a.jobId));
      return toStatus(rows[0]!);
    }
    const [row] = await readJobFiles(
      this.runner,
      [workDir],
      [FILES.key, FILES.id, FILES.exit],
      this.timeoutMs,
    );
    const [fileKey, fileId, exitText] = row ?? [];
    if (fileKey !== key || !fileId || !JOB_ID.test(fileId)) return undefined;
    const rec = parseExitRecord(exitText);
    if (rec && rec.jobId === fileId) return statusFromExitRecord(fileId, rec);
    return {
      jobId: fileId,
      state: 'UNKNOWN',
      reason: `job ${fileId} started in ${workDir} but the scheduler no longer knows it and it left no exit file`,
    };
  }

  async states(jobs: { jobId: string; workDir: string }[]): Promise<Map<string, JobStatus>> {
    const result = new Map<string, JobStatus>();
    const dirOf = new Map<string, string>();
    for (const j of jobs) {
      if (!JOB_ID.test(j.jobId)) {
        result.set(j.jobId, { jobId: j.jobId, state: 'UNKNOWN', reason: `not a SLURM job id: ${j.jobId}` });
        continue;
      }
      dirOf.set(j.jobId, j.workDir);
    }
    const ids = [...dirOf.keys()];
    if (ids.length === 0) return result;

    const known = new Map<string, SqueueRow>();
    for (let i = 0; i < ids.length; i += MAX_IDS_PER_QUERY) {
      const chunk = ids.slice(i, i + MAX_IDS_PER_QUERY);
      for (const [id, row] of await this.squeue([`--jobs=${chunk.join(',')}`])) known.set(id, row);
    }
    const missing: string[] = [];
    for (const id of ids) {
      const row = known.get(id);
      if (row) result.set(id, toStatus(row));
      else missing.push(id);
    }
    if (missing.length === 0) return result;

    const usable = missing.filter((id) => !/[\n\r\0]/.test(dirOf.get(id)!));
    const files = await readJobFiles(
      this.runner,
      usable.map((id) => dirOf.get(id)!),
      [FILES.exit],
      this.timeoutMs,
    );
    const exits = new Map(usable.map((id, i) => [id, files[i]?.[0]]));
    for (const id of missing) {
      const wd = dirOf.get(id)!;
      const rec = parseExitRecord(exits.get(id));
      if (rec && rec.jobId === id) {
        result.set(id, statusFromExitRecord(id, rec));
      } else {
        result.set(id, {
          jobId: id,
          state: 'UNKNOWN',
          reason: rec
            ? `the scheduler no longer knows job ${id} and the exit file in ${wd} belongs to job ${rec.jobId}`
            : `the scheduler no longer knows job ${id} and there is no exit file in ${wd}`,
        });
      }
    }
    return result;
  }

  async cancel(jobId: string): Promise<void> {
    if (!JOB_ID.test(jobId)) {
      throw new PermanentError('process.bad_job_id', `not a SLURM job id: ${JSON.stringify(jobId)}`);
    }
    const r = await this.slurm(['scancel', jobId]);
    if (r.code !== 0 && !/already completing or completed|invalid job id/i.test(r.stderr)) {
      throw new SluiceError(
        'process.scancel',
        `scancel ${jobId} failed on ${this.runner.description}: ${r.stderr.trim()}`,
      );
    }
  }

  async logTail(workDir: string, lines = 100): Promise<string> {
    validateWorkDir(workDir);
    const n = Math.max(1, Math.min(100_000, Math.trunc(lines)));
    const r = await this.runner.run(['tail', '-n', String(n), '--', inWorkDir(workDir, FILES.log)], {
      timeoutMs: this.timeoutMs,
    });
    if (r.code !== 0) {
      if (/no such file/i.test(r.stderr)) return '';
      throw new SluiceError('process.log', `cannot read the job log in ${workDir}: ${r.stderr.trim()}`);
    }
    return r.stdout;
  }

  async logTails(workDirs: string[], lines = 100): Promise<LogTail[]> {
    const n = Math.max(1, Math.min(100_000, Math.trunc(lines)));
    const usable = workDirs.filter((d) => usableWorkDir(d));
    const read = await readLogTails(this.runner, usable, FILES.log, n, this.timeoutMs);
    const byDir = new Map(usable.map((d, i) => [d, read[i]!]));
    return workDirs.map((d) => byDir.get(d) ?? { problem: `not a usable job work directory: ${d}` });
  }

  close(): Promise<void> {
    return this.runner.close();
  }
}

function usableWorkDir(d: string): boolean {
  try {
    validateWorkDir(d);
    return true;
  } catch {
    return false;
  }
}

function compareIds(a: string, b: string): number {
  const [a1, a2] = a.split('_').map(Number);
  const [b1, b2] = b.split('_').map(Number);
  return a1! - b1! || (a2 ?? 0) - (b2 ?? 0);
}

function toStatus(row: SqueueRow): JobStatus {
  const { name: _name, rawState: _raw, ...st } = row;
  return st;
}

function positiveInt(v: number | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isFinite(v) || v <= 0) {
    throw new PermanentError('process.bad_resources', `${what} must be a positive number, got ${v}`);
  }
  return Math.ceil(v);
}

export function resourceFlags(spec: JobSpec): string[] {
  const flags: string[] = [];
  const cpus = positiveInt(spec.cpus, 'cpus');
  const mem = positiveInt(spec.memoryMb, 'memoryMb');
  const time = positiveInt(spec.timeLimitMinutes, 'timeLimitMinutes');
  if (cpus !== undefined) flags.push(`--cpus-per-task=${cpus}`);
  if (mem !== undefined) flags.push(`--mem=${mem}M`);
  if (time !== undefined) flags.push(`--time=${time}`);
  if (spec.partition !== undefined) {
    if (!/^[A-Za-z0-9._,-]+$/.test(spec.partition)) {
      throw new PermanentError(
        'process.bad_resources',
        `invalid partition name ${JSON.stringify(spec.partition)}`,
      );
    }
    flags.push(`--partition=${spec.partition}`);
  }
  return flags;
}
