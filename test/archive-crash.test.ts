/**
 * Archives under kill -9 (SIGKILL) of a real `sluice start` worker (harness: test/helpers/kill.ts):
 *   - mid-write (filesystem): nothing of the cut-short write counts (archive `writing`, item
 *     `packing`); the next worker writes the same archive again, verifies it; no `.partial` left;
 *   - mid-verify: the archive stays `written` (not archived); the next worker reads it back and
 *     verifies it without writing it again;
 *   - mid-retrieval: the fetch stays `downloading` with a `.partial-` folder; the next worker
 *     replaces it and verifies every member; only the verified folder is left;
 *   - mid-upload to S3 (a real s3rver in this process): the killed attempt's multipart upload was
 *     remembered before any part went out and no object exists at the key; the next worker uploads
 *     again, verifies, and a retrieval brings the set back verified from S3 (write, verify, retrieve).
 *     s3rver answers AbortMultipartUpload with 405 (and cannot list uploads), so the killed upload's
 *     parts stay in its folder and the id stays remembered; on S3, MinIO or Ceph the abort removes them.
 */

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterEach, describe, expect, it } from 'vitest';
import { archivesOfFile, itemsOfFile, membersOf } from '../src/archive/repo.ts';
import { s3Client } from '../src/storage/s3-client.ts';
import { sluice } from './helpers/cli.ts';
import { KILLED_WORKER_CONFIG } from './helpers/config-text.ts';
import { bigFile, type CrashBed, crashBed, killWhen, withWorker } from './helpers/kill.ts';
import { waitFor } from './helpers/spawn.ts';

async function sizeOf(dir: string, match: (name: string) => boolean): Promise<number> {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of await readdir(dir, { recursive: true })) {
    if (!match(String(e))) continue;
    const s = await stat(path.join(dir, String(e))).catch(() => undefined);
    if (s?.isFile()) n += s.size;
  }
  return n;
}

const archivedItem = (bed: CrashBed) =>
  waitFor(
    'big.raw archived',
    async () => (await itemsOfFile(bed.db, 'big.raw'))[0]?.state === 'archived',
    300_000,
    200,
  );

const fsArchiveConfig = `${KILLED_WORKER_CONFIG}archive:
  targets: [{ name: lts, type: filesystem, path: ./lts, min_free_share: 0 }]
  policies: [{ name: all, targets: [lts] }]
`;

let bed: CrashBed | undefined;
let s3: S3rver | undefined;
afterEach(async () => {
  await bed?.close();
  bed = undefined;
  await s3?.close();
  s3 = undefined;
});

async function fetchRow(b: CrashBed): Promise<{ id: string; state: string } | undefined> {
  const [f] = await b.db.query<{ id: string; state: string }>(
    'select id, state from archive_fetches order by id',
  );
  return f;
}

async function sha(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

describe('archive under kill -9', () => {
  it('writes the archive again after the worker is killed mid-write; only the verified one counts', async () => {
    bed = await crashBed('sluice-archive-crash-');
    const b = bed;
    await mkdir(path.join(b.root, 'astral1'));
    const lts = path.join(b.root, 'lts');
    await mkdir(lts);
    await b.writeConfig(fsArchiveConfig);
    const digest = await bigFile(path.join(b.root, 'astral1', 'big.raw'), 200);
    await killWhen(
      await b.startWorker(),
      'an archive being written',
      async () => (await sizeOf(lts, (n) => n.endsWith('.partial'))) > 0,
    );
    const [cut] = await itemsOfFile(b.db, 'big.raw');
    expect(cut?.state).toBe('packing'); // the cut-short write counts for nothing
    expect((await archivesOfFile(b.db, 'big.raw')).map((a) => a.state)).toEqual(['writing']);
    await withWorker(b, () => archivedItem(b));
    const archives = await archivesOfFile(b.db, 'big.raw');
    expect(archives.map((a) => a.state)).toEqual(['archived']);
    expect(archives[0]!.attempts).toBe(1); // adopted and written again, not a second archive
    const members = await membersOf(b.db, archives[0]!.id);
    expect(members.map((m) => m.sha256)).toEqual([digest]);
    expect(await sizeOf(lts, (n) => n.endsWith('.partial'))).toBe(0);
    expect(existsSync(archives[0]!.location)).toBe(true);
  });

  it('killed mid-verify: stays written, then verified without a rewrite; killed mid-retrieval: nothing half-retrieved counts', async () => {
    bed = await crashBed('sluice-archive-verify-');
    const b = bed;
    await mkdir(path.join(b.root, 'astral1'));
    await mkdir(path.join(b.root, 'lts'));
    await b.writeConfig(fsArchiveConfig);
    const digest = await bigFile(path.join(b.root, 'astral1', 'big.raw'), 300);
    await killWhen(await b.startWorker(), 'the archive written, being verified', async () =>
      (await archivesOfFile(b.db, 'big.raw')).some((a) => a.state === 'written'),
    );
    const [written] = await archivesOfFile(b.db, 'big.raw');
    expect(written).toMatchObject({ state: 'written', verified_at: null });
    expect((await itemsOfFile(b.db, 'big.raw'))[0]?.state).toBe('packing'); // not archived before verified

    const area = path.join(b.root, 'data', 'retrievals');
    await withWorker(b, async (w) => {
      await archivedItem(b);
      const [a] = await archivesOfFile(b.db, 'big.raw');
      expect(a).toMatchObject({ id: written!.id, state: 'archived', attempts: 1 });
      expect(a!.written_at).toEqual(written!.written_at); // verified as written, not written again
      const env = { DATABASE_URL: b.url, SLUICE_CONFIG: path.join(b.root, 'sluice.yaml') };
      const r = await sluice(['retrieve', 'big.raw', '--no-wait'], { env });
      expect(r.code, r.stderr).toBe(0);
      await killWhen(
        w,
        'a retrieval being extracted',
        async () => (await sizeOf(area, (n) => n.startsWith('.partial-'))) > 0,
      );
    });
    expect((await fetchRow(b))?.state).toBe('downloading'); // not verified: the partial counts for nothing
    await withWorker(b, () =>
      waitFor('the retrieval verified', async () => (await fetchRow(b))?.state === 'verified', 300_000, 200),
    );
    const f = (await fetchRow(b))!;
    expect((await readdir(area)).filter((n) => n.startsWith('.partial-'))).toEqual([]);
    const [m] = await membersOf(b.db, written!.id);
    expect(await sha(path.join(area, f.id, m!.path))).toBe(digest);
  });

  it('killed mid-upload to S3: no object at the key, the upload was remembered; then written, verified and retrieved from S3', async () => {
    bed = await crashBed('sluice-archive-s3kill-');
    const b = bed;
    const s3dir = path.join(b.root, 's3');
    await mkdir(s3dir);
    await mkdir(path.join(b.root, 'astral1'));
    s3 = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: s3dir,
      configureBuckets: [{ name: 'lts', configs: [] }],
    });
    const { port } = (await s3.run()) as AddressInfo;
    await b.writeConfig(`${KILLED_WORKER_CONFIG}archive:
  targets:
    - { name: s3lts, type: s3, endpoint: "http://127.0.0.1:${port}", bucket: lts, force_path_style: true,
        access_key_id: S3RVER, secret_access_key: S3RVER, storage_class: STANDARD, part_size_mb: 5,
        parts_in_flight: 2 }
  policies: [{ name: all, targets: [s3lts] }]
`);
    const digest = await bigFile(path.join(b.root, 'astral1', 'big.raw'), 200);
    const uploads = async () => {
      const [t] = await b.db.query<{ payload: { uploads?: { uploadId: string; key: string }[] } }>(
        `select payload from tasks where kind = 'archive.pack' and subject = 's3lts'`,
      );
      return t?.payload.uploads ?? [];
    };
    await killWhen(
      await b.startWorker(),
      'a part received by s3rver',
      async () =>
        (await uploads()).length > 0 &&
        (await sizeOf(s3dir, (n) => /_uploads\/[0-9a-f]+\/\d+\.md5$/.test(n))) > 0,
    );
    const [killed] = await uploads();
    const [cut] = await archivesOfFile(b.db, 'big.raw');
    expect(cut?.state).toBe('writing');
    expect((await itemsOfFile(b.db, 'big.raw'))[0]?.state).toBe('packing');
    const client = s3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      force_path_style: true,
      access_key_id: 'S3RVER',
      secret_access_key: 'S3RVER',
    } as never);
    // no object, partial or whole, at the archive's key: a multipart upload is invisible until completed
    await expect(
      client.send(new HeadObjectCommand({ Bucket: 'lts', Key: killed!.key })),
    ).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    const area = path.join(b.root, 'data', 'retrievals');
    await withWorker(b, async () => {
      await archivedItem(b);
      const [a] = await archivesOfFile(b.db, 'big.raw');
      expect(a).toMatchObject({ id: cut!.id, state: 'archived', target_kind: 's3' });
      const head = await client.send(new HeadObjectCommand({ Bucket: 'lts', Key: killed!.key }));
      expect(head.ContentLength).toBe(Number(a!.size_bytes));
      const env = { DATABASE_URL: b.url, SLUICE_CONFIG: path.join(b.root, 'sluice.yaml') };
      const r = await sluice(['retrieve', 'big.raw', '--no-wait'], { env });
      expect(r.code, r.stderr).toBe(0);
      await waitFor(
        'the S3 retrieval verified',
        async () => (await fetchRow(b))?.state === 'verified',
        300_000,
        200,
      );
    });
    const f = (await fetchRow(b))!;
    const [m] = await membersOf(b.db, cut!.id);
    expect(await sha(path.join(area, f.id, m!.path))).toBe(digest);
    // the killed upload is still remembered: s3rver refused its abort (405); a real store removes it
    expect((await uploads()).map((u) => u.uploadId)).toContain(killed!.uploadId);
  });
});
