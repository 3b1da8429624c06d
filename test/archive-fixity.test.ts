/**
 * Fixity audits of archived sets (src/archive/fixity.ts) on a filesystem target with a real worker:
 * a clean re-read records the check; a flipped bit inside a member makes the archive `corrupt` (it
 * no longer counts for cleanup), raises the `backup_failure` alert and has the set archived anew from
 * its backup; a target that is gone as a whole marks nothing. The budget pick is pure.
 */
import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pickForFixity, runArchiveFixity } from '../src/archive/fixity.ts';
import { corruptArchivesPending } from '../src/archive/fixity-repo.ts';
import { archivedOn, getArchive, membersOf } from '../src/archive/repo.ts';
import { silentLogger } from '../src/core/log.ts';
import { setPoolSize } from '../src/engine/pools.ts';
import { backupFailures } from '../src/ops/alerts/rules.ts';
import { archivedItem } from './helpers/archive-fixture.ts';
import { archiveYaml, instrumentYaml } from './helpers/config-text.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';

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
${archiveYaml(root, { lines: ['fixity: { cycle_days: 0 }'] })}
`;

describe('pickForFixity', () => {
  const a = (mb: number) => ({ size_bytes: String(mb * 1024 * 1024) });
  it('takes archives in order while they fit the budget, and always the first', () => {
    expect(pickForFixity([a(4), a(4), a(4)], 10 * 1024 * 1024)).toHaveLength(2);
    expect(pickForFixity([a(40), a(1)], 10 * 1024 * 1024)).toHaveLength(1);
    expect(pickForFixity([], 10)).toHaveLength(0);
  });
});

describe('archive fixity audits', () => {
  it('records a clean re-read; a flipped bit makes the archive corrupt, alerts, and archives the set anew', async () => {
    p = await createPipeline(config);
    await mkdir(path.join(p.root, 'lts'));
    await p.start();
    await writeFile(path.join(p.root, 'astral1', 'run1.raw'), Buffer.alloc(200_000, 5));
    const first = await archivedItem(p.db, 'run1.raw', { ms: 60_000 });
    const id = first.archive_id!;

    const clean = await runArchiveFixity(p.db, p.config, silentLogger);
    expect(clean).toMatchObject({ audited: 1, corrupt: 0 });
    expect(await getArchive(p.db, id)).toMatchObject({ state: 'archived', last_fixity_ok: true });

    // the target gone as a whole: nothing is marked
    const lts = path.join(p.root, 'lts');
    await rename(lts, `${lts}.away`);
    await expect(runArchiveFixity(p.db, p.config, silentLogger)).rejects.toMatchObject({
      code: 'archive.fixity_target_missing',
    });
    await rename(`${lts}.away`, lts);
    expect((await getArchive(p.db, id))?.state).toBe('archived');

    // one bit flipped in the middle of the member's content; no rewrite until we look
    await setPoolSize(p.db, 'archive.write', 0, 'test');
    const arch = (await getArchive(p.db, id))!;
    const [m] = await membersOf(p.db, id);
    const fh = await open(arch.location, 'r+');
    const at = Number(m!.data_offset) + 1000;
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0x10;
    await fh.write(b, 0, 1, at);
    await fh.close();

    const bad = await runArchiveFixity(p.db, p.config, silentLogger);
    expect(bad).toMatchObject({ audited: 1, corrupt: 1 });
    expect(await getArchive(p.db, id)).toMatchObject({ state: 'corrupt', last_fixity_ok: false });
    expect(await archivedOn(p.db, 'run1.raw', 'lts')).toBeUndefined(); // cleanup.require no longer holds
    const pending = await corruptArchivesPending(p.db);
    expect(pending.map((x) => x.id)).toEqual([id]);
    const alerts = backupFailures({ corruptCopies: [], failedTasks: [], corruptArchives: pending } as never);
    expect(alerts[0]).toMatchObject({
      rule: 'backup_failure',
      subject: `archive:${id}`,
      severity: 'critical',
    });
    expect((await p.timeline('run1.raw')).join('\n')).toContain(`archive ${id} on lts is corrupt`);

    // the set is archived again from its backup; the alert clears
    await setPoolSize(p.db, 'archive.write', null, 'test');
    const again = await archivedItem(p.db, 'run1.raw', { notIn: id, ms: 60_000 });
    expect(again.archive_id).not.toBe(id);
    expect((await archivedOn(p.db, 'run1.raw', 'lts'))?.id).toBe(again.archive_id);
    expect(await corruptArchivesPending(p.db)).toEqual([]);
    expect((await getArchive(p.db, id))?.state).toBe('corrupt');
  });
});
