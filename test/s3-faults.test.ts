/**
 * S3 backup targets under faults (issue #19 item 3), against a real S3 API server (s3rver) on loopback:
 * a `sluice start` worker killed with SIGKILL while parts of a 200 MiB file are in flight, and the
 * store stopped mid-upload then started again on the same port and folder. Both end in exactly one
 * verified copy; meanwhile the instrument keeps its data when `cleanup.require` names the target.
 *
 * What s3rver does not emulate, and so what these tests cannot show: aborting a multipart upload
 * (it answers 405 to AbortMultipartUpload) and listing them (501), so the parts of the killed
 * attempt's upload stay in its folder — on S3, MinIO or Ceph the next attempt's abort removes them.
 * What the test shows instead: the killed attempt remembered its upload id in the task before
 * sending a part, and the next attempt sent the abort for exactly that id (the timeline says what
 * the store answered). Nor does it emulate throttling (503 SlowDown) or partial network failures:
 * "stopped" here is a refused connection.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRemover } from '../src/cleanup/remove.ts';
import type { Db } from '../src/core/db/db.ts';
import { silentLogger } from '../src/core/log.ts';
import { listEvents } from '../src/engine/events.ts';
import { getFile, verifiedCopy } from '../src/files/repo.ts';
import { evaluate } from '../src/ops/alerts/rules.ts';
import { readSnapshot, ruleParams } from '../src/ops/alerts/run.ts';
import { instrumentYaml, REMOVE_AT_ONCE } from './helpers/config-text.ts';
import { bigFile, type CrashBed, crashBed, killWhen, withWorker } from './helpers/kill.ts';
import { createPipeline } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

const BUCKET = 'sluice-faults';

async function startS3(directory: string, port = 0): Promise<{ s3: S3rver; port: number }> {
  const s3 = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory,
    configureBuckets: [{ name: BUCKET, configs: [] }],
  });
  return { s3, port: ((await s3.run()) as AddressInfo).port };
}

/**
 * The multipart uploads s3rver holds on disk (`<bucket>/._S3rver_uploads/<upload id>/<part>` with `<part>.md5` once
 * the part arrived whole): upload id → parts received.
 */
async function uploadsOnDisk(s3dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (!existsSync(s3dir)) return out;
  for (const e of (await readdir(s3dir, { recursive: true })) as string[]) {
    const m = /(?:^|\/)\._S3rver_uploads\/([0-9a-f]{32})(?:\/(\d+)\.md5)?$/.exec(e);
    if (!m) continue;
    out.set(m[1]!, (out.get(m[1]!) ?? 0) + (m[2] ? 1 : 0));
  }
  return out;
}

function targetYaml(endpoint: string): string {
  return `  targets:
    - name: s3
      type: s3
      endpoint: ${endpoint}
      force_path_style: true
      bucket: ${BUCKET}
      access_key_id: S3RVER
      secret_access_key: S3RVER
      part_size_mb: 5
      parts_in_flight: 2`;
}

async function verifiedS3Copies(db: Db, id: string): Promise<number> {
  const rows = await db.query<{ n: string }>(
    `select count(*) as n from copies where file_id = $1 and target = 's3' and state = 'verified'`,
    [id],
  );
  return Number(rows[0]!.n);
}

describe('S3 target: worker killed with SIGKILL mid-upload', () => {
  let bed: CrashBed;
  let s3: S3rver;
  let endpoint: string;
  beforeAll(async () => {
    bed = await crashBed('sluice-s3kill-');
    await mkdir(path.join(bed.root, 's3'));
    const started = await startS3(path.join(bed.root, 's3'));
    s3 = started.s3;
    endpoint = `http://127.0.0.1:${started.port}`;
  });
  afterAll(async () => {
    await s3?.close();
    await bed?.close();
  });

  it('the next worker aborts the remembered upload, copies again and verifies: one verified copy', async () => {
    const { root, db } = bed;
    const watch = path.join(root, 'astral1');
    await mkdir(watch, { recursive: true });
    await mkdir(path.join(root, 'backup'));
    await bed.writeConfig(
      `data_dir: ${root}/data
worker: { lease_seconds: 5, heartbeat_seconds: 1, poll_seconds: 0.5 }
backup:
  path: ${root}/backup
${targetYaml(endpoint)}
instruments:
${instrumentYaml(root)}
`,
    );
    await bigFile(path.join(watch, 'big.raw'), 200);
    const s3dir = path.join(root, 's3');
    // parts in flight: s3rver has received at least one part of the upload whole
    let killedId: string | undefined;
    await killWhen(
      await bed.startWorker(),
      'a part received by s3rver',
      async () => {
        killedId = [...(await uploadsOnDisk(s3dir))].find(([, parts]) => parts >= 1)?.[0];
        return killedId;
      },
      180_000,
    );
    expect(await verifiedS3Copies(db, 'big.raw')).toBe(0);
    // the attempt remembered its upload before sending any part
    const [task] = await db.query<{ payload: { uploads?: { uploadId: string }[] } }>(
      `select payload from tasks where kind = 'backup.s3' and subject = 'big.raw'`,
    );
    expect(task!.payload.uploads?.map((u) => u.uploadId)).toContain(killedId);
    await withWorker(bed, () =>
      waitFor('a verified S3 copy of big.raw', () => verifiedCopy(db, 'big.raw', 's3'), 300_000, 200),
    );
    expect(await verifiedS3Copies(db, 'big.raw')).toBe(1);
    const fs = await verifiedCopy(db, 'big.raw', 'backup');
    const s3copy = await verifiedCopy(db, 'big.raw', 's3');
    expect(s3copy!.manifest.entries).toEqual(fs!.manifest.entries);
    const timeline = (await listEvents(db, 'file', 'big.raw')).map((e) => e.reason ?? '').join('\n');
    // the next attempt sent the abort for the killed attempt's upload (s3rver refuses it: 405)
    expect(timeline).toMatch(
      new RegExp(
        `multipart upload ${killedId} of an earlier attempt (aborted|not aborted: the store answered 405)`,
      ),
    );
    // on disk: the second upload completed (s3rver removes its folder); only the killed one's stays,
    // because s3rver cannot abort (on a real store the abort above removed it)
    expect([...(await uploadsOnDisk(s3dir)).keys()]).toEqual([killedId]);
    expect((await getFile(db, 'big.raw'))!.status).toBe('done_not_processed');
  });
});

describe('S3 target: the store stopped mid-upload', () => {
  let dir: string;
  let s3: S3rver | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-s3stop-'));
    await mkdir(path.join(dir, 's3'));
  });
  afterAll(async () => {
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('retries with backoff, keeps the instrument copy meanwhile, and lands a verified copy after restart', async () => {
    const s3dir = path.join(dir, 's3');
    const started = await startS3(s3dir);
    s3 = started.s3;
    const port = started.port;
    const extra = `cleanup: { require: [backup, s3], allow_outside_production: true }\n${REMOVE_AT_ONCE}`;
    const p = await createPipeline(
      (root) => `
data_dir: ${root}/data
backup:
  path: ${root}/backup
${targetYaml(`http://127.0.0.1:${port}`)}
instruments:
${instrumentYaml(root, { cleanup: true })}
${extra}`,
    );
    try {
      await p.start();
      const raw = path.join(p.root, 'astral1', 'stop.raw');
      await bigFile(raw, 60);
      await waitFor(
        'a part received by s3rver',
        async () => [...(await uploadsOnDisk(s3dir)).values()].some((n) => n >= 1),
        120_000,
        20,
      );
      await s3.close();
      s3 = undefined;
      // the attempts fail while the store is down and are retried with backoff (not failed for good)
      const retried = await waitFor(
        'failed attempts retried',
        async () => {
          const [t] = await p.db.query<{ attempts: number; state: string; last_error: string | null }>(
            `select attempts, state, last_error from tasks where kind = 'backup.s3' and subject = 'stop.raw'`,
          );
          return t && t.attempts >= 3 && t.last_error ? t : undefined;
        },
        120_000,
        50,
      );
      expect(retried.state).not.toBe('failed');
      // the alert fires once the copies failed alerts.rules.s3_failing_attempts (3) in a row
      const params = await ruleParams(p.config, p.vars);
      const { snapshot } = await readSnapshot(p.db, p.config, params, new Date());
      expect(evaluate(snapshot, params).find((a) => a.rule === 's3_target_failing')?.title).toBe(
        'S3 backup target s3 keeps failing',
      );
      expect(await verifiedS3Copies(p.db, 'stop.raw')).toBe(0);
      const deps = { config: p.config, vars: p.vars };
      const refused = await runRemover(p.db, deps, 'astral1', silentLogger, { force: true });
      expect(refused.removed).toEqual([]);
      expect(refused.refused.find((r) => r.id === 'stop.raw')?.problems.join('\n')).toMatch(
        /no verified copy on backup target s3 yet \(cleanup\.require\)/,
      );
      expect(existsSync(raw)).toBe(true);
      // the store comes back on the same port and folder
      s3 = (await startS3(s3dir, port)).s3;
      await waitFor(
        'a verified S3 copy of stop.raw',
        () => verifiedCopy(p.db, 'stop.raw', 's3'),
        180_000,
        100,
      );
      expect(await verifiedS3Copies(p.db, 'stop.raw')).toBe(1);
      const after = await runRemover(p.db, deps, 'astral1', silentLogger, { force: true });
      expect(after.removed).toEqual(['stop.raw']);
      expect(existsSync(raw)).toBe(false);
      expect((await verifiedCopy(p.db, 'stop.raw', 's3'))!.manifest.entries[0]!.size).toBe(60 * 1024 * 1024);
    } finally {
      await p.close();
    }
  });
});
