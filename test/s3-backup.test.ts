/**
 * S3 backup targets (issue #19) against a real S3 API server, s3rver, on loopback: files backed up to
 * the filesystem are then copied to the bucket (multipart with per-part MD5s and the ETag checked,
 * read back and hashed), a `.d` folder as one object per member plus a manifest object; an object
 * already there that differs is never overwritten — unless the operator accepted overwriting the
 * file's differing filesystem backup: then it is kept aside (kill -9 mid-upload and a store stopped
 * mid-upload: s3-faults.test.ts); the fixity audit catches a bit flipped in a stored object, and
 * the next copy uploads the damaged object again (not kept as "ours" for ever);
 * the remover waits for a required S3 copy (`cleanup.require`).
 *
 * What s3rver does not emulate, so what these tests cannot show: `x-amz-checksum-sha256` (it ignores
 * it: the copy is always read back), storage classes (accepted, not applied), real AWS errors and
 * throttling (503 SlowDown), object-lock, listing multipart uploads (501) and aborting them (405:
 * a killed attempt's parts stay in its folder here), and S3's multipart ETag (md5 of the parts' md5s, `-N`): it
 * answers the whole object's md5, which the upload accepts too. It does check Content-MD5 per part.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import pino from 'pino';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditCopy, auditedTargets, runFixity } from '../src/backup/fixity.ts';
import { s3Target } from '../src/backup/s3/copy-task.ts';
import { backfill } from '../src/backup/s3/upkeep.ts';
import { runRemover } from '../src/cleanup/remove.ts';
import { targetStates, targetsColumn } from '../src/cli/cleanup.ts';
import { silentLogger } from '../src/core/log.ts';
import { copiesLongestUnread, copiesPerTarget, copyState, copyStatesOf } from '../src/files/copies.ts';
import { verifiedCopy } from '../src/files/repo.ts';
import { acceptOverwrite } from '../src/pipeline/actions.ts';
import { backupLocation } from '../src/storage/raw-data.ts';
import { s3Client } from '../src/storage/s3-client.ts';
import { instrumentYaml, REMOVE_AT_ONCE } from './helpers/config-text.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

let dir: string;
let s3: S3rver;
let endpoint: string;
const BUCKET = 'raw-prj1';

async function startS3(port = 0): Promise<number> {
  s3 = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory: path.join(dir, 's3'),
    configureBuckets: [
      { name: BUCKET, configs: [] },
      { name: 'raw-unassigned', configs: [] },
    ],
  });
  return ((await s3.run()) as AddressInfo).port;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-s3-'));
  await mkdir(path.join(dir, 's3'));
  endpoint = `http://127.0.0.1:${await startS3()}`;
});

afterAll(async () => {
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

const client = () =>
  s3Client({
    region: 'us-east-1',
    endpoint,
    force_path_style: true,
    access_key_id: 'S3RVER',
    secret_access_key: 'S3RVER',
  });

function config(root: string, extra = ''): string {
  return `
data_dir: ${root}/data
backup:
  path: ${root}/backup
  targets:
    - name: s3
      type: s3
      endpoint: ${endpoint}
      force_path_style: true
      bucket: "raw-{project}"
      prefix: sluice/
      access_key_id: S3RVER
      secret_access_key: S3RVER
      part_size_mb: 5
      parts_in_flight: 2
projects:
  prj1: { tokens: [prj1] }
fallback_project: unassigned
instruments:
${instrumentYaml(root, { cleanup: true })}
${instrumentYaml(root, { id: 'tims1', type: 'bruker' })}
${extra}`;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function objectBytes(key: string, bucket = BUCKET): Promise<Buffer> {
  const r = await client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

/** Where s3rver keeps an object's bytes (`<bucket dir>/…/<name>._S3rver_object`). */
async function findObjectFile(root: string, name: string): Promise<string> {
  const all = (await readdir(root, { recursive: true })) as string[];
  const hit = all.find((f) => path.basename(f) === name);
  if (!hit) throw new Error(`no ${name} under ${root}: ${all.join(', ')}`);
  return path.join(root, hit);
}

async function waitS3Copy(p: Pipeline, id: string) {
  return waitFor(`an S3 copy of ${id}`, () => verifiedCopy(p.db, id, 's3'), 60_000, 100);
}

describe('S3 target', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await createPipeline((root) => config(root));
    await p.start();
  });
  afterAll(async () => {
    await p?.close();
  });

  it('copies a file in parts, checks the ETags, reads it back, and records a copy per target', async () => {
    const data = Buffer.alloc(12 * 1024 * 1024 + 123);
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    await writeFile(path.join(p.root, 'astral1', 'run_prj1_01.raw'), data);
    const f = await p.waitStatus('run_prj1_01.raw', 'done_not_processed');
    const copy = await waitS3Copy(p, f.id);
    expect(copy.location).toMatch(/^s3:\/\/raw-prj1\/sluice\/astral1\/\d{4}_\d{2}\/run_prj1_01\.raw\/$/);
    const key = `${copy.location.slice(`s3://${BUCKET}/`.length)}run_prj1_01.raw`;
    const head = await client().send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    // 5 + 5 + 2 MiB: a multipart upload of three parts; s3rver's ETag of it is the whole object's md5
    // (S3's would be md5-of-md5s-3: both are accepted, keys.test.ts computes the S3 form)
    expect(head.ETag).toBe(`"${createHash('md5').update(data).digest('hex')}"`);
    expect(head.Metadata?.['sluice-file-id']).toBe('run_prj1_01.raw');
    expect(head.Metadata?.['sluice-sha256']).toBe(sha256(data));
    expect(sha256(await objectBytes(key))).toBe(sha256(data));
    const manifest = JSON.parse(
      (await objectBytes(`${key.replace(/run_prj1_01\.raw$/, '')}sluice-manifest.json`)).toString(),
    );
    expect(manifest.members).toEqual([
      expect.objectContaining({ name: 'run_prj1_01.raw', size: data.length, sha256: sha256(data) }),
    ]);
    const fsCopy = await verifiedCopy(p.db, f.id, 'backup');
    expect(copy.manifest.entries).toEqual(fsCopy!.manifest.entries);
    expect((await p.timeline(f.id)).join('\n')).toMatch(
      /copied to S3 target s3 .*read back and verified \(sha256\)/,
    );
  });

  it('stores a .d folder as one object per member plus a manifest object', async () => {
    const d = path.join(p.root, 'tims1', 'sample_prj1.d');
    await mkdir(path.join(d, 'sub'), { recursive: true });
    await writeFile(path.join(d, 'analysis.tdf'), 'tdf');
    await writeFile(path.join(d, 'analysis.tdf_bin'), 'bin data');
    await writeFile(path.join(d, 'sub', 'method.m'), 'method');
    const f = await p.waitStatus('sample_prj1.d', 'done_not_processed');
    const copy = await waitS3Copy(p, f.id);
    const place = copy.location.slice(`s3://${BUCKET}/`.length);
    const list = await client().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: place }));
    expect((list.Contents ?? []).map((o) => o.Key!.slice(place.length)).sort()).toEqual([
      'analysis.tdf',
      'analysis.tdf_bin',
      'sluice-manifest.json',
      'sub/method.m',
    ]);
    expect((await objectBytes(`${place}sub/method.m`)).toString()).toBe('method');
  });

  it('never overwrites a differing object already at the key', async () => {
    const yyyyMm = new Date().toISOString().slice(0, 7).replace('-', '_');
    const key = `sluice/astral1/${yyyyMm}/clash_prj1.raw/clash_prj1.raw`;
    await client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'someone else' }));
    await writeFile(path.join(p.root, 'astral1', 'clash_prj1.raw'), 'ours');
    const f = await p.waitStatus('clash_prj1.raw', 'done_not_processed');
    await waitFor('the refusal on the timeline', async () =>
      (await p.timeline(f.id)).some((l) => /already holds a different object.*not overwritten/.test(l)),
    );
    expect((await objectBytes(key)).toString()).toBe('someone else');
    expect(await verifiedCopy(p.db, f.id, 's3')).toBeUndefined();
  });

  it('after an accepted overwrite of the filesystem backup, keeps the object in the way aside and copies the new content', async () => {
    const yyyyMm = new Date().toISOString().slice(0, 7).replace('-', '_');
    const key = `sluice/astral1/${yyyyMm}/over_prj1.raw/over_prj1.raw`;
    // what an earlier record of this name left (a database restored from before it): a backup and
    // an S3 object of other bytes of the same size, the object even carrying this file id
    const old = 'the old data!';
    await client().send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: key,
        Body: old,
        Metadata: { 'sluice-file-id': 'over_prj1.raw', 'sluice-sha256': sha256(old) },
      }),
    );
    const fake = { id: 'over_prj1.raw', instrument_id: 'astral1', project_id: 'prj1', mtime: new Date() };
    const dest = backupLocation(p.config, fake);
    await mkdir(path.dirname(dest), { recursive: true });
    await writeFile(dest, old);
    await writeFile(path.join(p.root, 'astral1', 'over_prj1.raw'), 'the new data!');
    const f = await p.waitStatus('over_prj1.raw', 'error');
    expect(f.status_reason).toMatch(/differs from the source/);
    await acceptOverwrite(p.db, p.config, f.id, 'test');
    const copy = await waitS3Copy(p, f.id);
    expect(copy.manifest.entries[0]!.hash).toBe(sha256('the new data!'));
    expect((await objectBytes(key)).toString()).toBe('the new data!');
    const list = await client().send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${key}.replaced-` }),
    );
    expect(list.Contents ?? []).toHaveLength(1);
    const aside = list.Contents![0]!.Key!;
    expect((await objectBytes(aside)).toString()).toBe(old);
    const head = await client().send(new HeadObjectCommand({ Bucket: BUCKET, Key: aside }));
    expect(head.Metadata?.['sluice-sha256']).toBe(sha256(old));
    expect((await p.timeline(f.id)).join('\n')).toContain(
      `overwrite accepted: what was at the key kept aside as s3://${BUCKET}/${aside}`,
    );
  });
  // 2 MiB: read back through the reused-buffer GET (raw-get.ts), as large members are
  const flipped = () => Buffer.alloc(2 * 1024 * 1024, 5);
  it('the fixity audit reads the S3 copy back: a bit flipped in a stored object is caught and the copy marked corrupt', async () => {
    await writeFile(path.join(p.root, 'astral1', 'flip_prj1.raw'), flipped());
    const f = await p.waitStatus('flip_prj1.raw', 'done_not_processed');
    const copy = await waitS3Copy(p, f.id);
    const row = { ...copy, kind: f.kind, instrument_copy: f.instrument_copy };
    expect((await auditCopy(p.db, p.config, row, silentLogger)).ok).toBe(true);
    const stored = await findObjectFile(path.join(dir, 's3', BUCKET), 'flip_prj1.raw._S3rver_object');
    const bytes = await readFile(stored);
    bytes[1000]! ^= 0x10;
    // bit rot changes no metadata: s3rver answers the file's mtime as LastModified, so keep it
    const before = await stat(stored);
    await writeFile(stored, bytes);
    await utimes(stored, before.atime, before.mtime);
    const audit = await auditCopy(p.db, p.config, row, silentLogger);
    expect(audit.ok).toBe(false);
    expect(audit.problems.join('\n')).toMatch(/flip_prj1\.raw: sha256 [0-9a-f]{64}, recorded/);
    expect(await copyState(p.db, copy.id)).toBe('corrupt');
    expect((await verifiedCopy(p.db, f.id, 'backup'))?.state).toBe('verified');
  });

  it('after fixity marked the S3 copy corrupt, the next copy uploads the damaged object again and verifies it', async () => {
    // the damaged object carries this file's id and hash: kept as "ours", every read-back failed
    const f = await p.waitStatus('flip_prj1.raw', 'done_not_processed');
    const damaged = await p.db.one<{ id: string }>(
      `select id from copies where file_id = $1 and target = 's3' and state = 'corrupt'`,
      [f.id],
    );
    expect(await backfill(p.db, p.config, s3Target(p.config, 's3')!)).toBeGreaterThanOrEqual(1);
    const copy = await waitS3Copy(p, f.id);
    expect(copy.id).not.toBe(damaged.id);
    const key = `${copy.location.slice(`s3://${BUCKET}/`.length)}flip_prj1.raw`;
    expect(sha256(await objectBytes(key))).toBe(sha256(flipped()));
    const row = { ...copy, kind: f.kind, instrument_copy: f.instrument_copy };
    expect((await auditCopy(p.db, p.config, row, silentLogger)).ok).toBe(true);
    expect((await p.timeline(f.id)).join('\n')).toMatch(
      /copied to S3 target s3 .*1 object\(s\) of the copy found damaged uploaded again/,
    );
  });

  it('copies of a target removed from the config are skipped by the fixity audit (a warning once), which goes on', async () => {
    await writeFile(path.join(p.root, 'astral1', 'gone_prj1.raw'), 'still here');
    await waitS3Copy(p, (await p.waitStatus('gone_prj1.raw', 'done_not_processed')).id);
    const gone = { ...p.config, backup: { ...p.config.backup, targets: [] } };
    const all = await copiesLongestUnread(p.db, 1000, auditedTargets(p.config));
    expect(all.some((c) => c.target === 's3')).toBe(true);
    const left = await copiesLongestUnread(p.db, 1000, auditedTargets(gone));
    expect(left.length).toBeGreaterThan(0);
    expect(left.every((c) => c.target === 'backup')).toBe(true);
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    // every copy is due: the run reaches the filesystem copies and does not throw on the S3 ones
    const cycle = {
      ...gone,
      backup: { ...gone.backup, fixity: { ...gone.backup.fixity, cycle_days: 1e-9 } },
    };
    await runFixity(p.db, cycle, log);
    await runFixity(p.db, cycle, log);
    const warned = lines.filter((l) => l.includes('skips') && l.includes("backup target 's3'"));
    expect(warned).toHaveLength(1);
  });
});

describe('cleanup.require: [backup, s3]', () => {
  let p: Pipeline;
  beforeAll(async () => {
    // the S3 pool starts paused: files are backed up to the filesystem only, until it is resized
    const extra = `pools: { copy.s3: 0 }\ncleanup: { require: [backup, s3], allow_outside_production: true }\n${REMOVE_AT_ONCE}`;
    p = await createPipeline((root) => config(root, extra));
    await p.start();
  });
  afterAll(async () => {
    await p?.close();
  });

  it('keeps the instrument copy until the S3 copy is verified from the store, then removes it', async () => {
    const raw = path.join(p.root, 'astral1', 'keep_prj1.raw');
    await writeFile(raw, Buffer.alloc(200_000, 9));
    const f = await p.waitStatus('keep_prj1.raw', 'done_not_processed');
    const deps = { config: p.config, vars: p.vars };
    const first = await runRemover(p.db, deps, 'astral1', silentLogger, { force: true });
    expect(first.removed).toEqual([]);
    expect(first.refused.find((r) => r.id === f.id)?.problems.join('\n')).toMatch(
      /no verified copy on backup target s3 yet \(cleanup\.require\)/,
    );
    expect(existsSync(raw)).toBe(true);
    // what `sluice cleanup check` shows in its targets column
    const states = async () =>
      targetsColumn(
        targetStates(
          [f.id],
          p.config.cleanup.require,
          await copyStatesOf(p.db, [f.id], p.config.cleanup.require),
        )[f.id],
      );
    expect(await states()).toBe('backup verified, s3 none');
    // what `sluice status` shows under BACKUP TARGETS
    expect(await copiesPerTarget(p.db, ['s3'])).toEqual([{ target: 's3', files: 1, copied: 0 }]);
    await p.db.exec(`update pools set size = 2 where name = 'copy.s3'`);
    await waitS3Copy(p, f.id);
    expect(await copiesPerTarget(p.db, ['s3'])).toEqual([{ target: 's3', files: 1, copied: 1 }]);
    expect(await states()).toBe('backup verified, s3 verified');
    const second = await runRemover(p.db, deps, 'astral1', silentLogger, { force: true });
    expect(second.removed).toEqual([f.id]);
    expect(existsSync(raw)).toBe(false);
    expect((await p.timeline(f.id)).join('\n')).toMatch(/removed from the instrument .*verified from s3 too/);
  });
});
