/**
 * Real infrastructure for tests: a single-node SLURM cluster and an OpenSSH server on 127.0.0.1
 * (scripts/slurm.sh, scripts/sshd.sh).
 *
 * requireSlurm() / requireSshd(): when the packages are installed and we are root, start the
 * daemons once (idempotent; concurrent callers wait on a lock in the scripts) and return how to
 * reach them. When they cannot run here: under CI=true throw (the run fails), otherwise print ONE
 * line saying why and return undefined, so the test file can `describe.skipIf(!info)`.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { patient } from './patience.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPTS = path.join(root, 'scripts');

export interface SlurmInfo {
  /** State directory of the test cluster. */
  dir: string;
}

export interface SshdInfo {
  host: string;
  port: number;
  username: string;
  privateKeyPath: string;
  knownHostsPath: string;
  /** Where the keys, config and logs live. */
  dir: string;
}

function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Skip with one line (undefined), or under CI=true fail: the package should be there. */
export function unavailable(what: string, why: string): undefined {
  const line = `skipping ${what} tests: ${why}`;
  if (process.env.CI === 'true') {
    throw new Error(`${line} — CI=true, so this is a failure, not a skip (.ci/run installs the packages)`);
  }
  console.warn(line);
  return undefined;
}

function runScript(script: string, env: NodeJS.ProcessEnv): void {
  try {
    execFileSync(path.join(SCRIPTS, script), ['start'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: patient(90_000),
    });
  } catch (e) {
    const err = e as { stderr?: Buffer; stdout?: Buffer; message: string };
    throw new Error(
      `scripts/${script} start failed: ${err.stderr?.toString().trim() || err.stdout?.toString().trim() || err.message}`,
    );
  }
}

let slurm: SlurmInfo | undefined;
let slurmChecked = false;

/** A running single-node SLURM (local sbatch/squeue/scancel work), or undefined (skip). */
export function requireSlurm(): SlurmInfo | undefined {
  if (slurmChecked) return slurm;
  slurmChecked = true;
  const missing = ['slurmctld', 'slurmd', 'sbatch', 'squeue', 'munged'].filter((b) => !which(b));
  if (missing.length > 0) {
    return unavailable('SLURM', 'slurm-wlm is not installed (apt-get install slurm-wlm munge)');
  }
  if (!isRoot())
    return unavailable('SLURM', 'the test cluster runs slurmctld/slurmd as root and this is not root');
  const dir = process.env.SLUICE_SLURM_DIR ?? '/tmp/sluice-slurm';
  runScript('slurm.sh', { SLUICE_SLURM_DIR: dir });
  slurm = { dir };
  return slurm;
}

let sshd: SshdInfo | undefined;
let sshdChecked = false;

/** A running sshd on 127.0.0.1 that accepts the generated key for root, or undefined (skip). */
export function requireSshd(): SshdInfo | undefined {
  if (sshdChecked) return sshd;
  sshdChecked = true;
  if (!which('sshd') || !which('ssh-keygen')) {
    return unavailable(
      'SSH',
      'openssh-server is not installed (apt-get install openssh-server openssh-client)',
    );
  }
  if (!isRoot()) return unavailable('SSH', 'the test sshd logs in as root and this is not root');
  const dir = process.env.SLUICE_SSHD_DIR ?? '/tmp/sluice-sshd';
  const port = Number(process.env.SLUICE_SSHD_PORT ?? 2222);
  runScript('sshd.sh', { SLUICE_SSHD_DIR: dir, SLUICE_SSHD_PORT: String(port) });
  sshd = {
    host: '127.0.0.1',
    port,
    username: 'root',
    privateKeyPath: path.join(dir, 'client_key'),
    knownHostsPath: path.join(dir, 'known_hosts'),
    dir,
  };
  return sshd;
}
