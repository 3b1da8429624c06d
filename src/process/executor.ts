/** The executor a process uses, built once from the config (SLURM locally or over SSH, or local). */
import type { Config } from '../core/config/index.ts';
import { LocalExecutor, LocalRunner, SlurmExecutor, SshRunner } from './executors/index.ts';
import type { Executor } from './executors/types.ts';

export function parseHost(spec: string): { host: string; port?: number } {
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(spec.trim());
  return { host: m?.[1] ?? spec, port: m?.[2] ? Number(m[2]) : undefined };
}

export function createExecutor(config: Config): Executor {
  const p = config.processing;
  if (p.executor === 'local') return new LocalExecutor();
  const ssh = p.slurm.ssh;
  const runner = ssh
    ? new SshRunner({
        hosts: ssh.hosts.map(parseHost),
        username: ssh.user,
        privateKeyPath: ssh.key_file,
        knownHostsPath: ssh.known_hosts,
        connectTimeoutMs: ssh.connect_timeout_seconds * 1000,
      })
    : new LocalRunner();
  return new SlurmExecutor(runner);
}

/** A lazily built, shared executor (one SSH connection per process). */
export function executorProvider(config: Config): { get(): Promise<Executor>; close(): Promise<void> } {
  let ex: Executor | undefined;
  return {
    async get() {
      ex ??= createExecutor(config);
      return ex;
    },
    async close() {
      await ex?.close();
      ex = undefined;
    },
  };
}
