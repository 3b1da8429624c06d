/**
 * Filesystem backup targets (issue #19): a second disk in `backup.targets` (`type: filesystem`)
 * gets a verified copy of every file, made from the verified primary copy (`backup.path`), with its
 * own row in the copies record; a `.d` folder too. A differing file at the target's path is never
 * overwritten; the fixity audit catches a bit flipped on the second target and the next copy moves
 * the damaged copy aside and copies again; the upkeep back-fills files the target lacks; a target
 * whose marker names another instance (a share not this instance's) makes its copies wait while the
 * primary goes on, the alert `backup_target_unavailable` names the target, and the remover keeps the
 * instrument copy while `cleanup.require` names it.
 * Kill -9 of a real `sluice start` worker mid-copy to the target: test/fs-target-kill.test.ts.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditCopy } from '../src/backup/fixity.ts';
import { fsTarget } from '../src/backup/fs-target/copy-task.ts';
import { fsTargetLocation } from '../src/backup/fs-target/place.ts';
import { backfillFs } from '../src/backup/fs-target/upkeep.ts';
import { targetProgress } from '../src/backup/s3/progress.ts';
import { TARGET_MARKER } from '../src/backup/target.ts';
import { runRemover } from '../src/cleanup/remove.ts';
import { silentLogger } from '../src/core/log.ts';
import { copyState } from '../src/files/copies.ts';
import { verifiedCopy } from '../src/files/repo.ts';
import { evaluate } from '../src/ops/alerts/rules.ts';
import { readSnapshot, ruleParams } from '../src/ops/alerts/run.ts';
import { checkFsTarget } from '../src/ops/doctor/backup-path.ts';
import { createMetricsRegistry } from '../src/ops/prometheus.ts';
import { instrumentYaml, REMOVE_AT_ONCE } from './helpers/config-text.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

function config(root: string, extra = ''): string {
  return `
data_dir: ${root}/data
backup:
  path: ${root}/backup
  target_recheck_seconds: 2
  targets:
    - name: second
      type: filesystem
      path: ${root}/second
projects:
  prj1: { tokens: [prj1] }
fallback_project: unassigned
instruments:
${instrumentYaml(root, { cleanup: true })}
${instrumentYaml(root, { id: 'tims1', type: 'bruker' })}
${extra}`;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

const waitSecond = (p: Pipeline, id: string) =>
  waitFor(`a copy of ${id} on the second target`, () => verifiedCopy(p.db, id, 'second'), 60_000, 100);

describe('filesystem target', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await createPipeline((root) => config(root));
    await p.start();
  });
  afterAll(async () => {
    await p?.close();
  });

  it('copies each file from the verified primary copy and records a copy per target', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    await writeFile(path.join(p.root, 'astral1', 'run_prj1_01.raw'), data);
    const f = await p.waitStatus('run_prj1_01.raw', 'done_not_processed');
    const copy = await waitSecond(p, f.id);
    const primary = await verifiedCopy(p.db, f.id, 'backup');
    expect(copy.location).toBe(fsTargetLocation(p.config, fsTarget(p.config, 'second')!, f));
    expect(copy.location.startsWith(path.join(p.root, 'second') + path.sep)).toBe(true);
    expect(copy.manifest.entries.map((e) => [e.rel, e.size, e.hash])).toEqual(
      primary!.manifest.entries.map((e) => [e.rel, e.size, e.hash]),
    );
    expect(sha256(await readFile(copy.location))).toBe(sha256(data));
    expect(existsSync(path.join(p.root, 'second', TARGET_MARKER))).toBe(true);
    expect((await p.timeline(f.id)).join('\n')).toMatch(
      /copied to backup target second \(.*\) from the primary copy: 1 file\(s\).*read back and verified \(sha256\)/,
    );
    const progress = await targetProgress(p.db, p.config);
    expect(progress.find((t) => t.target === 'second')).toMatchObject({ pool: 'copy.second', copied: 1 });
  });

  it('copies a .d folder member by member', async () => {
    const d = path.join(p.root, 'tims1', 'sample_prj1.d');
    await mkdir(path.join(d, 'sub'), { recursive: true });
    await writeFile(path.join(d, 'analysis.tdf'), 'tdf');
    await writeFile(path.join(d, 'analysis.tdf_bin'), 'bin data');
    await writeFile(path.join(d, 'sub', 'method.m'), 'method');
    const f = await p.waitStatus('sample_prj1.d', 'done_not_processed');
    const copy = await waitSecond(p, f.id);
    const names = ((await readdir(copy.location, { recursive: true })) as string[]).sort();
    expect(names).toEqual(['analysis.tdf', 'analysis.tdf_bin', 'sub', 'sub/method.m']);
    expect(await readFile(path.join(copy.location, 'sub', 'method.m'), 'utf8')).toBe('method');
  });

  it('never overwrites a differing file already at the target path', async () => {
    const fake = { id: 'clash_prj1.raw', instrument_id: 'astral1', project_id: 'prj1', mtime: new Date() };
    const dest = fsTargetLocation(p.config, fsTarget(p.config, 'second')!, fake);
    await mkdir(path.dirname(dest), { recursive: true });
    await writeFile(dest, 'someone else');
    await writeFile(path.join(p.root, 'astral1', 'clash_prj1.raw'), 'ours');
    const f = await p.waitStatus('clash_prj1.raw', 'done_not_processed');
    await waitFor('the refusal on the timeline', async () =>
      (await p.timeline(f.id)).some((l) =>
        /copy to backup target second failed: the file already on backup target second at .* differs .*move it away/.test(
          l,
        ),
      ),
    );
    expect(await readFile(dest, 'utf8')).toBe('someone else');
    expect(await verifiedCopy(p.db, f.id, 'second')).toBeUndefined();
    expect((await verifiedCopy(p.db, f.id, 'backup'))?.state).toBe('verified');
  });

  it('the fixity audit catches a bit flipped on the second target; the next copy moves the damaged one aside and copies again', async () => {
    await writeFile(path.join(p.root, 'astral1', 'flip_prj1.raw'), Buffer.alloc(64 * 1024, 5));
    const f = await p.waitStatus('flip_prj1.raw', 'done_not_processed');
    const copy = await waitSecond(p, f.id);
    const row = { ...copy, kind: f.kind, instrument_copy: f.instrument_copy };
    expect((await auditCopy(p.db, p.config, row, silentLogger)).ok).toBe(true);
    const bytes = await readFile(copy.location);
    bytes[1000]! ^= 0x10;
    await writeFile(copy.location, bytes);
    const audit = await auditCopy(p.db, p.config, row, silentLogger);
    expect(audit.ok).toBe(false);
    expect(audit.problems.join('\n')).toMatch(/flip_prj1\.raw.*sha256/);
    expect(await copyState(p.db, copy.id)).toBe('corrupt');
    expect((await verifiedCopy(p.db, f.id, 'backup'))?.state).toBe('verified');
    expect((await p.timeline(f.id)).join('\n')).toMatch(
      /fixity audit: the copy on backup target second at .* no longer matches/,
    );
    // the upkeep finds the file without a verified copy there and enqueues it
    expect(await backfillFs(p.db, p.config, fsTarget(p.config, 'second')!)).toBeGreaterThanOrEqual(1);
    const again = await waitSecond(p, f.id);
    expect(again.id).not.toBe(copy.id);
    expect(sha256(await readFile(again.location))).toBe(sha256(Buffer.alloc(64 * 1024, 5)));
    const timeline = (await p.timeline(f.id)).join('\n');
    const kept = /the damaged copy on backup target second was moved aside to (\S+);/.exec(timeline)?.[1];
    expect(kept).toBeDefined();
    expect((await readFile(kept!))[1000]).toBe(5 ^ 0x10);
  });

  it('back-fills a file the target lacks (an identical copy there is associated, not copied again)', async () => {
    await writeFile(path.join(p.root, 'astral1', 'late_prj1.raw'), 'late');
    const f = await p.waitStatus('late_prj1.raw', 'done_not_processed');
    const first = await waitSecond(p, f.id);
    // as if the target had been added after this file was copied: no copy recorded there
    await p.db.exec(`update copies set state = 'replaced' where id = $1`, [first.id]);
    expect(await backfillFs(p.db, p.config, fsTarget(p.config, 'second')!)).toBeGreaterThanOrEqual(1);
    const copy = await waitSecond(p, f.id);
    expect(copy.associated).toBe(true);
    expect((await p.timeline(f.id)).join('\n')).toMatch(
      /backup target second: an identical copy at .* associated, hashes read back and verified/,
    );
  });
});

describe('filesystem target not this instance’s (marker of another instance)', () => {
  let p: Pipeline;
  beforeAll(async () => {
    const extra = `cleanup: { require: [backup, second], allow_outside_production: true }\n${REMOVE_AT_ONCE}`;
    p = await createPipeline((root) => config(root, extra));
    await mkdir(path.join(p.root, 'second'));
    await writeFile(path.join(p.root, 'second', TARGET_MARKER), JSON.stringify({ instance: 'elsewhere' }));
    await p.start();
  });
  afterAll(async () => {
    await p?.close();
  });

  it('its copies wait with the reason, the primary goes on, the instrument keeps its data; then it copies', async () => {
    const raw = path.join(p.root, 'astral1', 'wait_prj1.raw');
    await writeFile(raw, Buffer.alloc(100_000, 3));
    const f = await p.waitStatus('wait_prj1.raw', 'done_not_processed');
    expect((await verifiedCopy(p.db, f.id, 'backup'))?.state).toBe('verified');
    await waitFor('the wait on the timeline', async () =>
      (await p.timeline(f.id)).some((l) =>
        /copy to backup target second waiting: backup target unavailable: .*names the Sluice instance 'elsewhere'/.test(
          l,
        ),
      ),
    );
    // the alert once the copies waited 3 times in a row (one per target)
    await waitFor('three waits', async () => {
      const [t] = await p.db.query<{ w: number | null }>(
        `select (payload->>'targetWaits')::int as w from tasks where kind = 'backup.fs_copy' and subject = $1`,
        [f.id],
      );
      return (t?.w ?? 0) >= 3;
    });
    // status, the dashboard and Prometheus say the target's copies wait
    const [waiting] = (await targetProgress(p.db, p.config)).filter((t) => t.target === 'second');
    expect(waiting).toMatchObject({ waiting: 1, copied: 0 });
    const metrics = () => createMetricsRegistry(p.db, { defaultMetrics: false, config: p.config }).collect();
    expect(await metrics()).toMatch(/sluice_backup_target_copies_waiting\{target="second"\} 1\n/);
    const params = await ruleParams(p.config, p.vars);
    const { snapshot } = await readSnapshot(p.db, p.config, params, new Date());
    expect(evaluate(snapshot, params).find((a) => a.subject === 'target:second')).toMatchObject({
      rule: 'backup_target_unavailable',
      title: 'Backup target second unavailable',
    });
    // `sluice doctor` says the same
    const doctor = await checkFsTarget(p.config, fsTarget(p.config, 'second')!, p.db);
    expect(doctor).toMatchObject({ check: 'backup target second', status: 'fail' });
    expect(JSON.stringify(doctor)).toContain("names the Sluice instance 'elsewhere'");
    const deps = { config: p.config, vars: p.vars };
    const first = await runRemover(p.db, deps, 'astral1', silentLogger, { force: true });
    expect(first.removed).toEqual([]);
    expect(first.refused.find((r) => r.id === f.id)?.problems.join('\n')).toMatch(
      /no verified copy on backup target second yet/,
    );
    expect(existsSync(raw)).toBe(true);
    // the share is this instance's after all (the operator put the right marker in place)
    await writeFile(
      path.join(p.root, 'second', TARGET_MARKER),
      JSON.stringify({ instance: p.config.instance.name }),
    );
    await waitSecond(p, f.id);
    expect((await p.timeline(f.id)).join('\n')).toMatch(/backup target second is usable again/);
    const [copied] = (await targetProgress(p.db, p.config)).filter((t) => t.target === 'second');
    expect(copied).toMatchObject({ waiting: 0, copied: 1 });
    expect(await metrics()).toMatch(/sluice_backup_target_copies_waiting\{target="second"\} 0\n/);
    expect(await metrics()).toMatch(/sluice_backup_target_copies_verified\{target="second"\} 1\n/);
    expect(await checkFsTarget(p.config, fsTarget(p.config, 'second')!, p.db)).toMatchObject({
      status: 'ok',
    });
    const second = await runRemover(p.db, deps, 'astral1', silentLogger, { force: true });
    expect(second.removed).toEqual([f.id]);
    expect(existsSync(raw)).toBe(false);
  });
});
