/**
 * Archives end to end on the filesystem target (src/archive/): files acquired and backed up are
 * packed into pax tars after their backup, read back and verified before they count; GNU tar reads
 * the archive and its members hash as recorded. A backup changed after its verification is never
 * archived; a pool of size 0 pauses the archive writes.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { archivesOfFile, itemsOfFile, membersOf } from '../src/archive/repo.ts';
import { setPoolSize } from '../src/engine/pools.ts';
import { verifiedCopy } from '../src/files/repo.ts';
import { archiveYaml, instrumentYaml } from './helpers/config-text.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

const config = (root: string) => `
data_dir: ${root}/data
backup: { path: ${root}/backup }
instruments:
${instrumentYaml(root, { stable: 0.3 })}
${instrumentYaml(root, { id: 'tims1', type: 'bruker', stable: 0.3, acquisition: 'main_file_timeout_seconds: 3' })}
${archiveYaml(root, { target: 'archive_size_mb: 1' })}
`;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function archived(pl: Pipeline, id: string) {
  return waitFor(
    `${id} archived on lts`,
    async () => {
      const [item] = await itemsOfFile(pl.db, id);
      return item?.state === 'archived' ? item : undefined;
    },
    60_000,
  );
}

describe('archive to a filesystem target', () => {
  it('packs backed-up files into verified pax tars that GNU tar reads', async () => {
    p = await createPipeline(config);
    await mkdir(path.join(p.root, 'lts'));
    await p.start();
    const raw = Buffer.alloc(300_000, 7);
    await writeFile(path.join(p.root, 'astral1', 'run1.raw'), raw);
    const d = path.join(p.root, 'tims1', 'run2.d');
    await mkdir(path.join(d, 'sub'), { recursive: true });
    await writeFile(path.join(d, 'analysis.tdf'), 'tdf');
    await writeFile(path.join(d, 'sub', 'x.bin'), Buffer.alloc(5000, 3));
    await writeFile(path.join(d, 'analysis.tdf_bin'), Buffer.alloc(2_000_000, 1)); // > archive_size_mb
    const a = await archived(p, 'run1.raw');
    const b = await archived(p, 'run2.d');
    const [arch] = await archivesOfFile(p.db, 'run1.raw');
    expect(arch).toMatchObject({ state: 'archived', target: 'lts' });
    expect(a.archive_id).toBe(arch!.id);
    // a set larger than archive_size_mb is in an archive of its own
    expect(b.archive_id).not.toBe(a.archive_id);

    const listing = execFileSync('tar', ['-tvf', arch!.location], { encoding: 'utf8' });
    expect(listing).toContain('data/astral1/run1.raw/run1.raw');
    expect(listing).toContain('manifest-sha256.txt');
    const out = path.join(p.root, 'x');
    await mkdir(out);
    execFileSync('tar', ['-xf', arch!.location, '-C', out]);
    const manifest = await readFile(path.join(out, 'manifest-sha256.txt'), 'utf8');
    expect(manifest).toBe(`${sha(raw)}  data/astral1/run1.raw/run1.raw\n`);
    const [b2] = await archivesOfFile(p.db, 'run2.d');
    const members = await membersOf(p.db, b2!.id);
    expect(members.map((m) => m.rel).sort()).toEqual(['analysis.tdf', 'analysis.tdf_bin', 'sub/x.bin']);
    // every member's recorded offset holds its content
    const tarBytes = await readFile(b2!.location);
    for (const m of members) {
      const at = Number(m.data_offset);
      expect(sha(tarBytes.subarray(at, at + Number(m.size)))).toBe(m.sha256);
    }
    expect((await p.timeline('run1.raw')).join('\n')).toContain('archived to lts');
  });

  it('pauses with pool size 0 and never archives a backup that changed after verification', async () => {
    p = await createPipeline(config);
    await mkdir(path.join(p.root, 'lts'));
    await setPoolSize(p.db, 'archive.write', 0, 'test');
    await p.start();
    await writeFile(path.join(p.root, 'astral1', 'good.raw'), 'good data');
    await writeFile(path.join(p.root, 'astral1', 'bad.raw'), 'bad data');
    await p.waitStatus('good.raw', 'done_not_processed');
    await p.waitStatus('bad.raw', 'done_not_processed');
    const [pending] = await itemsOfFile(p.db, 'bad.raw');
    expect(pending?.state).toBe('due');
    const copy = await verifiedCopy(p.db, 'bad.raw');
    await writeFile(copy!.location, 'BAD data'); // same size, other bytes
    await setPoolSize(p.db, 'archive.write', null, 'test');
    await archived(p, 'good.raw');
    const item = await waitFor('bad.raw taken out', async () => {
      const [i] = await itemsOfFile(p!.db, 'bad.raw');
      return i?.last_error ? i : undefined;
    });
    expect(item).toMatchObject({ state: 'due', archive_id: null });
    expect(item.last_error).toContain('was verified when it was backed up');
    const [arch] = await archivesOfFile(p.db, 'good.raw');
    const members = await membersOf(p.db, arch!.id);
    expect(members.map((m) => m.file_id)).toEqual(['good.raw']);
  });
});
