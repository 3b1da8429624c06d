/** Running scheduler commands: locally (execFile, no shell) or over SSH (see ssh.ts). */
import { spawn } from 'node:child_process';
import { SluiceError } from '../../core/errors.ts';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin (then closed). */
  input?: string;
  timeoutMs?: number;
}

export interface CommandRunner {
  /** Human-readable target for messages ("local", "ssh root@host:22"). */
  readonly description: string;
  run(argv: string[], opts?: RunOptions): Promise<CommandResult>;
  close(): Promise<void>;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;
const MAX_OUTPUT = 64 * 1024 * 1024;

/**
 * The environment handed to scheduler commands and local jobs: only what a job needs (PATH,
 * HOME, locale, SLURM and munge settings), never the Sluice process's secrets (DATABASE_URL,
 * tokens), which sbatch would otherwise export into every job.
 */
export function jobEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (
      ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'TZ', 'TMPDIR', 'TERM'].includes(k) ||
      k.startsWith('LC_') ||
      k.startsWith('SLURM_') ||
      k.startsWith('SBATCH_') ||
      k.startsWith('MUNGE_')
    ) {
      out[k] = v;
    }
  }
  return out;
}

/** Runs commands on this machine without a shell: argv goes to the program exactly as given. */
export class LocalRunner implements CommandRunner {
  readonly description = 'local';
  private readonly env: NodeJS.ProcessEnv;

  constructor(opts: { env?: NodeJS.ProcessEnv } = {}) {
    this.env = opts.env ?? jobEnvironment();
  }

  run(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
    const [file, ...args] = argv;
    if (!file) return Promise.reject(new Error('LocalRunner.run: empty argv'));
    const timeoutMs = opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: this.env });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let size = 0;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      const collect = (into: Buffer[]) => (d: Buffer) => {
        size += d.length;
        if (size <= MAX_OUTPUT) into.push(d);
      };
      child.stdout.on('data', collect(out));
      child.stderr.on('data', collect(err));
      child.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (e.code === 'ENOENT') {
          reject(
            new SluiceError('process.command_missing', `command not found on this machine: ${file}`, {
              hint: 'install the SLURM client tools (Debian: apt-get install slurm-client) or use the ssh connection',
              cause: e,
            }),
          );
        } else reject(e);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const stdout = Buffer.concat(out).toString('utf8');
        const stderr = Buffer.concat(err).toString('utf8');
        if (timedOut) {
          reject(
            new SluiceError(
              'process.command_timeout',
              `${file} did not finish within ${timeoutMs} ms (killed)`,
              {
                hint: 'the scheduler may be overloaded or unreachable',
              },
            ),
          );
          return;
        }
        resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
      });
      child.stdin.on('error', () => {
        // EPIPE when the program exits without reading its input; its exit code tells the story.
      });
      child.stdin.end(opts.input ?? '');
    });
  }

  async close(): Promise<void> {}
}
