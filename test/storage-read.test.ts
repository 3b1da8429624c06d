/**
 * "Verified from storage, not from memory", shown on a real filesystem: a backup on a small ext4 image
 * (loop-mounted) is damaged on the disk beneath the page cache, which still holds the good bytes, as
 * silent media corruption would be. A read through the cache (what every verification did before)
 * still sees the good bytes and the remover deleted the instrument copy; the read from storage
 * (O_DIRECT) sees the damage: the remover keeps the instrument copy and marks the backup corrupt, and
 * a fixity audit finds it too.
 *
 * Needs root, mkfs.ext4 and a loop device; skipped (with the reason) where they are missing.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runFixity } from '../src/backup/fixity.ts';
import { hashFile } from '../src/backup/hash.ts';
import { hashFromStorage } from '../src/backup/storage-read.ts';
import { runRemover } from '../src/cleanup/remove.ts';
import { silentLogger } from '../src/core/log.ts';
import { backupLocation } from '../src/storage/raw-data.ts';
import { instrumentYaml, REMOVE_AT_ONCE } from './helpers/config-text.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';

let p: Pipeline | undefined;
let disk: { dir: string; image: string; mnt: string } | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
  if (disk) {
    try {
      execFileSync('umount', [disk.mnt]);
    } catch {}
    await rm(disk.dir, { recursive: true, force: true });
    disk = undefined;
  }
});

/** A 64 MiB ext4 filesystem mounted through a loop device; undefined (and why) where that cannot be done. */
async function loopDisk(): Promise<{ ok: true } | { ok: false; why: string }> {
  if (process.getuid?.() !== 0) return { ok: false, why: 'not root' };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-loop-'));
  const image = path.join(dir, 'disk.img');
  const mnt = path.join(dir, 'mnt');
  try {
    await writeFile(image, '');
    execFileSync('truncate', ['-s', '64M', image]);
    execFileSync('mkfs.ext4', ['-q', '-F', '-b', '4096', image]);
    await mkdir(mnt);
    execFileSync('mount', ['-o', 'loop', image, mnt], { stdio: 'pipe' });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    return {
      ok: false,
      why: `cannot mount a loop-device ext4 image: ${(err as Error).message.split('\n')[0]}`,
    };
  }
  disk = { dir, image, mnt };
  return { ok: true };
}

/**
 * Flip one byte of `file` (on the loop disk) in the disk image only: the mounted filesystem's page
 * cache keeps the old bytes. The file's data is found in the image by its first 4 KiB (random, so
 * unique).
 */
async function damageOnDisk(file: string, at: number): Promise<void> {
  const data = await readFile(file);
  const image = await readFile(disk!.image);
  const start = image.indexOf(data.subarray(0, 4096));
  expect(start).toBeGreaterThan(0);
  expect(image.indexOf(data.subarray(0, 4096), start + 1)).toBe(-1);
  const fh = await open(disk!.image, 'r+');
  try {
    const one = Buffer.from([image[start + at]! ^ 0x01]);
    await fh.write(one, 0, 1, start + at);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

describe('reading from storage, not from the page cache', () => {
  it('a direct read sees damage on the disk that a cached read does not', async (ctx) => {
    const d = await loopDisk();
    if (!d.ok) return ctx.skip(d.why);
    const file = path.join(disk!.mnt, 'f.bin');
    await writeFile(file, randomBytes(1024 * 1024), { flush: true });
    const good = await hashFile(file);
    await damageOnDisk(file, 500_000);
    expect(await hashFile(file)).toEqual(good); // the cache still serves the good bytes
    const direct = await hashFromStorage(file, { algorithm: 'sha256' });
    expect(direct.read).toBe('direct');
    expect(direct.hash).not.toBe(good.hash);
  });

  it('the remover keeps the instrument copy of a backup damaged beneath the cache, and the audit finds it', async (ctx) => {
    const d = await loopDisk();
    if (!d.ok) return ctx.skip(d.why);
    const backupDir = path.join(disk!.mnt, 'backup');
    p = await createPipeline(
      (root) => `
data_dir: ${root}/data
backup: { path: ${backupDir} }
cleanup: { allow_outside_production: true }
${REMOVE_AT_ONCE}
instruments:
${instrumentYaml(root, { cleanup: true })}
`,
    );
    await writeFile(path.join(p.root, 'astral1', 's.raw'), randomBytes(1024 * 1024));
    await p.start();
    await p.waitStatus('s.raw', 'done_not_processed');
    await p.stop();
    const dest = backupLocation(p.config, (await p.file('s.raw'))!);
    await damageOnDisk(dest, 700_000);

    const r = await runRemover(p.db, { config: p.config, vars: p.vars }, 'astral1', silentLogger);
    expect(r.removed).toEqual([]);
    expect(existsSync(path.join(p.root, 'astral1', 's.raw'))).toBe(true);
    const c = await p.db.one<{ state: string }>(`select state from copies where file_id = 's.raw'`);
    expect(c.state).toBe('corrupt');
    expect((await p.timeline('s.raw')).join('\n')).toMatch(/no longer matches the hashes recorded/);

    // the audit reads from storage too (the copy is corrupt now; audit it as if it were not)
    await p.db.exec(`update copies set state = 'verified' where file_id = 's.raw'`);
    const audit = await runFixity(p.db, p.config, silentLogger);
    expect(audit).toMatchObject({ audited: 1, mismatches: 1, cached: 0 });
  });
});
