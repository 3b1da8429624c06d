/**
 * What the health page tests (view module and Chromium) start from: three live workers of which one
 * runs another Sluice version, a worker found dead, a copy task waiting for two hours, and a
 * processing task with a tag no worker has. Rows are written directly (no real processes).
 */
import type { Db } from '../../src/core/db/db.ts';
import { enqueue } from '../../src/engine/enqueue.ts';
import { Kind } from '../../src/tasks/catalogue.ts';

export const HEALTH = {
  dead: 'lab-d-4242-dead01',
  odd: 'lab-c-77-old001',
  oddVersion: '1.3.2',
  version: '1.4.0',
  oldSubject: 'QC_waiting_old.raw',
} as const;

async function worker(
  db: Db,
  id: string,
  host: string,
  version: string,
  kinds: string[],
  tags: string[] = [],
  dead?: string,
): Promise<void> {
  await db.exec(
    `insert into workers (id, host, pid, role, tags, kinds, version, mode, started_at, last_heartbeat_at, died_at, death)
     values ($1, $2, 4242, 'worker', $3, $4, $5, 'normal', now() - interval '1 hour',
       now() - case when $6::text is null then interval '0' else interval '10 minutes' end,
       case when $6::text is null then null else now() - interval '5 minutes' end, $6)`,
    [id, host, tags, kinds, version, dead ?? null],
  );
}

export async function seedHealth(db: Db): Promise<void> {
  const kinds = [Kind.backupCopy, Kind.processSubmit];
  await worker(db, 'lab-a-11-alpha1', 'lab-a', HEALTH.version, kinds, ['gpu']);
  await worker(db, 'lab-b-12-beta01', 'lab-b', HEALTH.version, kinds);
  await worker(db, HEALTH.odd, 'lab-c', HEALTH.oddVersion, kinds);
  await worker(
    db,
    HEALTH.dead,
    'lab-d',
    HEALTH.version,
    kinds,
    [],
    'process 4242 on lab-d is gone; found by lab-a-11-alpha1',
  );
  await enqueue(db, {
    kind: Kind.backupCopy,
    subject: HEALTH.oldSubject,
    pool: 'copy',
    runAfter: new Date(Date.now() - 2 * 3_600_000),
  });
  await enqueue(db, { kind: Kind.backupCopy, subject: 'QC_waiting_new.raw', pool: 'copy' });
  await enqueue(db, {
    kind: Kind.processSubmit,
    subject: 'QC_needs_slurm.raw',
    pool: 'default',
    tags: ['slurm'],
  });
}
