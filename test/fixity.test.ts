/**
 * Fixity audits and the remover's read from storage (real files, real PostgreSQL): a good copy is
 * recorded good with its time; a byte flipped in a backup is found by the next audit, which marks the
 * copy corrupt, raises the alert and notes it on the timeline, and the remover then keeps the
 * instrument copy; the remover's own re-read of the backup goes to storage (O_DIRECT), and where the
 * filesystem refuses that it keeps the instrument copy unless cleanup.require_storage_read is false.
 */
import { constants, existsSync } from 'node:fs';
import { chmod, open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copiesToAudit, FIXITY_INTERVAL_MS, runFixity } from '../src/backup/fixity.ts';
import { runRemover } from '../src/cleanup/remove.ts';
import { silentLogger } from '../src/core/log.ts';
import { backupFailures } from '../src/ops/alerts/rules.ts';
import { readSnapshot, ruleParams } from '../src/ops/alerts/run.ts';
import { createMetricsRegistry } from '../src/ops/prometheus.ts';
import { backupLocation } from '../src/storage/raw-data.ts';
import { sluice } from './helpers/cli.ts';
import { instrumentYaml, REMOVE_AT_ONCE } from './helpers/config-text.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

const config =
  (opts: { requireStorage?: boolean } = {}) =>
  (root: string) =>
    `
data_dir: ${root}/data
backup: { path: ${root}/backup, fixity: { cycle_days: 30, max_mb_per_second: 0 } }
cleanup: { allow_outside_production: true, require_storage_read: ${opts.requireStorage ?? true} }
${REMOVE_AT_ONCE}
instruments:
${instrumentYaml(root, { cleanup: true })}
`;

async function backedUp(pl: Pipeline, names: string[]) {
  for (const n of names) await writeFile(path.join(pl.root, 'astral1', n), `content of ${n}`);
  await pl.start();
  for (const n of names) await pl.waitStatus(n, 'done_not_processed');
  await pl.stop();
}

interface CheckRow {
  copy_id: string;
  actor: string;
  ok: boolean;
  read: string | null;
  at: Date;
  problems: string[] | null;
}
const checks = (pl: Pipeline, fileId: string) =>
  pl.db.query<CheckRow>('select * from fixity_checks where file_id = $1 order by id', [fileId]);
const copy = (pl: Pipeline, fileId: string) =>
  pl.db.one<{ id: string; state: string; last_fixity_at: Date | null; last_fixity_ok: boolean | null }>(
    'select * from copies where file_id = $1 order by id desc limit 1',
    [fileId],
  );

describe('fixity audits', () => {
  it('an audit of a good copy records it good, with the time, read from storage, on the timeline', async () => {
    p = await createPipeline(config());
    await backedUp(p, ['g.raw']);
    const before = new Date();
    const r = await runFixity(p.db, p.config, silentLogger);
    expect(r).toEqual({ audited: 1, mismatches: 0, cached: 0 });
    const c = await copy(p, 'g.raw');
    expect(c).toMatchObject({ state: 'verified', last_fixity_ok: true });
    expect(c.last_fixity_at!.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);
    expect(await checks(p, 'g.raw')).toMatchObject([
      { copy_id: c.id, actor: 'fixity', ok: true, read: 'direct' },
    ]);
    expect((await p.timeline('g.raw')).join('\n')).toMatch(
      /fixity audit: the backup at .* matches its recorded sha256 \(1 file\(s\), 16 B; read from storage \(O_DIRECT\)\)/,
    );
    const metrics = await createMetricsRegistry(p.db, { defaultMetrics: false }).collect();
    expect(metrics).toMatch(/^sluice_fixity_checks_total\{actor="fixity",result="ok"\} 1$/m);
    expect(metrics).toMatch(/^sluice_fixity_oldest_unchecked_seconds \d/m);
  });

  it('a byte flipped in a backup: the next audit marks it corrupt, alerts, notes it, and the remover keeps the instrument copy', async () => {
    p = await createPipeline(config());
    await backedUp(p, ['c.raw']);
    const dest = backupLocation(p.config, (await p.file('c.raw'))!);
    await chmod(dest, 0o644);
    await writeFile(dest, 'content of c.rax'); // same size, one byte flipped
    const r = await runFixity(p.db, p.config, silentLogger);
    expect(r).toMatchObject({ audited: 1, mismatches: 1 });
    expect(await copy(p, 'c.raw')).toMatchObject({ state: 'corrupt', last_fixity_ok: false });
    const [check] = await checks(p, 'c.raw');
    expect(check).toMatchObject({ actor: 'fixity', ok: false, read: 'direct' });
    expect(check!.problems!.join()).toMatch(/sha256 differs/);
    expect((await p.timeline('c.raw')).join('\n')).toMatch(
      /fixity audit: the backup at .* no longer matches the hashes recorded when it was verified: .*sha256 differs.* marked corrupt; the instrument copy is kept \(the remover will not delete it\); back it up again with `sluice files retry c\.raw`/,
    );
    const params = await ruleParams(p.config, p.vars);
    const { snapshot } = await readSnapshot(p.db, p.config, params, new Date());
    expect(backupFailures(snapshot).map((a) => a.subject)).toContain('copy:c.raw:backup');
    expect(await createMetricsRegistry(p.db, { defaultMetrics: false }).collect()).toMatch(
      /^sluice_fixity_checks_total\{actor="fixity",result="mismatch"\} 1$/m,
    );
    const removed = await runRemover(p.db, { config: p.config, vars: p.vars }, 'astral1', silentLogger, {
      force: true,
    });
    expect(removed.removed).toEqual([]);
    expect(existsSync(path.join(p.root, 'astral1', 'c.raw'))).toBe(true);
    expect((await p.file('c.raw'))!.instrument_copy).toBe('present');
    // `sluice files show` says it
    await writeFile(path.join(p.root, 'sluice.yaml'), config()(p.root));
    const env = { DATABASE_URL: p.url, SLUICE_CONFIG: path.join(p.root, 'sluice.yaml') };
    const shown = await sluice(['files', 'show', 'c.raw'], { env });
    expect(shown.stdout).toMatch(/FIXITY\n.*corrupt .* MISMATCH \d{4}-\d\d-\d\dT/);
    // the corrupt copy is out of the rotation: nothing left to audit
    expect(await copiesToAudit(p.db, p.config)).toEqual([]);
  });

  it('runs on its schedule in its own pool, an hour after the schedule was created', async () => {
    p = await createPipeline(config());
    await backedUp(p, ['s.raw']);
    const sched = await p.db.one<{ pool: string; interval_ms: string; next_run_at: Date; created: Date }>(
      `select pool, interval_ms, next_run_at, now() as created from schedules where name = 'fixity'`,
    );
    expect(sched).toMatchObject({ pool: 'fixity', interval_ms: String(FIXITY_INTERVAL_MS) });
    expect(sched.next_run_at.getTime()).toBeGreaterThan(sched.created.getTime() + FIXITY_INTERVAL_MS / 2);
    expect(await copy(p, 's.raw')).toMatchObject({ last_fixity_at: null });
    await p.db.exec(`update schedules set next_run_at = now() where name = 'fixity'`);
    await p.start();
    await waitFor('the scheduled audit', async () => (await copy(p!, 's.raw')).last_fixity_ok === true);
    // the audit records its result before the task is marked finished (a separate commit)
    const task = await waitFor('the audit task to finish', async () => {
      const t = await p!.db.one<{ pool: string; state: string }>(
        `select pool, state from tasks where kind = 'backup.fixity'`,
      );
      return t.state === 'running' ? undefined : t;
    });
    expect(task).toEqual({ pool: 'fixity', state: 'succeeded' });
  });

  it('rolls through the copies, least recently audited first', async () => {
    p = await createPipeline(config());
    await backedUp(p, ['a.raw', 'b.raw', 'c.raw']);
    // b was verified longest ago, then c, then a
    const ago = (days: number) => new Date(Date.now() - days * 86_400_000);
    for (const [id, days] of [
      ['a.raw', 1],
      ['b.raw', 3],
      ['c.raw', 2],
    ] as const) {
      await p.db.exec('update copies set verified_at = $2 where file_id = $1', [id, ago(days)]);
    }
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const due = await copiesToAudit(p.db, p.config); // 3 copies over 30 days: one per run
      expect(due).toHaveLength(1);
      order.push(due[0]!.file_id);
      await runFixity(p.db, p.config, silentLogger);
    }
    expect(order).toEqual(['b.raw', 'c.raw', 'a.raw', 'b.raw']);
  });

  it('does not mark copies corrupt when the whole backup target is gone (an unmounted share)', async () => {
    p = await createPipeline(config());
    await backedUp(p, ['u.raw']);
    const { rename } = await import('node:fs/promises');
    await rename(path.join(p.root, 'backup'), path.join(p.root, 'backup-away'));
    await expect(runFixity(p.db, p.config, silentLogger)).rejects.toMatchObject({
      code: 'backup.fixity_target_missing',
    });
    expect(await copy(p, 'u.raw')).toMatchObject({ state: 'verified', last_fixity_at: null });
    expect(await checks(p, 'u.raw')).toEqual([]);
  });
});

describe('the remover reads the backup from storage', () => {
  const refuseDirect = () =>
    Promise.reject(Object.assign(new Error('EINVAL (stand-in)'), { code: 'EINVAL' }));

  it('removes after a direct re-read of the backup, records it as a check, and says how it read', async () => {
    p = await createPipeline(config());
    await backedUp(p, ['d.raw']);
    const r = await runRemover(p.db, { config: p.config, vars: p.vars }, 'astral1', silentLogger);
    expect(r.removed).toEqual(['d.raw']);
    expect(await checks(p, 'd.raw')).toMatchObject([{ actor: 'remover', ok: true, read: 'direct' }]);
    expect((await p.timeline('d.raw')).join('\n')).toMatch(
      /removed from the instrument .* after re-verifying it and the backup at .* \(read from storage \(O_DIRECT\)\)/,
    );
  });

  it('keeps the instrument copy when the backup could be read only through the page cache', async () => {
    p = await createPipeline(config());
    await backedUp(p, ['k.raw']);
    const deps = { config: p.config, vars: p.vars, openDirect: refuseDirect };
    const r = await runRemover(p.db, deps, 'astral1', silentLogger);
    expect(r.removed).toEqual([]);
    expect(r.refused.map((x) => x.id)).toEqual(['k.raw']);
    expect(existsSync(path.join(p.root, 'astral1', 'k.raw'))).toBe(true);
    expect(await p.file('k.raw')).toMatchObject({ instrument_copy: 'present' });
    expect(await copy(p, 'k.raw')).toMatchObject({ state: 'verified' }); // not damaged: not proven
    expect(await checks(p, 'k.raw')).toMatchObject([{ actor: 'remover', ok: true, read: 'cached' }]);
    expect((await p.timeline('k.raw')).join('\n')).toMatch(
      /not removed from the instrument: the backup at .* matches, but it could be re-read only through the page cache \(the filesystem refused O_DIRECT \(EINVAL\)\), not from storage; cleanup.require_storage_read is true/,
    );
  });

  it('keeps the instrument copy when an audit marks the backup corrupt while the remover verifies it', async () => {
    p = await createPipeline(config());
    await backedUp(p, ['r.raw']);
    const db = p.db;
    // the audit's verdict lands while the remover reads the (still good-looking) backup
    const openDirect = async (file: string) => {
      await db.exec(`update copies set state = 'corrupt' where file_id = 'r.raw' and state = 'verified'`);
      return open(file, constants.O_RDONLY | constants.O_DIRECT);
    };
    const r = await runRemover(p.db, { config: p.config, vars: p.vars, openDirect }, 'astral1', silentLogger);
    expect(r.removed).toEqual([]);
    expect(existsSync(path.join(p.root, 'astral1', 'r.raw'))).toBe(true);
    expect(await p.file('r.raw')).toMatchObject({ instrument_copy: 'present' });
    expect((await p.timeline('r.raw')).join('\n')).toMatch(
      /not removed from the instrument: the backup copy at .* is corrupt now \(a fixity audit found it damaged\)/,
    );
  });

  it('with cleanup.require_storage_read false, removes on a cached read and says so', async () => {
    p = await createPipeline(config({ requireStorage: false }));
    await backedUp(p, ['m.raw']);
    const deps = { config: p.config, vars: p.vars, openDirect: refuseDirect };
    const r = await runRemover(p.db, deps, 'astral1', silentLogger);
    expect(r.removed).toEqual(['m.raw']);
    expect((await p.timeline('m.raw')).join('\n')).toMatch(
      /removed from the instrument .* \(read through the page cache: the filesystem refused O_DIRECT \(EINVAL\)\)/,
    );
  });
});
