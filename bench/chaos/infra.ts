/**
 * The chaos benchmark's machinery (bench/chaos.ts): what the machine can do, the network namespace
 * for the worker that gets cut off, the backup bind mount, the PostgreSQL the bench owns (and kills),
 * the Sluice processes it starts, kills and restarts, and a cleanup that leaves nothing behind even
 * when the run fails (every process the run started carries a marker in its environment or its
 * command line, and is swept by it).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec$ = promisify(execFile);
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SLUICE_BIN = path.join(REPO, 'bin/sluice.js');

export async function sh(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await exec$(cmd, args, { maxBuffer: 1 << 24 });
  return stdout;
}

async function succeeds(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    await sh(cmd, args);
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

export interface Capabilities {
  root: boolean;
  /** Why a network namespace cannot be made here, or undefined when it can. */
  netns?: string;
  /** Why a bind mount cannot be made here, or undefined when it can. */
  mount?: string;
}

/** Tries, as the bench will use them: `ip netns add/del` and a bind mount. */
export async function probe(tmp: string, tag: string): Promise<Capabilities> {
  const root = process.getuid?.() === 0;
  if (!root) return { root, netns: 'not root', mount: 'not root' };
  const ns = `${tag}-probe`;
  const netns = (await succeeds('ip', ['netns', 'add', ns])) ?? (await succeeds('ip', ['netns', 'del', ns]));
  const a = path.join(tmp, 'probe-a');
  const b = path.join(tmp, 'probe-b');
  await sh('mkdir', ['-p', a, b]);
  const mount = (await succeeds('mount', ['--bind', a, b])) ?? (await succeeds('umount', [b]));
  await sh('rm', ['-rf', a, b]);
  return { root, netns, mount };
}

/** A veth pair between the host and a namespace of its own, /30 addresses that exist only here. */
export interface NetNs {
  name: string;
  hostIf: string;
  hostIp: string;
  nsIp: string;
}

export async function makeNetNs(tag: string, n: number): Promise<NetNs> {
  const name = `${tag}-ns`;
  const hostIf = `${tag.slice(0, 10)}h`;
  const nsIf = `${tag.slice(0, 10)}n`;
  // 10.213.<n>.0/30: a private range used by no interface on this machine (checked below)
  const hostIp = `10.213.${n % 250}.1`;
  const nsIp = `10.213.${n % 250}.2`;
  if ((await sh('ip', ['-br', 'addr'])).includes(`10.213.${n % 250}.`))
    throw new Error(`10.213.${n % 250}.0/30 is already in use on this machine`);
  await sh('ip', ['netns', 'add', name]);
  await sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
  await sh('ip', ['link', 'set', nsIf, 'netns', name]);
  await sh('ip', ['addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
  await sh('ip', ['link', 'set', hostIf, 'up']);
  await sh('ip', ['netns', 'exec', name, 'ip', 'addr', 'add', `${nsIp}/30`, 'dev', nsIf]);
  await sh('ip', ['netns', 'exec', name, 'ip', 'link', 'set', nsIf, 'up']);
  await sh('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  return { name, hostIf, hostIp, nsIp };
}

export async function setLink(ns: NetNs, up: boolean): Promise<void> {
  await sh('ip', ['link', 'set', ns.hostIf, up ? 'up' : 'down']);
}

/** Deleting the namespace deletes its end of the veth pair, and with it the host's end. */
export async function removeNetNs(ns: NetNs): Promise<void> {
  await succeeds('ip', ['netns', 'del', ns.name]);
  await succeeds('ip', ['link', 'del', ns.hostIf]);
}

export async function isMounted(dir: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  return mounts.split('\n').some((l) => l.split(' ')[4] === dir);
}

export async function bindMount(from: string, to: string): Promise<void> {
  await sh('mount', ['--bind', from, to]);
}

/** Lazy unmount: open files keep working on the real store, new opens see the folder below. */
export async function unmount(dir: string): Promise<void> {
  if (await isMounted(dir)) await sh('umount', ['-l', dir]);
}

/** A Sluice process the bench started: `sluice start --role ...`, possibly inside a namespace. */
export interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
  startedAt: number;
  /** Set once the process exited; `killedByBench` when the bench sent the signal. */
  exited?: { code: number | null; signal: NodeJS.Signals | null; at: number };
  killedByBench: boolean;
}

export interface SpawnSpec {
  name: string;
  args: string[];
  env: Record<string, string>;
  netns?: string;
  logFile: string;
}

/** Starts `sluice start ...`; resolves once it says it is running (or rejects when it exits first). */
export async function startSluice(spec: SpawnSpec, readyTimeoutMs = 180_000): Promise<Proc> {
  const argv = [process.execPath, SLUICE_BIN, 'start', ...spec.args];
  const [cmd, ...args] = spec.netns ? ['ip', 'netns', 'exec', spec.netns, ...argv] : argv;
  const log: WriteStream = createWriteStream(spec.logFile, { flags: 'a' });
  // `ip netns exec` execs the command, so the child's pid is sluice's own (workers.pid)
  const child = spawn(cmd!, args, {
    cwd: REPO,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc: Proc = {
    name: spec.name,
    child,
    pid: child.pid ?? -1,
    startedAt: Date.now(),
    killedByBench: false,
  };
  let seen = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${spec.name} not running after ${readyTimeoutMs} ms:\n${seen.slice(-2000)}`)),
      readyTimeoutMs,
    );
    const onData = (d: Buffer) => {
      log.write(d);
      if (seen.length < 1_000_000) seen += d.toString();
      if (/sluice (worker|web|all).* running/.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      proc.exited = { code, signal, at: Date.now() };
      log.end();
      reject(new Error(`${spec.name} exited (${code ?? signal}) before running:\n${seen.slice(-2000)}`));
    });
  });
  ready.catch(() => undefined);
  await ready;
  return proc;
}

export function alive(p: Proc): boolean {
  return p.exited === undefined;
}

export async function kill9(p: Proc): Promise<void> {
  if (!alive(p)) return;
  p.killedByBench = true;
  const gone = new Promise<void>((r) => p.child.once('exit', () => r()));
  p.child.kill('SIGKILL');
  await gone;
}

/** SIGTERM, as an operator stops Sluice; SIGKILL when it has not exited after `graceMs`. */
export async function stopGracefully(p: Proc, graceMs = 60_000): Promise<void> {
  if (!alive(p)) return;
  p.killedByBench = true;
  const gone = new Promise<void>((r) => p.child.once('exit', () => r()));
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

/** Pids of every process whose environment carries `marker` or whose command line names `needle`. */
export async function markedPids(marker: string, needle: string): Promise<number[]> {
  const out: number[] = [];
  for (const e of await readdir('/proc')) {
    const pid = Number(e);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const [env, cmd] = await Promise.all([
        readFile(`/proc/${pid}/environ`).catch(() => Buffer.alloc(0)),
        readFile(`/proc/${pid}/cmdline`).catch(() => Buffer.alloc(0)),
      ]);
      if (env.includes(marker) || cmd.includes(needle)) out.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** SIGKILLs every marked process until none is left (or 20 s pass); returns how many it killed. */
export async function sweep(marker: string, needle: string): Promise<number> {
  let killed = 0;
  const until = Date.now() + 20_000;
  for (;;) {
    const pids = await markedPids(marker, needle);
    if (pids.length === 0 || Date.now() > until) return killed;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        // gone already
      }
    }
    await sleep(200);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` every `everyMs` until it returns a truthy value; undefined after `timeoutMs`. */
export async function waitUntil<T>(
  fn: () => Promise<T | undefined | false | null>,
  timeoutMs: number,
  everyMs = 200,
): Promise<T | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > until) return undefined;
    await sleep(everyMs);
  }
}
