/**
 * The flow's set-wise report of a batch of backed-up files (`onBackedUpMany`, src/pipeline/flow.ts)
 * leaves the same records as its per-file report (`onBackedUp`) would: statuses and reasons, the
 * tasks enqueued (copies to other targets, moves, processing jobs) and the timeline entries. Two sets
 * of files in one database, one reported per file, the other set-wise, compared.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, parseConfigText } from '../src/core/config/index.ts';
import type { Db } from '../src/core/db/db.ts';
import { transitionMany } from '../src/files/lifecycle.ts';
import { getFiles, syncInstruments } from '../src/files/repo.ts';
import { onBackedUp, onBackedUpMany, settledAtBackup } from '../src/pipeline/flow.ts';
import { insertFile } from './helpers/api.ts';
import { createTestDb } from './helpers/db.ts';

describe('onBackedUpMany', () => {
  let root: string;
  let db: Db;
  let drop: () => Promise<void>;
  let config: Config;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'sluice-flow-many-'));
    ({ db, drop } = await createTestDb());
    ({ config } = parseConfigText(
      `
data_dir: ${root}/data
backup:
  path: ${root}/backup
  targets:
    - { name: second, type: filesystem, path: ${root}/second }
projects: { PRJ1: { tokens: [prj1] }, PRJ2: { tokens: [prj2] } }
instruments:
  astral1:
    type: thermo
    watch: ${root}/astral1
    move_after_backup: true
processing:
  executor: local
  settings: { qc: { version: 1, software: demo, software_version: "1.0", template: "true" } }
  assignments: [{ settings: qc, projects: [PRJ2] }]
`,
      path.join(root, 'sluice.yaml'),
    ));
    await syncInstruments(db, config.instruments);
  });
  afterAll(async () => {
    await drop();
    await rm(root, { recursive: true, force: true });
  });

  /** Four backed-up files `<set>_0..3`; the odd ones in PRJ2 (processed), one with its instrument copy gone. */
  async function seed(set: string): Promise<string[]> {
    const ids = [0, 1, 2, 3].map((i) => `${set}_${i}.raw`);
    for (const id of ids) await insertFile(db, { id, status: 'backed_up' });
    await db.exec(`update files set project_id = 'PRJ2' where id = any($1::text[])`, [[ids[1], ids[3]]]);
    await db.exec(`update files set instrument_copy = 'missing' where id = $1`, [ids[2]]);
    return ids;
  }

  /** What the report left for each file, with the set's prefix taken out of names. */
  async function outcome(set: string, ids: string[]) {
    const strip = (s: string) => s.replaceAll(`${set}_`, 'X_');
    const files = await db.query<{ id: string; status: string; status_reason: string }>(
      `select id, status, status_reason from files where id = any($1::text[]) order by id`,
      [ids],
    );
    const tasks = await db.query<{ kind: string; subject: string; pool: string; payload: unknown }>(
      `select kind, subject, pool, payload from tasks where subject = any($1::text[]) order by subject, kind`,
      [ids],
    );
    const jobs = await db.query<{ file_id: string; settings_name: string; state: string }>(
      `select file_id, settings_name, state from jobs where file_id = any($1::text[]) order by file_id`,
      [ids],
    );
    const events = await db.query<{
      subject_id: string;
      from_state: string;
      to_state: string;
      reason: string;
    }>(
      `select subject_id, from_state, to_state, reason from events where subject_id = any($1::text[])
       order by subject_id, id`,
      [ids],
    );
    return JSON.parse(strip(JSON.stringify({ files, tasks, jobs, events })));
  }

  it('leaves the same statuses, tasks, jobs and timeline as the per-file report', async () => {
    const one = await seed('perfile');
    const many = await seed('setwise');
    await db.tx(async (tx) => {
      for (const file of await getFiles(tx, one)) await onBackedUp(tx, config, { file });
    });
    await db.tx(async (tx) => onBackedUpMany(tx, config, await getFiles(tx, many)));
    const a = await outcome('perfile', one);
    const b = await outcome('setwise', many);
    expect(b).toEqual(a);
    // and the report did something: moves, copies to the second target, processing, done_not_processed
    expect(a.tasks.map((t: { kind: string }) => t.kind)).toEqual(
      expect.arrayContaining(['backup.fs_copy', 'cleanup.move']),
    );
    expect(a.files.map((f: { status: string }) => f.status)).toEqual([
      'done_not_processed',
      'processing',
      'done_not_processed',
      'processing',
    ]);
  });

  it('leaves the same when a batch moved the unprocessed files on in their backed_up update', async () => {
    const one = await seed('single');
    const many = await seed('settled');
    await db.exec(`update files set status = 'acquired' where id = any($1::text[])`, [many]);
    await db.tx(async (tx) => {
      for (const file of await getFiles(tx, one)) await onBackedUp(tx, config, { file });
    });
    const updates = await db.tx(async (tx) => {
      // counts of this backend not yet sent to the statistics are included: the difference is this work's
      const count = async () =>
        (
          await tx.one<{ n: number }>(
            `select n_tup_upd::int as n from pg_stat_xact_user_tables where relname = 'files'`,
          )
        ).n;
      const before = await count();
      const byId = new Map((await getFiles(tx, many)).map((f) => [f.id, f]));
      const next = many.map((id) => settledAtBackup(config, byId.get(id)!) ?? null);
      const moved = await transitionMany(tx, many, 'backed_up', {
        actor: 'backup',
        from: ['acquired'],
        next,
      });
      await onBackedUpMany(tx, config, await getFiles(tx, moved));
      return (await count()) - before;
    });
    // one update per file for backed_up (done_not_processed with it), one more for each processed one
    expect(updates).toBe(4 + 2);
    const a = await outcome('single', one);
    const b = await outcome('settled', many);
    // the batch's own backed_up events come first on each timeline; the rest is the flow's, as per file
    const backedUp = b.events.filter((e: { to_state: string }) => e.to_state === 'backed_up');
    expect(backedUp.map((e: { from_state: string }) => e.from_state)).toEqual(Array(4).fill('acquired'));
    b.events = b.events.filter((e: { to_state: string }) => e.to_state !== 'backed_up');
    expect(b).toEqual(a);
    const order = await db.query<{ subject_id: string; to_state: string }>(
      `select subject_id, to_state from events where subject_id = any($1::text[]) order by id`,
      [[many[0]]],
    );
    expect(order.map((e) => e.to_state)).toEqual(['backed_up', 'done_not_processed']);
  });
});
