/**
 * The health page's view (src/views/health.ts) on real PostgreSQL: a dead worker is marked, a
 * Sluice version mismatch is shown, an old waiting task and a task no worker can take are reported,
 * a paused pool and an offline instrument are flagged, and `GET /api/health/overview` answers it to
 * a viewer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setPoolSize } from '../src/engine/pools.ts';
import { healthPage, QUEUE_WAIT_WARN_S } from '../src/views/health.ts';
import { type ApiHarness, call, createApiHarness, insertFile } from './helpers/api.ts';
import { HEALTH, seedHealth } from './helpers/health-seed.ts';

let h: ApiHarness;

beforeAll(async () => {
  h = await createApiHarness();
  await seedHealth(h.db);
});

afterAll(async () => {
  await h?.close();
});

describe('the health page view', () => {
  it('marks a dead worker and shows which live worker runs another Sluice version', async () => {
    const page = await healthPage(h.db, h.deps);
    const dead = page.workers.find((w) => w.id === HEALTH.dead)!;
    expect(dead).toMatchObject({ state: 'dead', level: 'critical' });
    expect(dead.problem).toMatch(/dead: process 4242 on lab-d is gone/);
    expect(page.versions.mismatch).toBe(true);
    expect(page.versions.expected).toBe(HEALTH.version);
    expect(page.versions.versions).toEqual([
      { version: HEALTH.version, processes: 2, hosts: ['lab-a', 'lab-b'] },
      { version: HEALTH.oddVersion, processes: 1, hosts: ['lab-c'] },
    ]);
    const odd = page.workers.find((w) => w.id === HEALTH.odd)!;
    expect(odd).toMatchObject({ state: 'alive', version_differs: true, level: 'warning' });
    expect(page.workers.filter((w) => w.version_differs).map((w) => w.id)).toEqual([HEALTH.odd]);
    expect(page.summary.level).toBe('critical');
  });

  it('reports the oldest waiting task per kind and pool, and a task no live worker can take', async () => {
    const page = await healthPage(h.db, h.deps);
    const copy = page.queues.find((q) => q.kind === 'backup.copy' && q.pool === 'copy')!;
    expect(copy.queued).toBe(2);
    expect(copy.oldest?.subject).toBe(HEALTH.oldSubject);
    expect(copy.oldest!.waiting_s).toBeGreaterThanOrEqual(7200 - 5);
    expect(copy.oldest!.waiting_s).toBeGreaterThan(QUEUE_WAIT_WARN_S);
    expect(copy).toMatchObject({ level: 'warning', takers: 3, link: '/admin#pools-title' });
    expect(copy.problem).toContain(HEALTH.oldSubject);
    const slurm = page.queues.find((q) => q.kind === 'process.submit')!;
    expect(slurm).toMatchObject({ level: 'critical', takers: 0 });
    expect(slurm.problem).toMatch(/no live worker takes process\.submit with tags slurm/);
  });

  it('flags a paused pool with work waiting and an offline instrument, each linked', async () => {
    await setPoolSize(h.db, 'copy', 0, 'test');
    await h.db.exec(
      `update instruments set online = false, offline_reason = 'share not mounted' where id = 'tims1'`,
    );
    try {
      const page = await healthPage(h.db, h.deps);
      expect(page.pools.find((p) => p.name === 'copy')).toMatchObject({
        paused: true,
        level: 'warning',
        problem: 'paused (size 0) with 2 waiting',
      });
      expect(page.queues.find((q) => q.pool === 'copy')?.problem).toMatch(/pool copy is paused/);
      expect(page.instruments.find((i) => i.id === 'tims1')).toMatchObject({
        level: 'critical',
        problem: 'offline: share not mounted',
        link: '/files?instrument=tims1',
      });
      expect(page.instruments.find((i) => i.id === 'astral1')?.level).toBe('ok');
      // the alert rules see the same: the offline instrument fires, linked to its files
      expect(page.alerts.find((a) => a.rule === 'instrument_offline')).toMatchObject({
        subject: 'tims1',
        link: '/files?instrument=tims1',
      });
    } finally {
      await setPoolSize(h.db, 'copy', null, 'test');
      await h.db.exec(`update instruments set online = null, offline_reason = null where id = 'tims1'`);
    }
  });

  it('shows the filesystem backup target and no streams or database backups when none are configured', async () => {
    const page = await healthPage(h.db, h.deps);
    expect(page.targets).toEqual([
      expect.objectContaining({
        name: 'backup',
        role: 'backup',
        type: 'filesystem',
        state: 'ok',
        pending: 0,
      }),
    ]);
    expect(page.streams).toEqual([]);
    expect(page.outbox).toMatchObject({ configured: false, level: 'ok' });
    expect(page.db_backups).toEqual([]);
  });

  it('answers GET /api/health/overview to a viewer, and refuses without a login', async () => {
    const res = await call(h.app, '/api/health/overview', { token: h.tokens.viewer });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { versions: { mismatch: boolean }; workers: { id: string }[] };
    expect(body.versions.mismatch).toBe(true);
    expect(body.workers.map((w) => w.id)).toContain(HEALTH.dead);
    expect((await call(h.app, '/api/health/overview')).status).toBe(401);
  });

  it("shows the filesystem backup's newest verification, copy read longest ago and corrupt copies, from its own copies only", async () => {
    const copy = (file: string, target: string, state: string, verified: string, fixity: string | null) =>
      h.db.exec(
        `insert into copies (file_id, target, location, state, hash_algorithm, manifest, bytes, verified_at, last_fixity_at)
         values ($1, $2, '/b/' || $1, $3, 'sha256', '{}', 1, $4, $5)`,
        [file, target, state, verified, fixity],
      );
    for (const id of ['h_a.raw', 'h_b.raw', 'h_c.raw']) await insertFile(h.db, { id });
    try {
      await copy('h_a.raw', 'backup', 'verified', '2026-03-01T00:00:00Z', '2026-06-01T00:00:00Z');
      await copy('h_b.raw', 'backup', 'verified', '2026-04-01T00:00:00Z', null);
      await copy('h_c.raw', 'backup', 'corrupt', '2026-05-01T00:00:00Z', null);
      await copy('h_c.raw', 'backup', 'replaced', '2026-07-01T00:00:00Z', null);
      // another target's copies (not configured): newer, older and corrupt, none of them the backup's
      await copy('h_a.raw', 'elsewhere', 'verified', '2026-08-01T00:00:00Z', '2025-01-01T00:00:00Z');
      await copy('h_b.raw', 'elsewhere', 'corrupt', '2026-08-01T00:00:00Z', null);
      await copy('h_c.raw', 'elsewhere', 'corrupt', '2026-08-01T00:00:00Z', null);
      const page = await healthPage(h.db, h.deps);
      expect(page.targets).toEqual([
        expect.objectContaining({
          name: 'backup',
          state: 'failing',
          last_verified_at: new Date('2026-04-01T00:00:00Z'),
          oldest_read_at: new Date('2026-04-01T00:00:00Z'),
          detail: '1 corrupt copies',
          problem: '1 copies found corrupt',
        }),
      ]);
    } finally {
      await h.db.exec(`delete from copies where file_id like 'h\\_%'`);
      await h.db.exec(`delete from files where id like 'h\\_%'`);
    }
  });
});
