/**
 * Hung shares: an instrument share that stops answering (an NFS or SMB server gone) must not take the
 * worker down. The share is a FUSE pass-through (helpers/hangfs.py) whose reads block, in
 * uninterruptible sleep as on a hard NFS mount, while a control file says so.
 *
 * Needs /dev/fuse, fusermount and python3 with fusepy (Debian `fuse3` and `python3-fusepy`,
 * scripts/install-test-deps.sh); skipped with a line saying so otherwise.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BATCH_MAX_BYTES } from '../src/backup/batch-plan.ts';
import { backupLocation } from '../src/storage/raw-data.ts';
import { Kind } from '../src/tasks/catalogue.ts';
import { createPipeline, type Pipeline, standardConfig } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

const PYTHON = '/usr/bin/python3';
const HANGFS = path.join(import.meta.dirname, 'helpers', 'hangfs.py');

function fuseMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (!existsSync('/dev/fuse')) return 'no /dev/fuse';
  try {
    execFileSync('fusermount', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'no fusermount (Debian fuse3)';
  }
  try {
    execFileSync(PYTHON, ['-c', 'import fusepy'], { stdio: 'ignore' });
  } catch {
    return 'no python3 fusepy (Debian python3-fusepy)';
  }
  return undefined;
}
const missing = fuseMissing();
if (missing) console.log(`hung-share.test.ts skipped: ${missing}`);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let p: Pipeline | undefined;
let share: { mount: string; control: string; stop(): Promise<void> } | undefined;
afterEach(async () => {
  // the share answers again first: threads stuck in its calls return, and the process can exit
  // (synchronously: libuv's pool may be the thing that is stuck)
  if (share) rmSync(share.control, { force: true });
  // and, after a failed test, those calls returned before the unmount (else it finds the mount busy)
  const worker = p?.worker;
  if (worker) await waitFor('stuck attempts returned', () => worker.stuckTasks.length === 0).catch(() => {});
  await p?.stop();
  await share?.stop(); // unmounted before the pipeline's folder is removed
  await p?.close();
  p = undefined;
  share = undefined;
});

/** Mount a hangable pass-through of `backing` on `mount`. */
async function mountShare(backing: string, mount: string, control: string) {
  const daemon = spawn(PYTHON, [HANGFS, backing, mount, control], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  daemon.stderr.on('data', (d) => {
    stderr += d;
  });
  const rootDev = (await stat(path.dirname(mount))).dev;
  await waitFor(`the FUSE share on ${mount} (${stderr})`, async () => (await stat(mount)).dev !== rootDev);
  return {
    mount,
    control,
    async stop() {
      try {
        execFileSync('fusermount', ['-u', mount], { stdio: 'ignore' });
      } catch {
        daemon.kill('SIGKILL');
      }
      if (daemon.exitCode === null) await new Promise((r) => daemon.once('exit', r));
    },
  };
}

describe.skipIf(missing !== undefined)('hung shares', () => {
  it('gives up copies from a hung share, keeps the worker healthy for other instruments, and copies once the share answers', async () => {
    // More copies at once than libuv has pool threads (4): before the copy read sources on its own
    // threads, four hung reads stopped every file operation of the process.
    p = await createPipeline(standardConfig('worker: { stall_seconds: 2 }\npools: { copy: 8 }\n'));
    const watch = path.join(p.root, 'astral1');
    const backing = path.join(p.root, 'astral1.share');
    await mkdir(backing);
    const hung = ['h1.raw', 'h2.raw', 'h3.raw', 'h4.raw'];
    // BATCH_MAX_BYTES or more each: every file gets a `backup.copy` of its own whichever scan acquires
    // it (four small files acquired together would go as one `backup.batch`: the next test)
    const data = new Map(hung.map((n, i) => [n, Buffer.alloc(BATCH_MAX_BYTES + i, i + 1)]));
    for (const [n, d] of data) await writeFile(path.join(backing, n), d);
    const control = path.join(p.root, 'hang.ctl');
    await writeFile(control, 'read'); // listing and stat answer; reading data hangs
    share = await mountShare(backing, watch, control);
    await p.start();

    // every copy from the hung share is given up after the stall limit, and says why
    for (const n of hung) {
      await waitFor(`${n}: the stalled copy noted`, async () =>
        (await p!.timeline(n)).find((l) => l.includes('no progress')),
      );
    }
    const line = (await p.timeline('h1.raw')).find((l) => l.includes('no progress'))!;
    expect(line).toContain(
      `no progress reading ${path.join(watch, 'h1.raw')} for 2 s: the share may be hung`,
    );
    expect((await p.file('h1.raw'))!.status).toBe('backing_up');

    // the process is healthy: its file operations answer, and another instrument's data is backed up
    await stat(os.tmpdir());
    const other = Buffer.alloc(1024 * 1024, 9);
    await writeFile(path.join(p.root, 'scope1', 'healthy.tif'), other);
    const ok = await p.waitStatus('healthy.tif', 'done_not_processed');
    expect(sha(await readFile(backupLocation(p.config, ok)))).toBe(sha(other));
    for (const n of hung) expect((await p.file(n))!.status).toBe('backing_up');
    expect(p.worker!.stuckTasks.length).toBeGreaterThan(0);

    // the share answers again: the retries copy everything, nothing is left stuck
    await rm(control);
    for (const [n, d] of data) {
      const f = await p.waitStatus(n, 'done_not_processed', 120_000);
      expect(sha(await readFile(backupLocation(p.config, f)))).toBe(sha(d));
      expect(f.status_reason).not.toMatch(/error/);
    }
    await waitFor('no stuck attempts left', async () => p!.worker!.stuckTasks.length === 0);
  });

  it('gives up a batch of small files from a hung share, says so on each of its files, and backs them up once the share answers', async () => {
    p = await createPipeline(standardConfig('worker: { stall_seconds: 2 }\n'));
    const pipe = p;
    const watch = path.join(pipe.root, 'astral1');
    const backing = path.join(pipe.root, 'astral1.share');
    await mkdir(backing);
    // small files found together: all but the newest (which waits for a newer one or its timeout)
    // are acquired in one scan and go as one `backup.batch` (4 files at least)
    const data = new Map(
      Array.from({ length: 6 }, (_, i) => [`s${i}.raw`, Buffer.alloc(64 * 1024 + i, i + 1)] as const),
    );
    for (const [n, d] of data) await writeFile(path.join(backing, n), d);
    const control = path.join(pipe.root, 'hang.ctl');
    await writeFile(control, 'read');
    share = await mountShare(backing, watch, control);
    await pipe.start();

    const batch = await waitFor('the batch given up', () =>
      pipe.db.maybeOne<{ files: string[] }>(
        `select payload->'files' as files from tasks where kind = $1 and last_error like 'no progress%'`,
        [Kind.backupBatch],
      ),
    );
    expect(batch.files.length).toBeGreaterThanOrEqual(4);
    for (const id of batch.files) {
      // noted in the transaction that put the batch back in the queue
      const line = (await pipe.timeline(id)).find((l) => l.includes('no progress'));
      expect(line, id).toMatch(
        new RegExp(
          `^→: backup attempt 1 \\(batch of ${batch.files.length} files\\) failed: no progress reading .* for 2 s: the share may be hung`,
        ),
      );
      expect((await pipe.file(id))!.status).toBe('acquired');
    }

    await rm(control);
    for (const [n, d] of data) {
      const f = await pipe.waitStatus(n, 'done_not_processed', 120_000);
      expect(sha(await readFile(backupLocation(pipe.config, f)))).toBe(sha(d));
    }
    await waitFor('no stuck attempts left', async () => pipe.worker!.stuckTasks.length === 0);
  });

  it('shows an instrument whose share hangs altogether offline, keeps scanning the others, and picks up its files when it answers', async () => {
    p = await createPipeline(standardConfig('worker: { stall_seconds: 2 }\n'));
    const watch = path.join(p.root, 'astral1');
    const backing = path.join(p.root, 'astral1.share');
    await mkdir(backing);
    const control = path.join(p.root, 'hang.ctl');
    share = await mountShare(backing, watch, control);
    await p.start();
    const instrument = async () =>
      await p!.db.one<{ online: boolean | null; offline_reason: string | null }>(
        `select online, offline_reason from instruments where id = 'astral1'`,
      );
    await waitFor('astral1 scanned', async () => (await instrument()).online === true);
    writeFileSync(control, 'all'); // stat and listing hang too
    await waitFor('astral1 offline', async () => (await instrument()).online === false);
    expect((await instrument()).offline_reason).toMatch(
      // the first scan's own deadline, or a later scan finding that first one still waiting
      new RegExp(
        `watch folder ${watch} did not answer in time \\((no answer within 2 s|the previous scan is still waiting for it)\\)`,
      ),
    );
    // the other instruments are scanned and backed up meanwhile; the process's file calls answer
    await stat(os.tmpdir());
    writeFileSync(path.join(p.root, 'scope1', 'meanwhile.tif'), 'meanwhile');
    await p.waitStatus('meanwhile.tif', 'done_not_processed');
    expect((await instrument()).online).toBe(false);
    // back: online again, and what was written meanwhile is picked up
    writeFileSync(path.join(backing, 'later.raw'), 'written while the share hung');
    rmSync(control);
    await p.waitStatus('later.raw', 'done_not_processed', 120_000);
    expect((await instrument()).online).toBe(true);
  });
});
