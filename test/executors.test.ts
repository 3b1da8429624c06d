/**
 * Job executors against the real thing: a single-node SLURM cluster driven through the local CLI
 * and the same over SSH (sshd on 127.0.0.1 running the same SLURM commands), plus LocalExecutor.
 * Without slurm-wlm / openssh-server (and root) the SLURM / SSH parts skip with one line each,
 * except under CI=true, where they fail (test/helpers/infra.ts).
 *
 * Slow part, clearly marked: ONE real SLURM time limit (`--time=1`). SLURM checks time limits
 * every 30 s, so the job ends 60-90 s after it starts; it is submitted first and checked last so
 * it overlaps the other tests. SLUICE_FAST_TESTS=1 skips it (the TIMEOUT mapping is also
 * unit-tested on real squeue/scontrol output in src/process/executors/slurm-parse.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, SluiceError } from '../src/core/errors.ts';
import { type CommandRunner, LocalRunner } from '../src/process/executors/command.ts';
import { fingerprint } from '../src/process/executors/known-hosts.ts';
import { LocalExecutor, PROC_FILE, type ProcRecord } from '../src/process/executors/local.ts';
import { SlurmExecutor } from '../src/process/executors/slurm.ts';
import { SshRunner, type SshRunnerOptions } from '../src/process/executors/ssh.ts';
import { type Executor, FINAL_STATES, type JobStatus } from '../src/process/executors/types.ts';
import { FILES as JOB_FILES } from '../src/process/executors/wrapper.ts';
import { requireSlurm, requireSshd } from './helpers/infra.ts';
import { patient } from './helpers/patience.ts';

const slurm = requireSlurm();
const sshd = requireSshd();
const FAST = process.env.SLUICE_FAST_TESTS === '1';

const base = mkdtempSync('/tmp/sluice-exec-test-');
afterAll(() => rmSync(base, { recursive: true, force: true }));

const uid = () => randomBytes(4).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fresh directory name under base (not created: submit creates it). */
function dir(name = 'job'): string {
  return path.join(base, `${name}-${uid()}`);
}

/** Poll states() until the job reaches a final state (or `until` holds). */
async function waitFor(
  ex: Executor,
  job: { jobId: string; workDir: string },
  until: (s: JobStatus) => boolean = (s) => FINAL_STATES.has(s.state),
  timeoutMs = 30_000,
): Promise<JobStatus> {
  const end = Date.now() + patient(timeoutMs);
  for (;;) {
    const st = (await ex.states([job])).get(job.jobId)!;
    if (until(st)) return st;
    if (Date.now() > end)
      throw new Error(`job ${job.jobId} still ${JSON.stringify(st)} after ${timeoutMs} ms`);
    await sleep(300);
  }
}

async function submit(ex: Executor, script: string, opts: { workDir?: string; key?: string } = {}) {
  const workDir = opts.workDir ?? dir();
  const key = opts.key ?? `t-${uid()}`;
  const { jobId } = await ex.submit({ key, script, workDir });
  return { jobId, workDir, key };
}

/** A directory name built to break naive shell quoting; `marker` must never be created. */
function hostileDir(marker: string): string {
  return path.join(
    base,
    `inj ${uid()} $(touch ${marker}) \`touch ${marker}\` ; touch ${marker} && 'sq' "dq" $x %j %% ~ * | cat`,
  );
}

/** The same behaviour for every executor. */
function commonTests(make: () => Executor) {
  let ex: Executor;
  beforeAll(() => {
    ex = make();
  });
  afterAll(async () => {
    await ex.close();
  });

  it('exit 0 → COMPLETED, exit 3 → FAILED with exit code 3, log tail', async () => {
    const ok = await submit(ex, '#!/bin/sh\necho "line one"\necho "line two"\nexit 0\n');
    const bad = await submit(ex, 'echo failing >&2\nexit 3\n');
    const okSt = await waitFor(ex, ok);
    const badSt = await waitFor(ex, bad);
    expect(okSt).toMatchObject({ jobId: ok.jobId, state: 'COMPLETED', exitCode: 0 });
    expect(badSt).toMatchObject({ jobId: bad.jobId, state: 'FAILED', exitCode: 3 });
    expect(await ex.logTail(ok.workDir, 1)).toBe('line two\n');
    expect(await ex.logTail(ok.workDir)).toContain('line one\nline two\n');
    expect(await ex.logTail(bad.workDir)).toContain('failing');
    expect(await ex.logTail(dir('nolog'))).toBe('');
    const exit = JSON.parse(readFileSync(path.join(bad.workDir, '.sluice-job.exit'), 'utf8'));
    expect(exit).toMatchObject({ jobId: bad.jobId, exitCode: 3 });
  });

  it('runs the script byte for byte, with its own shebang and stdin from /dev/null', async () => {
    const script = [
      '#!/bin/bash',
      ': EOF',
      ': SLUICE_JOB_SCRIPT_0',
      "x='$(not run) `not run`'",
      'if [ -n "$BASH_VERSION" ]; then echo "$x bash"; fi',
      'read -r line || echo stdin-empty',
      '',
    ].join('\n');
    const j = await submit(ex, script);
    expect(await waitFor(ex, j)).toMatchObject({ state: 'COMPLETED' });
    expect(readFileSync(path.join(j.workDir, '.sluice-job.sh'), 'utf8')).toBe(script);
    expect(await ex.logTail(j.workDir)).toBe('$(not run) `not run` bash\nstdin-empty\n');
  });

  it('findByKey finds a job whose id was never recorded (crash between submit and the database write)', async () => {
    const j = await submit(ex, 'sleep 30\n');
    // "forget" the id: only key and workDir are known after the crash
    const found = await ex.findByKey(j.key, j.workDir);
    expect(found?.jobId).toBe(j.jobId);
    expect(['PENDING', 'RUNNING']).toContain(found?.state);
    expect(await ex.findByKey(`other-${uid()}`, j.workDir)).toBeUndefined();
    expect(await ex.findByKey(`none-${uid()}`, dir('empty'))).toBeUndefined();

    // cancel on operator request
    await ex.cancel(j.jobId);
    const st = await waitFor(ex, j);
    expect(st.state).toBe('CANCELLED');
    // findByKey asks the scheduler by name: for a moment after the cancel SLURM may still list the
    // job as COMPLETING (reported as RUNNING: not finished yet). What matters is that it ends
    // CANCELLED and is never reported as a success.
    const seen: string[] = [];
    const end = Date.now() + patient(30_000);
    for (;;) {
      const f = await ex.findByKey(j.key, j.workDir);
      expect(f?.jobId).toBe(j.jobId);
      seen.push(f!.state);
      if (FINAL_STATES.has(f!.state) || Date.now() > end) break;
      await sleep(300);
    }
    expect(seen.at(-1)).toBe('CANCELLED');
    expect(seen.every((s) => s === 'RUNNING' || s === 'CANCELLED')).toBe(true);
    await ex.cancel(j.jobId); // cancelling a finished job is not an error
  });

  it('a job id nobody knows, without an exit file, is UNKNOWN (never COMPLETED)', async () => {
    const empty = dir('empty');
    mkdirSync(empty);
    const bogus = ex.kind === 'slurm' ? '999999' : 'local-999999-1';
    const st = (await ex.states([{ jobId: bogus, workDir: empty }])).get(bogus);
    expect(st?.state).toBe('UNKNOWN');
    expect(st?.reason).toMatch(/exit file/);
  });

  it('hostile work directory names cannot inject commands, and the job still works there', async () => {
    const marker = `/tmp/sluice-pwned-${uid()}`;
    const workDir = hostileDir(marker);
    const j = await submit(ex, 'echo ok > result.txt\npwd\n', { workDir });
    expect(await waitFor(ex, j)).toMatchObject({ state: 'COMPLETED' });
    expect(readFileSync(path.join(workDir, 'result.txt'), 'utf8')).toBe('ok\n');
    expect(readFileSync(path.join(workDir, 'job.log'), 'utf8')).toBe(`${workDir}\n`);
    expect((await ex.findByKey(j.key, workDir))?.jobId).toBe(j.jobId);
    expect(await ex.logTail(workDir)).toBe(`${workDir}\n`);
    await ex.cancel(j.jobId);
    expect(existsSync(marker)).toBe(false);
  });

  it('rejects keys outside [A-Za-z0-9._-]{1,120} before running anything', async () => {
    const before = ex.queryCount;
    for (const key of ['a;b', '$(touch /tmp/x)', 'a b', '', 'x'.repeat(121), "a'b"]) {
      await expect(ex.submit({ key, script: 'true', workDir: dir() })).rejects.toMatchObject({
        code: 'process.bad_job_key',
      });
    }
    await expect(ex.submit({ key: 'ok', script: 'true', workDir: 'relative/dir' })).rejects.toMatchObject({
      code: 'process.bad_work_dir',
    });
    expect(ex.queryCount).toBe(before);
  });
}

/** SLURM-specific behaviour, for a given command runner. */
function slurmTests(makeRunner: () => CommandRunner, label: string) {
  let ex: SlurmExecutor;
  beforeAll(() => {
    ex = new SlurmExecutor(makeRunner());
  });
  afterAll(async () => {
    await ex.close();
  });

  it(`states() of 20 jobs is ONE squeue call (${label})`, async () => {
    const jobs = await Promise.all(Array.from({ length: 20 }, (_, i) => submit(ex, `echo job ${i}\n`)));
    const before = ex.queryCount;
    const first = await ex.states(jobs);
    expect(ex.queryCount - before).toBe(1);
    expect(first.size).toBe(20);
    for (const j of jobs) expect(first.get(j.jobId)?.state).not.toBe('UNKNOWN');
    // until all are done: still one query per poll
    const end = Date.now() + patient(60_000);
    for (;;) {
      const n = ex.queryCount;
      const m = await ex.states(jobs);
      expect(ex.queryCount - n).toBe(1);
      if ([...m.values()].every((s) => s.state === 'COMPLETED')) break;
      expect([...m.values()].filter((s) => !['PENDING', 'RUNNING', 'COMPLETED'].includes(s.state))).toEqual(
        [],
      );
      if (Date.now() > end) throw new Error(`not all completed: ${JSON.stringify([...m.values()])}`);
      await sleep(500);
    }
  });

  it(`jobs the scheduler forgot: state from the exit file; no exit file → UNKNOWN (${label})`, async () => {
    // Scheduler forgetting takes MinJobAge; simulate it with job ids it never had and the files a
    // finished job leaves behind.
    const done = dir('forgotten');
    const failed = dir('forgotten');
    const lost = dir('lost');
    for (const d of [done, failed, lost]) mkdirSync(d);
    const rec = (id: string, code: number) =>
      `{"jobId":"${id}","exitCode":${code},"signal":"","startTime":1000,"endTime":1042}\n`;
    writeFileSync(path.join(done, '.sluice-job.exit'), rec('999991', 0));
    writeFileSync(path.join(done, '.sluice-job.key'), 'forgotten-key\n');
    writeFileSync(path.join(done, '.sluice-job.id'), '999991\n');
    writeFileSync(path.join(failed, '.sluice-job.exit'), rec('999992', 2));
    writeFileSync(path.join(lost, '.sluice-job.exit'), rec('123', 0)); // another job's file
    const real = await submit(ex, 'true\n');
    const before = ex.queryCount;
    const m = await ex.states([
      real,
      { jobId: '999991', workDir: done },
      { jobId: '999992', workDir: failed },
      { jobId: '999993', workDir: lost },
    ]);
    expect(ex.queryCount - before).toBe(1);
    expect(m.get('999991')).toEqual({ jobId: '999991', state: 'COMPLETED', exitCode: 0, elapsedSeconds: 42 });
    expect(m.get('999992')).toMatchObject({ state: 'FAILED', exitCode: 2 });
    expect(m.get('999993')).toMatchObject({ state: 'UNKNOWN' });
    expect(m.get('999993')?.reason).toMatch(/belongs to job 123/);
    expect(m.get(real.jobId)?.state).not.toBe('UNKNOWN');
    // findByKey falls back to the files as well
    expect(await ex.findByKey('forgotten-key', done)).toMatchObject({ jobId: '999991', state: 'COMPLETED' });
  });

  it(`submit passes resources; bad values are refused without reaching a shell (${label})`, async () => {
    const marker = `/tmp/sluice-pwned-${uid()}`;
    await expect(
      ex.submit({ key: `r-${uid()}`, script: 'true', workDir: dir(), partition: `debug;touch ${marker}` }),
    ).rejects.toMatchObject({ code: 'process.bad_resources' });
    await expect(
      ex.submit({ key: `r-${uid()}`, script: 'true', workDir: dir(), partition: 'no-such-partition' }),
    ).rejects.toBeInstanceOf(PermanentError);
    await expect(
      ex.submit({ key: `r-${uid()}`, script: 'true', workDir: dir(), memoryMb: 1e9 }),
    ).rejects.toThrow(/Memory specification/);
    const j = await ex.submit({
      key: `r-${uid()}`,
      script: 'echo "cpus=$SLURM_CPUS_PER_TASK"\n',
      workDir: dir(),
      cpus: 2,
      memoryMb: 100,
      timeLimitMinutes: 5,
      partition: 'debug',
    });
    expect(j.jobId).toMatch(/^\d+$/);
    expect(existsSync(marker)).toBe(false);
  });
}

// ONE real SLURM time limit (see the header): submitted before all other tests, checked last.
let timed: { jobId: string; workDir: string; submittedAt: number } | undefined;
const timedEx = new SlurmExecutor(new LocalRunner());
beforeAll(async () => {
  if (!slurm || FAST) return;
  const workDir = dir('real-timeout');
  const { jobId } = await timedEx.submit({
    key: `timeout-${uid()}`,
    script: 'echo started\nsleep 300\n',
    workDir,
    timeLimitMinutes: 1,
  });
  timed = { jobId, workDir, submittedAt: Date.now() };
});

describe('LocalExecutor', () => {
  commonTests(() => new LocalExecutor({ killGraceMs: 2000 }));

  it('time limit: killed and recorded as TIMEOUT', async () => {
    const ex = new LocalExecutor();
    const workDir = dir('timeout');
    const { jobId } = await ex.submit({
      key: `to-${uid()}`,
      script: 'echo started\nsleep 60\n',
      workDir,
      timeLimitMinutes: 0.03, // ~2 s
    });
    const st = await waitFor(ex, { jobId, workDir }, undefined, 20_000);
    expect(st.state).toBe('TIMEOUT');
    expect(await ex.logTail(workDir)).toMatch(/time limit/);
  });

  it('a process that vanished without an exit file is UNKNOWN, not COMPLETED', async () => {
    const ex = new LocalExecutor();
    const workDir = dir('vanish');
    const { jobId } = await ex.submit({ key: `v-${uid()}`, script: 'sleep 60\n', workDir });
    await waitFor(ex, { jobId, workDir }, (s) => s.state === 'RUNNING');
    const pid = Number(jobId.split('-')[1]);
    process.kill(-pid, 'SIGKILL'); // no trap runs: nothing records the end
    const st = await waitFor(ex, { jobId, workDir }, (s) => s.state !== 'RUNNING', 10_000);
    expect(st.state).toBe('UNKNOWN');
    expect(st.reason).toMatch(/gone/);
  });

  // Issue 16: a worker killed right after starting the wrapper, before the key and id files were
  // written. The next attempt finds the running wrapper in /proc and adopts it.
  it('findByKey adopts a running job whose key and id files were never written', async () => {
    const ex = new LocalExecutor({ killGraceMs: 500 });
    const j = await submit(ex, 'sleep 30\n');
    await waitFor(ex, j, (s) => s.state === 'RUNNING');
    for (const f of [JOB_FILES.key, JOB_FILES.id, PROC_FILE]) rmSync(path.join(j.workDir, f));
    const found = await ex.findByKey(j.key, j.workDir);
    expect(found).toEqual({ jobId: j.jobId, state: 'RUNNING' });
    expect(await ex.findByKey(`other-${uid()}`, j.workDir)).toBeUndefined();
    await ex.cancel(j.jobId);
    expect((await waitFor(ex, j)).state).toBe('CANCELLED');
  });

  it('a recycled pid is not the job; a job on another host is RUNNING until its exit file or deadline', async () => {
    const ex = new LocalExecutor({ killGraceMs: 500 });
    const j = await submit(ex, 'sleep 30\n');
    await waitFor(ex, j, (s) => s.state === 'RUNNING');
    const procPath = path.join(j.workDir, PROC_FILE);
    const rec = JSON.parse(readFileSync(procPath, 'utf8')) as ProcRecord;
    expect(rec).toMatchObject({ jobId: j.jobId, pid: Number(j.jobId.split('-')[1]) });
    expect(rec.start).toMatch(/^\d+$/);
    // the same pid, started at another time: another process
    writeFileSync(procPath, JSON.stringify({ ...rec, start: String(Number(rec.start) + 1) }));
    expect((await ex.states([j])).get(j.jobId)!.state).toBe('UNKNOWN');
    // recorded on another host: this process cannot see it, and must not call it gone
    writeFileSync(procPath, JSON.stringify({ ...rec, host: 'elsewhere', deadline: null }));
    const there = (await ex.states([j])).get(j.jobId)!;
    expect(there.state).toBe('RUNNING');
    expect(there.reason).toMatch(/runs on elsewhere/);
    // ... until its deadline has passed
    writeFileSync(procPath, JSON.stringify({ ...rec, host: 'elsewhere', deadline: 1 }));
    expect((await ex.states([j])).get(j.jobId)!.state).toBe('UNKNOWN');
    writeFileSync(procPath, JSON.stringify(rec));
    await ex.cancel(j.jobId);
    expect((await waitFor(ex, j)).state).toBe('CANCELLED');
  });

  it('states() of 20 jobs counts as one query', async () => {
    const ex = new LocalExecutor();
    const jobs = await Promise.all(Array.from({ length: 20 }, () => submit(ex, 'true\n')));
    const before = ex.queryCount;
    const m = await ex.states(jobs);
    expect(ex.queryCount - before).toBe(1);
    expect(m.size).toBe(20);
  });
});

describe.skipIf(!slurm)('SlurmExecutor with the local SLURM CLI', () => {
  commonTests(() => new SlurmExecutor(new LocalRunner()));
  slurmTests(() => new LocalRunner(), 'local CLI');
});

function sshOptions(over: Partial<SshRunnerOptions> = {}): SshRunnerOptions {
  const s = sshd!;
  return {
    hosts: [{ host: s.host, port: s.port }],
    username: s.username,
    privateKeyPath: s.privateKeyPath,
    knownHostsPath: s.knownHostsPath,
    connectTimeoutMs: 5000,
    retries: 1,
    backoffMs: 100,
    ...over,
  };
}

describe.skipIf(!slurm || !sshd)('SlurmExecutor over SSH', () => {
  const runners: SshRunner[] = [];
  const make = () => {
    const r = new SshRunner(sshOptions());
    runners.push(r);
    return r;
  };
  commonTests(() => new SlurmExecutor(make()));
  slurmTests(make, 'ssh');

  it('used one persistent connection per runner', () => {
    expect(runners.length).toBe(2);
    for (const r of runners) expect(r.connectCount).toBe(1);
  });
});

/** A TCP port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe.skipIf(!sshd)('SshRunner', () => {
  const ADVERSARIAL = [
    '',
    'with space',
    "it's",
    '"dq"',
    '$(touch MARKER)',
    '`touch MARKER`',
    '; touch MARKER',
    '&& touch MARKER || touch MARKER',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell expansion on purpose
    '$HOME ${HOME} $$ $0 $@',
    'a\\b\\',
    'new\nline',
    '*',
    '~',
    '!! !$',
    '%j',
    '<in >out 2>&1 | tee MARKER',
  ];

  it('passes adversarial argv unchanged through the remote shell (printf %s\\0), stdin too', async () => {
    const marker = `/tmp/sluice-pwned-${uid()}`;
    const args = ADVERSARIAL.map((a) => a.replaceAll('MARKER', marker));
    const r = new SshRunner(sshOptions());
    try {
      const res = await r.run(['printf', '%s\\0', ...args]);
      expect(res.code).toBe(0);
      const got = res.stdout.split('\0');
      got.pop();
      expect(got).toEqual(args);
      const input = `line 1\n$(touch ${marker})\n'quoted'\n`;
      expect((await r.run(['cat'], { input })).stdout).toBe(input);
      expect((await r.run(['sh', '-c', 'exit 7'])).code).toBe(7);
      expect(existsSync(marker)).toBe(false);
      expect(r.connectCount).toBe(1);
    } finally {
      await r.close();
    }
  });

  it('refuses a host key that does not match known_hosts, naming host and fingerprint', async () => {
    const s = sshd!;
    const realKey = readFileSync(path.join(s.dir, 'host_ed25519_key.pub'), 'utf8').split(' ')[1]!;
    const realFp = fingerprint(Buffer.from(realKey, 'base64'));
    // known_hosts with a different ed25519 key for the same host: the client key's public half
    const otherKey = readFileSync(`${s.privateKeyPath}.pub`, 'utf8').split(' ')[1]!;
    const kh = path.join(base, `known_hosts-${uid()}`);
    writeFileSync(kh, `[${s.host}]:${s.port} ssh-ed25519 ${otherKey}\n`);
    const r = new SshRunner(sshOptions({ knownHostsPath: kh }));
    const err = await r.run(['true']).catch((e: unknown) => e);
    await r.close();
    expect(err).toBeInstanceOf(SluiceError);
    const e = err as SluiceError;
    expect(e.code).toBe('process.ssh_host_key');
    expect(e.message).toContain(`[${s.host}]:${s.port}`);
    expect(e.message).toContain(realFp);
    expect(e.message).toContain('does not match');
    expect(e.hint).toContain(`ssh-keyscan -p ${s.port} ${s.host}`);
  });

  it('refuses an unknown host (not in known_hosts)', async () => {
    const s = sshd!;
    const kh = path.join(base, `known_hosts-${uid()}`);
    writeFileSync(kh, '# empty\n');
    const r = new SshRunner(sshOptions({ knownHostsPath: kh, retries: 3 }));
    const t0 = Date.now();
    const err = (await r.run(['true']).catch((e: unknown) => e)) as SluiceError;
    await r.close();
    expect(err.code).toBe('process.ssh_host_key');
    expect(err.message).toMatch(/is not in/);
    expect(err.message).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
    expect(err.hint).toContain(`ssh-keyscan -p ${s.port} ${s.host} >> ${kh}`);
    expect(Date.now() - t0).toBeLessThan(3000); // not retried
  });

  it('fails over from a closed port to the next host, and reconnects after the connection drops', async () => {
    const s = sshd!;
    const dead = await closedPort();
    const r = new SshRunner(
      sshOptions({
        hosts: [
          { host: s.host, port: dead },
          { host: s.host, port: s.port },
        ],
      }),
    );
    try {
      expect((await r.run(['echo', 'hi'])).stdout).toBe('hi\n');
      expect(r.connectedTo).toBe(`${s.host}:${s.port}`);
      // kill this session's sshd process: the running command fails, the next one reconnects
      await expect(r.run(['sh', '-c', 'kill -9 $PPID'])).rejects.toMatchObject({
        code: 'process.ssh_dropped',
      });
      expect((await r.run(['echo', 'again'])).stdout).toBe('again\n');
      expect(r.connectCount).toBe(2);
    } finally {
      await r.close();
    }
  });

  it('gives up after its retries with backoff when no host answers', async () => {
    const r = new SshRunner(
      sshOptions({ hosts: [{ host: '127.0.0.1', port: await closedPort() }], retries: 2, backoffMs: 200 }),
    );
    const t0 = Date.now();
    const err = (await r.run(['true']).catch((e: unknown) => e)) as SluiceError;
    await r.close();
    expect(err.code).toBe('process.ssh_connect');
    expect(err.message).toMatch(/3 attempts/);
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150); // backoff 100-200 ms, then 200-400 ms
  });
});

describe.skipIf(!slurm || FAST)('SLURM time limit (SLOW: 60-90 s, overlaps all other tests)', () => {
  it('a real --time=1 limit → TIMEOUT', async () => {
    const t = timed!;
    const remaining = Math.max(5_000, 115_000 - (Date.now() - t.submittedAt));
    const st = await waitFor(timedEx, t, undefined, remaining);
    expect(st.state).toBe('TIMEOUT');
    expect(st.reason).toMatch(/time limit/i);
    // the wrapper recorded the SIGTERM as well, for when SLURM has forgotten the job
    const rec = JSON.parse(readFileSync(path.join(t.workDir, '.sluice-job.exit'), 'utf8'));
    expect(rec).toMatchObject({ jobId: t.jobId, exitCode: 143, signal: 'TERM' });
    expect(await timedEx.logTail(t.workDir)).toMatch(/DUE TO TIME LIMIT/);
    await timedEx.close();
  });
});
