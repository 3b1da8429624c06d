/**
 * Room in the retrieval area before a download (issue #20): a fetch whose members would not leave
 * `retrieval.min_free_mb` free waits (state unchanged, why naming the area, bytes needed and free)
 * and fails after `retrieval.space_wait_hours` with that reason; nothing is extracted. Real worker,
 * real filesystem: the reserve is set above any disk's free space.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestRetrieval } from '../src/archive/retrieve.ts';
import { getFetch } from '../src/archive/retrieve-repo.ts';
import { retrievalArea } from '../src/core/config/schema/retrieval.ts';
import { insertFile } from './helpers/api.ts';
import { fsArchive } from './helpers/archive-fixture.ts';
import { createPipeline, type Pipeline, standardConfig } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

let p: Pipeline;
// about 1 PB kept free: no disk here has it; 0.002 h = 7.2 s of waiting before the fetch fails
const CONFIG = standardConfig(
  'retrieval:\n  min_free_mb: 1000000000\n  space_wait_hours: 0.002\n  poll_seconds: 0.2\npools:\n  archive.read: 2\n',
);
beforeAll(async () => {
  p = await createPipeline(CONFIG);
  await insertFile(p.db, { id: 'room1' });
  await p.start();
});
afterAll(() => p?.close());

describe('room in the retrieval area', () => {
  it('waits with the reason while there is no room, then fails with it; nothing is extracted', async () => {
    await fsArchive(p.db, path.join(p.root, 'lts', 'room.tar'), {
      room1: { 'r.raw': Buffer.alloc(5000, 7) },
    });
    const r = await requestRetrieval(p.db, p.config, { files: ['room1'], by: 'alice' });
    const id = r.retrievals[0]!.fetch_id;
    const area = retrievalArea(p.config);
    const room = new RegExp(
      `retrieval area ${area.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: needs 5000 bytes \\(and 1048576000000000 kept free\\), \\d+ free`,
    );
    const waiting = await waitFor('the fetch to wait for room', async () => {
      const f = await getFetch(p.db, id);
      return f?.why?.startsWith('waiting for room') || f?.state === 'failed' ? f : undefined;
    });
    expect(waiting.state).toBe('requested');
    expect(waiting.why).toMatch(room);
    const failed = await waitFor('the fetch to fail for lack of room', async () => {
      const f = await getFetch(p.db, id);
      return f?.state === 'failed' ? f : undefined;
    });
    expect(failed.why).toMatch(room);
    expect(failed.why).toMatch(/waited 0\.002 h for room/);
    expect(failed.path).toBeNull();
    expect(await readdir(area)).toEqual([]);
  });
});
