/**
 * The catalog search index under kill -9 (SIGKILL) of a real `sluice start` worker (harness:
 * test/helpers/kill.ts): an import commits 40,000 samples and queues them for the search index (one
 * queue row naming their range of ids) with a `catalog.index` task; the worker taking that task is
 * killed while it indexes. Nothing is half indexed (the range moves past ids only with their search
 * rows, batch by batch), and the next worker takes the
 * task over and ends with every sample indexed and found by a word of its name.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { importSamples } from '../src/catalog/import.ts';
import { syncProjects } from '../src/catalog/projects.ts';
import { search } from '../src/catalog/search.ts';
import { indexBacklog } from '../src/catalog/search-index.ts';
import { parseConfigText } from '../src/core/config/index.ts';
import { type CrashBed, crashBed, killWhen, withWorker } from './helpers/kill.ts';
import { waitFor } from './helpers/spawn.ts';

const N = 40_000;
const CONFIG = `data_dir: ./data
worker: { lease_seconds: 5, heartbeat_seconds: 1, poll_seconds: 0.5 }
backup: { path: ./backup }
projects:
  PRJ1: { tokens: [prj1] }
`;

let bed: CrashBed | undefined;
afterEach(async () => {
  await bed?.close();
  bed = undefined;
});

const indexTask = async (b: CrashBed) =>
  (
    await b.db.query<{ state: string }>(`select state from tasks where kind = 'catalog.index' order by id`)
  ).map((t) => t.state);
const indexed = async (b: CrashBed) =>
  Number((await b.db.one<{ n: string }>('select count(*) as n from sample_search')).n);

describe('catalog search index under kill -9', () => {
  it('a worker killed while indexing leaves nothing half done; the next one indexes every sample', async () => {
    bed = await crashBed('sluice-catalog-index-crash-');
    const b = bed;
    await b.writeConfig(CONFIG);
    const config = parseConfigText(CONFIG, `${b.root}/sluice.yaml`).config;
    await syncProjects(b.db, config);
    const rows = Array.from({ length: N }, (_, i) => `Z${String(i).padStart(6, '0')},Word${i} sample,PRJ1`);
    const r = await importSamples(
      b.db,
      config.catalog,
      Buffer.from(`refcode,name,project\n${rows.join('\n')}\n`),
      {
        format: 'csv',
        actor: 'test',
        viewer: { user: 'test', role: 'admin' },
      },
    );
    expect(r).toMatchObject({ written: true, indexing: true });
    expect(await indexTask(b)).toEqual(['queued']);
    expect(await indexBacklog(b.db)).toMatchObject({ queued: N });

    await killWhen(await b.startWorker(), 'the index task running', async () =>
      (await indexTask(b)).includes('running'),
    );
    // killed mid-pass: every queue row taken has its search row, and none more
    const cut = await indexBacklog(b.db);
    expect(cut.queued).toBeGreaterThan(0);
    expect(cut.queued + (await indexed(b))).toBe(N);
    // its lease runs out and the next worker takes it over (the schedule's pass may be there too)
    expect(await indexTask(b)).toContain('running');
    expect(await indexTask(b)).not.toContain('done');

    await withWorker(b, () =>
      waitFor('every sample indexed', async () => (await indexBacklog(b.db)).queued === 0, 300_000, 200),
    );
    expect(await indexed(b)).toBe(N);
    expect(await indexBacklog(b.db)).toMatchObject({ queued: 0, unqueued: 0 });
    const found = await search(b.db, `Word${N - 1}`, { hidden: [], limit: 5, kinds: ['samples'] });
    expect(found.samples.map((s) => s.refcode)).toEqual([`Z${String(N - 1).padStart(6, '0')}`]);
  });
});
