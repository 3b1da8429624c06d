/**
 * Retention of the backup area after archiving (issue #20 item 6; src/archive/retention.ts) on a real
 * database, a real worker and real files on a filesystem archive target: a backup is released only
 * `after_days` after its archive verified, never while the archive is not verified or was condemned
 * in between (the re-check inside the release transaction), its bytes are removed and the row says
 * `released`; processing refuses it naming `sluice retrieve`, the pack and the fixity timeline say the
 * backup was released, and a retrieval still restores the set from the archive. Config errors name
 * the field.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { condemnArchive } from '../src/archive/fixity.ts';
import { corruptArchivesPending } from '../src/archive/fixity-repo.ts';
import { itemsOfFile } from '../src/archive/repo.ts';
import { releaseBlocker, releaseOne, runRetention } from '../src/archive/retention.ts';
import { requestRetrieval } from '../src/archive/retrieve.ts';
import { getFetch } from '../src/archive/retrieve-repo.ts';
import { expectConfigError, parseAt } from '../src/core/config/test-helpers.ts';
import { silentLogger } from '../src/core/log.ts';
import { setPoolSize } from '../src/engine/pools.ts';
import { releasedBackup, verifiedBackupsOf } from '../src/files/releases.ts';
import { copiesOf, getFile, verifiedCopy } from '../src/files/repo.ts';
import { backupFailures } from '../src/ops/alerts/rules.ts';
import { rawPathFor } from '../src/process/submit.ts';
import { copyStateText, fileDetail } from '../src/views/file-detail.ts';
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
${archiveYaml(root, { lines: ['backup_retention: { require: [lts], after_days: 1 }'] })}
`;

const DAY = 86_400_000;
const later = (days: number) => new Date(Date.now() + days * DAY);

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

const content = (seed: number) => {
  const b = Buffer.alloc(300_000);
  for (let i = 0; i + 4 <= b.length; i += 4) b.writeUInt32LE(((i + seed) * 2654435761) >>> 0, i);
  return b;
};

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p2 = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p2)));
    else out.push(p2);
  }
  return out;
}

describe('backup retention', () => {
  it('releases a backup only after_days after its archive verified; readers refuse; retrieval restores it', async () => {
    p = await createPipeline(config);
    await mkdir(path.join(p.root, 'lts'));
    await p.start();
    const bytes = content(1);
    await writeFile(path.join(p.root, 'astral1', 'run1.raw'), bytes);
    await archived(p, 'run1.raw');
    const copy = (await verifiedCopy(p.db, 'run1.raw'))!;

    // not yet: the archive verified less than after_days ago
    expect(await runRetention(p.db, p.config, silentLogger)).toMatchObject({ released: 0, kept: 0 });
    expect((await verifiedCopy(p.db, 'run1.raw'))?.id).toBe(copy.id);
    await stat(copy.location);

    const r = await runRetention(p.db, p.config, silentLogger, { now: later(2) });
    expect(r).toMatchObject({ released: 1, kept: 0, bytes: bytes.length });
    expect(await verifiedCopy(p.db, 'run1.raw')).toBeUndefined();
    const rel = (await releasedBackup(p.db, 'run1.raw'))!;
    expect(rel).toMatchObject({ id: copy.id, state: 'released' });
    expect(rel.removed_at).not.toBeNull();
    await expect(stat(copy.location)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await p.timeline('run1.raw')).join('\n')).toMatch(
      /backup at .* released \(archived in archive \d+ on lts/,
    );
    // the file page, API and CLI say where the data is now
    const shown = (await fileDetail(p.db, 'run1.raw'))!.copies.find((c) => c.id === copy.id)!;
    expect(copyStateText(shown)).toMatch(
      /^released \d{4}-\d\d-\d\d \(archived in \d+ on lts, verified \d{4}-/,
    );
    // a second pass has nothing to do
    expect(await runRetention(p.db, p.config, silentLogger, { now: later(2) })).toMatchObject({
      released: 0,
    });

    // processing needs the bytes: a clear refusal naming sluice retrieve
    const file = (await getFile(p.db, 'run1.raw'))!;
    await expect(rawPathFor(p.db, p.config, file)).rejects.toMatchObject({
      code: 'backup.released',
      hint: expect.stringContaining('sluice retrieve run1.raw'),
    });

    // retrieval restores the set from the archive, verified
    const req = await requestRetrieval(p.db, p.config, { files: ['run1.raw'], by: 'alice' });
    const fetchId = req.retrievals[0]!.fetch_id;
    const done = await waitFor(`fetch ${fetchId} verified`, async () => {
      const f = await getFetch(p!.db, fetchId);
      if (f?.state === 'failed') throw new Error(`fetch failed: ${f.why}`);
      return f?.state === 'verified' ? f : undefined;
    });
    const got = await filesUnder(done.path!);
    expect(got).toHaveLength(1);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(sha(await readFile(got[0]!))).toBe(sha(bytes));

    // the archive condemned afterwards: the timeline and the alert say the backup was released
    await setPoolSize(p.db, 'archive.write', 0, 'test');
    const [item] = await itemsOfFile(p.db, 'run1.raw');
    await p.db.tx((tx) =>
      condemnArchive(tx, p!.config, { id: item!.archive_id!, target: 'lts' }, 'test', ['a flipped bit']),
    );
    expect((await p.timeline('run1.raw')).join('\n')).toContain('its backup was released on');
    const pending = await corruptArchivesPending(p.db);
    expect(pending).toMatchObject([{ files: 1, released: 1 }]);
    const [alert] = backupFailures({ corruptCopies: [], failedTasks: [], corruptArchives: pending } as never);
    expect(alert!.text).toContain('1 set(s) have no backup left (released by backup retention)');
    expect(alert!.text).toContain('0 set(s) are being archived again');
  });

  it('never releases while the archive is unverified, nor when it was condemned after the candidates were read', async () => {
    p = await createPipeline(config);
    await mkdir(path.join(p.root, 'lts'));
    await p.start();
    await writeFile(path.join(p.root, 'astral1', 'run2.raw'), content(2));
    await archived(p, 'run2.raw');
    // a second set backed up but not archived yet (writes paused)
    await setPoolSize(p.db, 'archive.write', 0, 'test');
    await writeFile(path.join(p.root, 'astral1', 'run3.raw'), content(3));
    const c3 = await waitFor('run3 backed up', () => verifiedCopy(p!.db, 'run3.raw'), 60_000);

    // the pass reads its candidates; then a fixity audit condemns run2's archive before the release
    const [stale] = await verifiedBackupsOf(p.db, ['run2.raw']);
    const [item] = await itemsOfFile(p.db, 'run2.raw');
    await p.db.tx((tx) =>
      condemnArchive(tx, p!.config, { id: item!.archive_id!, target: 'lts' }, 'test', ['a flipped bit']),
    );
    const out = await releaseOne(p.db, p.config, stale!, later(2));
    expect(out).toEqual({ released: false, why: 'not in a verified archive on lts' });
    expect((await verifiedCopy(p.db, 'run2.raw'))?.id).toBe(stale!.id);
    await stat(stale!.location);

    // a whole pass much later: neither is released (one condemned, one never archived)
    expect(await runRetention(p.db, p.config, silentLogger, { now: later(30) })).toMatchObject({
      released: 0,
    });
    await stat(c3.location);
    for (const id of ['run2.raw', 'run3.raw'])
      expect((await copiesOf(p.db, id)).map((c) => c.state)).toEqual(['verified']);
  });

  it('the pure rule: every required archive, old enough; cleanup.require; no pending items or jobs', () => {
    const cutoff = new Date('2026-01-10T00:00:00Z');
    const rules = { require: ['lts'], cleanupArchives: ['tape'], cleanupCopies: ['s3'], cutoff };
    const ok = {
      archives: {
        lts: { id: '1', verified_at: new Date('2026-01-01T00:00:00Z') },
        tape: { id: '2', verified_at: new Date('2026-01-09T23:00:00Z') },
      },
      copies: { s3: true },
      stillArchiving: [],
      activeJobs: 0,
      insideBackupRoot: true,
    };
    expect(releaseBlocker(ok, rules)).toBeUndefined();
    expect(releaseBlocker({ ...ok, archives: { ...ok.archives, lts: undefined } }, rules)).toMatch(/lts/);
    expect(
      releaseBlocker(
        { ...ok, archives: { ...ok.archives, lts: { id: '1', verified_at: new Date('2026-01-11') } } },
        rules,
      ),
    ).toMatch(/after_days/);
    expect(releaseBlocker({ ...ok, archives: { lts: ok.archives.lts, tape: undefined } }, rules)).toMatch(
      /cleanup/,
    );
    expect(releaseBlocker({ ...ok, copies: { s3: false } }, rules)).toMatch(/s3 \(cleanup.require\)/);
    expect(releaseBlocker({ ...ok, stillArchiving: ['cold'] }, rules)).toMatch(
      /still being archived on cold/,
    );
    expect(releaseBlocker({ ...ok, activeJobs: 1 }, rules)).toMatch(/processing job/);
    expect(releaseBlocker({ ...ok, insideBackupRoot: false }, rules)).toMatch(/backup.path/);
  });

  it('config errors name the field (exit 2)', async () => {
    const base = `
archive:
  targets:
    - { name: lts, type: filesystem, path: /srv/lts }
  backup_retention: `;
    await expectConfigError(
      () => parseAt(`${base}{ require: [tape] }\n`),
      ["archive.backup_retention.require[0]: unknown archive target: expected one of lts, found 'tape'"],
    );
    await expectConfigError(
      () => parseAt(`${base}{ require: [lts], after_days: -1 }\n`),
      ['archive.backup_retention.after_days: expected'],
    );
    expect(parseAt(`${base}{ require: [lts], after_days: 0 }\n`).archive.backup_retention).toMatchObject({
      require: ['lts'],
      after_days: 0,
    });
    expect(parseAt('').archive.backup_retention.require).toEqual([]);
  });
});
