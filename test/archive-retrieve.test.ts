/**
 * Retrieval from the filesystem archive target (issue #20) on a real database, a real worker and real
 * tars: concurrent requests for sets of one archive share one fetch (one download), every member is
 * verified against its recorded sha256, a tar that differs from its record never counts as
 * retrieved, a killed attempt's leftovers are replaced, and retrieved copies expire.
 * The archives are written by GNU tar in the packer's layout (helpers/archive-fixture.ts).
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getArchive } from '../src/archive/repo.ts';
import { requestRetrieval } from '../src/archive/retrieve.ts';
import { getFetch, listRetrievals, markDownloading } from '../src/archive/retrieve-repo.ts';
import { sweepRetrievals } from '../src/archive/retrieve-sweep.ts';
import { fetchFolder, partialFolder } from '../src/archive/retrieve-task.ts';
import { retrievalArea } from '../src/core/config/schema/retrieval.ts';
import { silentLogger } from '../src/core/log.ts';
import { insertFile } from './helpers/api.ts';
import { fsArchive } from './helpers/archive-fixture.ts';
import { sluice } from './helpers/cli.ts';
import { createPipeline, type Pipeline, standardConfig } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

let p: Pipeline;
const CONFIG = standardConfig('retrieval:\n  expire_after_hours: 1\npools:\n  archive.read: 2\n');
beforeAll(async () => {
  p = await createPipeline(CONFIG);
  for (const id of ['s1', 's2', 's3', 'bad1', 'k1', 'plain', 'c1']) await insertFile(p.db, { id });
  await p.start();
});
afterAll(() => p?.close());

const big = Buffer.alloc(3 * 1024 * 1024 + 17);
for (let i = 0; i + 4 <= big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);

async function waitFetch(id: string, state: string) {
  return waitFor(`fetch ${id} ${state}`, async () => {
    const f = await getFetch(p.db, id);
    if (f?.state === 'failed' && state !== 'failed') throw new Error(`fetch ${id} failed: ${f.why}`);
    return f?.state === state ? f : undefined;
  });
}

describe('retrieval from a filesystem archive', () => {
  it('serves concurrent requests of sets in one archive with one fetch, every member verified', async () => {
    const tar = path.join(p.root, 'lts', 'a1.tar');
    await fsArchive(p.db, tar, {
      s1: { 'run.raw': big },
      s2: { 'analysis.tdf': Buffer.from('tdf'), 'sub/method.m': Buffer.from('method') },
    });
    const [a, b] = await Promise.all([
      requestRetrieval(p.db, p.config, { files: ['s1'], by: 'alice' }),
      requestRetrieval(p.db, p.config, { files: ['s2', 's1'], by: 'bob' }),
    ]);
    const fetchIds = new Set([...a.retrievals, ...b.retrievals].map((r) => r.fetch_id));
    expect(fetchIds.size).toBe(1);
    const [fetchId] = [...fetchIds] as [string];
    const done = await waitFetch(fetchId, 'verified');
    expect(done.path).toBe(fetchFolder(retrievalArea(p.config), fetchId));
    expect(Number(done.bytes_done)).toBe(big.length + 9);
    expect(done.members_done).toBe(3);
    expect(done.expires_at!.getTime() - done.verified_at!.getTime()).toBe(3_600_000);
    const rows = await listRetrievals(p.db, { limit: 10 });
    expect(rows.filter((r) => r.fetch_id === fetchId)).toHaveLength(3);
    const s2 = rows.find((r) => r.file_id === 's2')!;
    expect(s2.prefix).toBe('data/astral1/s2');
    expect(await readFile(path.join(done.path!, s2.prefix, 'sub/method.m'), 'utf8')).toBe('method');
    expect((await readFile(path.join(done.path!, 'data/astral1/s1/run.raw'))).equals(big)).toBe(true);
    // the manifest and the BagIt declaration are not members: not extracted
    expect(await readdir(done.path!)).toEqual(['data']);
    // every member read back against its hash: the archive's fixity is recorded as checked
    expect((await getArchive(p.db, done.archive_id))?.last_fixity_ok).toBe(true);

    // asked again once verified: the same copy, its expiry pushed out
    const again = await requestRetrieval(p.db, p.config, { files: ['s1'], by: 'carol' });
    expect(again.retrievals[0]!.fetch_id).toBe(fetchId);
    expect(again.retrievals[0]!.state).toBe('verified');
  });

  it('never counts a tar that differs from its record: the fetch fails with why, no folder left', async () => {
    const tar = path.join(p.root, 'lts', 'bad.tar');
    await fsArchive(p.db, tar, { bad1: { 'x.raw': Buffer.alloc(10_000, 1) } });
    // flip a byte of the member's content after the archive was recorded
    const bytes = await readFile(tar);
    const at = bytes.indexOf(Buffer.alloc(64, 1));
    bytes[at + 10] = 2;
    await writeFile(tar, bytes);
    const r = await requestRetrieval(p.db, p.config, { files: ['bad1'], by: 'alice' });
    const failed = await waitFetch(r.retrievals[0]!.fetch_id, 'failed');
    expect(failed.why).toMatch(
      /archive member 'data\/astral1\/bad1\/x\.raw': read 10000 bytes with sha256 \w+, recorded 10000/,
    );
    const area = retrievalArea(p.config);
    await expect(stat(fetchFolder(area, failed.id))).rejects.toThrow();
    await expect(stat(partialFolder(area, failed.id))).rejects.toThrow();
    expect((await listRetrievals(p.db, { file: 'bad1', limit: 1 }))[0]!.state).toBe('failed');
    // its fixity check failed: the archive no longer counts (archive/fixity.ts condemnArchive)
    expect(await getArchive(p.db, failed.archive_id)).toMatchObject({
      last_fixity_ok: false,
      state: 'corrupt',
    });
  });

  it('a killed attempt leaves nothing that counts: its partial and unrecorded folders are replaced', async () => {
    const tar = path.join(p.root, 'lts', 'k.tar');
    await fsArchive(p.db, tar, { k1: { 'k.raw': Buffer.from('kept') } });
    await p.stop();
    const r = await requestRetrieval(p.db, p.config, { files: ['k1'], by: 'alice' });
    const id = r.retrievals[0]!.fetch_id;
    // what a kill -9 mid-download leaves: state downloading, a partial folder, even a final folder
    // renamed but not recorded (kill between rename and commit)
    await markDownloading(p.db, id);
    const area = retrievalArea(p.config);
    await mkdir(path.join(partialFolder(area, id), 'data'), { recursive: true });
    await writeFile(path.join(partialFolder(area, id), 'data', 'junk'), 'junk');
    await mkdir(fetchFolder(area, id), { recursive: true });
    await writeFile(path.join(fetchFolder(area, id), 'half'), 'half');
    expect((await getFetch(p.db, id))!.state).toBe('downloading');
    await p.start();
    const done = await waitFetch(id, 'verified');
    expect(await readdir(done.path!)).toEqual(['data']);
    expect(await readFile(path.join(done.path!, 'data/astral1/k1/k.raw'), 'utf8')).toBe('kept');
    await expect(stat(partialFolder(area, id))).rejects.toThrow();
  });

  it('expires retrieved copies: the folder goes, a new request fetches again', async () => {
    const tar = path.join(p.root, 'lts', 's3.tar');
    await fsArchive(p.db, tar, { s3: { 'e.raw': Buffer.from('expiring') } });
    const r = await requestRetrieval(p.db, p.config, { files: ['s3'], by: 'alice' });
    const first = await waitFetch(r.retrievals[0]!.fetch_id, 'verified');
    const swept = await sweepRetrievals(p.db, silentLogger, new Date(Date.now() + 2 * 3_600_000));
    expect(swept.expired).toBeGreaterThanOrEqual(1);
    expect((await getFetch(p.db, first.id))!.state).toBe('expired');
    await expect(stat(first.path!)).rejects.toThrow();
    const again = await requestRetrieval(p.db, p.config, { files: ['s3'], by: 'alice' });
    expect(again.retrievals[0]!.fetch_id).not.toBe(first.id);
    await waitFetch(again.retrievals[0]!.fetch_id, 'verified');
  });

  it('`sluice retrieve` records the request, follows it to verified and says where each set is', async () => {
    await fsArchive(p.db, path.join(p.root, 'lts', 'c.tar'), {
      c1: { 'c.raw': Buffer.from('from the cli') },
    });
    await writeFile(path.join(p.root, 'sluice.yaml'), CONFIG(p.root));
    const env = { DATABASE_URL: p.url, SLUICE_CONFIG: path.join(p.root, 'sluice.yaml') };
    const r = await sluice(['retrieve', 'c1', '--json'], { env });
    expect(r.stderr).toMatch(/archive \d+ \[#{24}\] 100% .* verified {2}\(1 set\)/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.retrievals[0]).toMatchObject({ file_id: 'c1', state: 'verified', prefix: 'data/astral1/c1' });
    expect(await readFile(path.join(out.retrievals[0].set_path, 'c.raw'), 'utf8')).toBe('from the cli');
    const list = await sluice(['retrieve', '--list', '--state', 'verified'], { env });
    expect(list.stdout).toMatch(/^ID +FILE +ARCHIVE +STATE/);
    expect(list.stdout).toMatch(/ c1 +\d+ +verified +cli:/);
    const bad = await sluice(['retrieve'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/nothing to retrieve/);
    const none = await sluice(['retrieve', 'plain'], { env });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/not in a verified archive|none of the 1 requested/);
  });

  it('refuses a request for files in no verified archive, naming what to do', async () => {
    await expect(requestRetrieval(p.db, p.config, { files: ['plain'], by: 'alice' })).rejects.toThrow(
      /none of the 1 requested file\(s\) is in a verified archive/,
    );
    await expect(requestRetrieval(p.db, p.config, { files: ['nope'], by: 'alice' })).rejects.toThrow(/nope/);
  });
});
