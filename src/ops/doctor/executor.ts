/** Doctor check `executor`: local, or SLURM (`sinfo -h`, locally or over SSH). */
import type { Config } from '../../core/config/index.ts';
import { parseHost } from '../../process/executor.ts';
import { type CommandRunner, jobEnvironment, LocalRunner } from '../../process/executors/command.ts';
import { SshRunner } from '../../process/executors/index.ts';
import { type CheckResult, fail, failFrom, ok } from './result.ts';

export interface ExecutorCheckOptions {
  commandEnv?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Build the runner yourself (tests). */
  runner?: CommandRunner;
}

/** The configured executor can reach the cluster: `sinfo -h`, locally or over SSH. */
export async function checkExecutor(config: Config, opts: ExecutorCheckOptions = {}): Promise<CheckResult> {
  const p = config.processing;
  if (p.executor === 'local') {
    return ok('executor', 'local', 'jobs run as child processes on the worker; nothing to reach');
  }
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const ssh = p.slurm.ssh;
  const runner: CommandRunner =
    opts.runner ??
    (ssh
      ? new SshRunner({
          hosts: ssh.hosts.map(parseHost),
          username: ssh.user,
          privateKeyPath: ssh.key_file,
          knownHostsPath: ssh.known_hosts,
          connectTimeoutMs: Math.min(ssh.connect_timeout_seconds * 1000, timeoutMs),
          retries: 0,
        })
      : new LocalRunner({ env: opts.commandEnv ?? jobEnvironment() }));
  const target = `slurm (${runner.description})`;
  try {
    const r = await runner.run(['sinfo', '-h'], { timeoutMs });
    if (r.code !== 0) {
      return fail(
        'executor',
        target,
        `sinfo -h exited with ${r.code}: ${(r.stderr.trim() || r.stdout.trim()).slice(0, 300)}`,
        'check that slurmctld is running and that this user may query it (munge)',
      );
    }
    const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
    return ok(
      'executor',
      target,
      `sinfo answers (${lines.length} partition line${lines.length === 1 ? '' : 's'})`,
    );
  } catch (err) {
    return failFrom(
      'executor',
      target,
      err,
      ssh
        ? 'check the SSH hosts, user, key and known_hosts'
        : 'install the SLURM client tools or configure processing.slurm.ssh',
    );
  } finally {
    await runner.close().catch(() => undefined);
  }
}
