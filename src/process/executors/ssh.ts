/**
 * SshRunner: runs scheduler commands on a cluster login host over SSH (npm `ssh2`).
 *
 * - key authentication only; the server's host key must be in known_hosts (OpenSSH format),
 *   otherwise the connection is refused with `process.ssh_host_key` naming the host, the
 *   offered fingerprint and what to do;
 * - several hosts: connection errors fail over to the next one; whole rounds are retried with
 *   exponential backoff;
 * - one persistent connection for all commands (a few channels at a time), re-established
 *   when it drops;
 * - argv is joined with POSIX single-quote quoting (quote.ts), so no value can inject commands.
 *   The remote login shell must be POSIX-like (sh, bash, dash, zsh, ksh).
 */
import { readFile } from 'node:fs/promises';
import { Client, type ConnectConfig } from 'ssh2';
import { errorMessage, PermanentError, SluiceError } from '../../core/errors.ts';
import { Semaphore } from '../../core/semaphore.ts';
import {
  type CommandResult,
  type CommandRunner,
  DEFAULT_COMMAND_TIMEOUT_MS,
  type RunOptions,
} from './command.ts';
import { hostKeyAlgorithms, judgeHostKey, lookupHost, parseKnownHosts } from './known-hosts.ts';
import { shellQuote } from './quote.ts';

export interface SshHost {
  host: string;
  port?: number;
}

export interface SshRunnerOptions {
  hosts: SshHost[];
  username: string;
  privateKeyPath: string;
  passphrase?: string;
  knownHostsPath: string;
  /** Per connection attempt (TCP + handshake + auth). Default 10 s. */
  connectTimeoutMs?: number;
  /** Extra rounds over all hosts after the first one fails. Default 2. */
  retries?: number;
  /** First backoff between rounds; doubles each round (with jitter), at most 30 s. Default 500 ms. */
  backoffMs?: number;
  /** Commands running at once on the shared connection (sshd MaxSessions is 10 by default). Default 8. */
  maxChannels?: number;
  /** SSH keepalive interval; a dead connection is noticed after 3 missed replies. Default 15 s. */
  keepaliveIntervalMs?: number;
}

/** The channel could not be opened: the command did not start, so it is safe to retry. */
class NotStarted extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SshRunner implements CommandRunner {
  readonly description: string;
  /** Connections established so far (tests: reuse means this stays at 1). */
  connectCount = 0;
  /** host:port of the current connection. */
  connectedTo: string | undefined;

  private readonly opts: Required<Omit<SshRunnerOptions, 'passphrase'>> & { passphrase?: string };
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private readonly slots: Semaphore;
  private closed = false;

  constructor(opts: SshRunnerOptions) {
    if (opts.hosts.length === 0) {
      throw new SluiceError('config.invalid', 'SSH connection needs at least one host', { exitCode: 2 });
    }
    this.opts = {
      connectTimeoutMs: 10_000,
      retries: 2,
      backoffMs: 500,
      maxChannels: 8,
      keepaliveIntervalMs: 15_000,
      ...opts,
    };
    this.slots = new Semaphore(Math.max(1, this.opts.maxChannels));
    const first = opts.hosts[0]!;
    this.description = `ssh ${opts.username}@${first.host}:${first.port ?? 22}${opts.hosts.length > 1 ? ` (+${opts.hosts.length - 1} more)` : ''}`;
  }

  async run(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
    if (this.closed) throw new SluiceError('process.ssh_closed', 'SSH runner is closed');
    const cmd = shellQuote(argv);
    await this.slots.acquire();
    try {
      for (let attempt = 0; ; attempt++) {
        const client = await this.connection();
        try {
          return await this.exec(client, cmd, argv[0] ?? '', opts);
        } catch (e) {
          if (e instanceof NotStarted && attempt < 2) {
            // Stale connection (dropped, or the server refused a channel): reconnect and retry.
            this.drop(client);
            continue;
          }
          if (e instanceof NotStarted) {
            throw new SluiceError(
              'process.ssh_channel',
              `could not start ${argv[0]} over SSH: ${e.message}`,
              {
                cause: e,
              },
            );
          }
          throw e;
        }
      }
    } finally {
      this.slots.release();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    if (!c) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      c.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      c.end();
    });
  }

  private drop(c: Client): void {
    if (this.client === c) this.client = undefined;
    c.end();
  }

  private connection(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.establish().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async establish(): Promise<Client> {
    const { hosts, retries, backoffMs } = this.opts;
    let privateKey: Buffer;
    try {
      privateKey = await readFile(this.opts.privateKeyPath);
    } catch (e) {
      throw new PermanentError(
        'process.ssh_key',
        `cannot read the SSH private key ${this.opts.privateKeyPath}: ${errorMessage(e)}`,
        'check the ssh private key path in the cluster connection settings',
        e,
      );
    }
    const failures: string[] = [];
    for (let round = 0; round <= retries; round++) {
      if (round > 0) {
        const base = Math.min(30_000, backoffMs * 2 ** (round - 1));
        await sleep(base / 2 + Math.random() * (base / 2));
      }
      for (const h of hosts) {
        const port = h.port ?? 22;
        try {
          const c = await this.connectOne(h.host, port, privateKey);
          this.connectCount++;
          this.connectedTo = `${h.host}:${port}`;
          if (this.closed) {
            c.end();
            throw new SluiceError('process.ssh_closed', 'SSH runner is closed');
          }
          this.client = c;
          const forget = () => {
            if (this.client === c) this.client = undefined;
          };
          c.on('close', forget);
          c.on('end', forget);
          c.on('error', forget);
          return c;
        } catch (e) {
          if (e instanceof SluiceError) throw e; // host key problems: never fail over silently
          failures.push(`${h.host}:${port}: ${errorMessage(e)}`);
        }
      }
    }
    const last = failures.slice(-hosts.length).join('; ');
    throw new SluiceError(
      'process.ssh_connect',
      `could not connect over SSH as ${this.opts.username} to ${hosts.map((h) => `${h.host}:${h.port ?? 22}`).join(', ')} ` +
        `(${failures.length} attempts): ${last}`,
      {
        hint: 'check that the login hosts are reachable, that the key is authorized for this user, and the connect timeout',
      },
    );
  }

  private async connectOne(host: string, port: number, privateKey: Buffer): Promise<Client> {
    let knownText: string;
    try {
      knownText = await readFile(this.opts.knownHostsPath, 'utf8');
    } catch (e) {
      throw new PermanentError(
        'process.ssh_host_key',
        `cannot read known_hosts file ${this.opts.knownHostsPath}: ${errorMessage(e)}`,
        `create it with the cluster's host keys after verifying them: ssh-keyscan -p ${port} ${host} >> ${this.opts.knownHostsPath}`,
        e,
      );
    }
    const known = lookupHost(parseKnownHosts(knownText), host, port);
    const algorithms = hostKeyAlgorithms(known.keys);
    let hostKeyError: SluiceError | undefined;
    const verify = (blob: Buffer): boolean => {
      hostKeyError = judgeHostKey(blob, known, host, port, this.opts.knownHostsPath);
      return hostKeyError === undefined;
    };

    const cfg: ConnectConfig = {
      host,
      port,
      username: this.opts.username,
      privateKey,
      readyTimeout: this.opts.connectTimeoutMs,
      keepaliveInterval: this.opts.keepaliveIntervalMs,
      keepaliveCountMax: 3,
      hostVerifier: verify,
      tryKeyboard: false,
      ...(this.opts.passphrase ? { passphrase: this.opts.passphrase } : {}),
      ...(algorithms.length ? { algorithms: { serverHostKey: algorithms as never } } : {}),
    };

    return handshake(cfg, this.opts.connectTimeoutMs, () => hostKeyError);
  }

  private exec(client: Client, cmd: string, name: string, opts: RunOptions): Promise<CommandResult> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    return new Promise<CommandResult>((resolve, reject) => {
      try {
        client.exec(cmd, (err, stream) => {
          if (err) {
            reject(new NotStarted(err.message));
            return;
          }
          const out: Buffer[] = [];
          const errOut: Buffer[] = [];
          let exitCode: number | undefined;
          let exitSignal: string | undefined;
          let done = false;
          const timer = setTimeout(() => {
            if (done) return;
            done = true;
            stream.close();
            reject(
              new SluiceError(
                'process.command_timeout',
                `${name} did not finish within ${timeoutMs} ms on ${this.connectedTo ?? 'the SSH host'}`,
                { hint: 'the scheduler may be overloaded or unreachable' },
              ),
            );
          }, timeoutMs);
          stream.on('data', (d: Buffer) => out.push(d));
          stream.stderr.on('data', (d: Buffer) => errOut.push(d));
          stream.on('exit', (code: number | null, signal?: string) => {
            if (typeof code === 'number') exitCode = code;
            if (signal) exitSignal = signal;
          });
          stream.on('close', () => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            const stdout = Buffer.concat(out).toString('utf8');
            const stderr = Buffer.concat(errOut).toString('utf8');
            if (exitCode === undefined && exitSignal === undefined) {
              reject(
                new SluiceError(
                  'process.ssh_dropped',
                  `the SSH connection to ${this.connectedTo ?? 'the host'} ended while running ${name}; it may or may not have run`,
                  { hint: 'transient: it will be retried' },
                ),
              );
              return;
            }
            resolve({ code: exitCode ?? 128, stdout, stderr });
          });
          stream.on('error', () => {
            // surfaced through 'close'
          });
          stream.end(opts.input ?? '');
        });
      } catch (e) {
        reject(new NotStarted(errorMessage(e)));
      }
    });
  }
}

/**
 * Connects with `cfg` and resolves once the session is ready. A failed handshake rejects with the
 * host key error when the verifier set one (`hostKeyError()`), else with the connection's error; a
 * handshake that hangs fails a second after `readyTimeout`.
 */
function handshake(
  cfg: ConnectConfig,
  connectTimeoutMs: number,
  hostKeyError: () => SluiceError | undefined,
): Promise<Client> {
  return new Promise<Client>((resolve, reject) => {
    const c = new Client();
    let settled = false;
    const timer = setTimeout(
      () => fail(new Error(`timed out after ${connectTimeoutMs} ms`)),
      connectTimeoutMs + 1000,
    );
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      c.end();
      reject(hostKeyError() ?? e);
    };
    c.once('ready', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(c);
    });
    c.on('error', fail);
    c.once('close', () => fail(new Error('connection closed during the handshake')));
    try {
      c.connect(cfg);
    } catch (e) {
      fail(e);
    }
  });
}
