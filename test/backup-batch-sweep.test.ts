/**
 * `backup.batch`'s sweep at the start of an attempt (src/backup/batch-task.ts `sweepBatchTemps`):
 * the temp folder a killed attempt of the batch left (temp.ts `batchPartialDir`, named by the task's
 * id) is removed beside EVERY file of the batch, including the destination folders the new attempt
 * does not copy into. The batch's removal after its copies only covers the folders it wrote to: a
 * file of the batch that someone else recorded meanwhile (skipped by its status) is in a folder this
 * attempt never touches, and without the sweep the killed attempt's temps stayed there for good
 * (nothing else looks for a batch's folder once its task succeeded).
 *
 * A real in-process worker runs the batch: the `copy` pool is drained (size 0) while the test sets
 * the case up, then given back.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { batchPartialDir } from '../src/backup/temp.ts';
import { setPoolSize } from '../src/engine/pools.ts';
import { getFile } from '../src/files/repo.ts';
import { backupLocation } from '../src/storage/raw-data.ts';
import { enqueueTask, Kind } from '../src/tasks/catalogue.ts';
import { insertFile } from './helpers/api.ts';
import { createPipeline, type Pipeline, standardConfig } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

describe('backup.batch: the sweep at the start of an attempt', () => {
  let p: Pipeline | undefined;
  afterAll(async () => {
    await p?.stop();
    await p?.close();
  });

  it("removes a killed attempt's temps beside every file of the batch, also where this attempt copies nothing", async () => {
    p = await createPipeline(standardConfig());
    const { db, config } = p;
    await setPoolSize(db, 'copy', 0, 'test'); // no backup runs until the case is set up
    await p.start();
    // `waiting`: acquired by the real scan, its backup queued behind the drained pool
    const waiting = 'waiting_1.raw';
    await writeFile(path.join(p.root, 'astral1', waiting), 'content of waiting_1');
    await p.waitStatus(waiting, 'acquired');
    await waitFor('its backup task queued', async () => {
      const r = await db.query(`select 1 from tasks where pool = 'copy' and state = 'queued'`);
      return r.length > 0;
    });
    // the scan's own task for it is replaced by the batch under test
    await db.exec(`delete from tasks where pool = 'copy' and state = 'queued'`);
    // `recorded`: a file of the same batch that someone else recorded meanwhile, in another folder
    // (another month in the layout {instrument}/{yyyy}_{mm}/{file_id})
    const recorded = 'recorded_1.raw';
    await insertFile(db, { id: recorded, instrument: 'astral1', status: 'done_not_processed' });
    await db.exec(`update files set mtime = '2025-01-15T12:00:00Z' where id = $1`, [recorded]);
    const task = await enqueueTask(db, Kind.backupBatch, 'astral1', {
      instrument: 'astral1',
      files: [recorded, waiting],
    });
    expect(task).toBeDefined();

    // what a killed attempt of this batch left beside each of its files' destinations
    const parentOf = async (id: string) => path.dirname(backupLocation(config, (await getFile(db, id))!));
    const untouched = batchPartialDir(await parentOf(recorded), task!);
    const touched = batchPartialDir(await parentOf(waiting), task!);
    expect(untouched).not.toBe(touched);
    for (const dir of [untouched, touched]) {
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, '0123456789ab-0'), 'a temp left by a killed attempt');
    }

    await setPoolSize(db, 'copy', null, 'test');
    const done = await p.waitStatus(waiting, 'done_not_processed');
    await waitFor('the batch to succeed', async () => {
      const r = await db.maybeOne<{ state: string }>('select state from tasks where id = $1', [task]);
      return r?.state === 'succeeded';
    });
    // the batch did its work: the waiting file copied and recorded, the recorded one left alone
    expect(existsSync(backupLocation(config, done))).toBe(true);
    expect(await db.query('select 1 from copies where file_id = $1', [recorded])).toEqual([]);
    // and no temp of the killed attempt is left, in either folder
    expect(existsSync(touched)).toBe(false);
    expect(existsSync(untouched)).toBe(false);
    expect(await readdir(path.dirname(untouched))).toEqual([]);
  });
});
