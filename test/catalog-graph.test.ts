/**
 * Catalog (#22): raw data linked to samples by filename patterns at acquisition and by hand, the
 * relations graph walked, data sets exported as an RO-Crate zip (sizes + sha256 read from the
 * verified backups, processing as provenance), search over samples, files and projects. Real
 * PostgreSQL, real files.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addToDataset, createDataset, datasetContents, requireDataset } from '../src/catalog/datasets.ts';
import { exportDataset } from '../src/catalog/export.ts';
import { historyOf } from '../src/catalog/history.ts';
import { importSamples } from '../src/catalog/import.ts';
import { linkAcquired, linkByHand, matchPatterns } from '../src/catalog/links.ts';
import { syncProjects } from '../src/catalog/projects.ts';
import { addEdges, edgesOf, walk } from '../src/catalog/relations.ts';
import { search } from '../src/catalog/search.ts';
import { indexPending } from '../src/catalog/search-index.ts';
import { type Config, parseConfigText } from '../src/core/config/index.ts';
import type { Db } from '../src/core/db/db.ts';
import { createTestDb } from './helpers/db.ts';

const YAML = `
projects:
  PRJ1: { name: Proteomics, tokens: [prj1] }
catalog:
  link_patterns:
    - pattern: '(?<sample>S\\d{5})_(?<replicate>\\d+)'
`;

let db: Db;
let drop: () => Promise<void>;
let config: Config;
let root: string;

/** A file record with a verified backup copy holding `content`. */
async function backedUpFile(id: string, content: string): Promise<void> {
  const loc = path.join(root, `${id}.backup`);
  await writeFile(loc, content);
  await db.exec(
    `insert into files (id, instrument_id, name, kind, source_path, project_id, status, size_bytes, mtime)
     values ($1, 'astral1', $1, 'file', $2, 'PRJ1', 'done', $3, now())`,
    [id, `/data/${id}`, content.length],
  );
  await db.exec(
    `insert into copies (file_id, target, location, state, hash_algorithm, manifest, bytes)
     values ($1, 'backup', $2, 'verified', 'xxh64', $3, $4)`,
    [
      id,
      loc,
      JSON.stringify({
        algorithm: 'xxh64',
        totalBytes: content.length,
        entries: [{ rel: id, size: content.length, mtimeMs: 0, hash: 'x' }],
      }),
      content.length,
    ],
  );
}

beforeAll(async () => {
  ({ db, drop } = await createTestDb());
  root = await mkdtemp(path.join(os.tmpdir(), 'sluice-catalog-'));
  config = parseConfigText(YAML, '/tmp/sluice.yaml').config;
  await syncProjects(db, config);
  const sheet =
    'refcode,name,project,type,tissue\nS00001,Liver A,PRJ1,tissue,liver\nS00002,Kidney B,PRJ1,tissue,kidney\n';
  await importSamples(db, config.catalog, Buffer.from(sheet), {
    format: 'csv',
    actor: 'user:ada',
    viewer: { user: 'ada', role: 'admin' },
  });
  await indexPending(db); // what the catalog.index task does after an import commits
});
afterAll(async () => {
  await drop();
  await rm(root, { recursive: true, force: true });
});

describe('links', () => {
  it('matches named groups, each sample once', () => {
    expect(matchPatterns(config.catalog.link_patterns, 'run_S00001_2.raw', 'astral1')).toEqual([
      { sample: 'S00001', pattern: '(?<sample>S\\d{5})_(?<replicate>\\d+)', groups: { replicate: '2' } },
    ]);
    expect(matchPatterns(config.catalog.link_patterns, 'blank.raw', 'astral1')).toEqual([]);
  });

  it('links acquired files to existing samples, and by hand; the graph walks from a data set to the raw data', async () => {
    await backedUpFile('run_S00001_1.raw', 'spectra one');
    await backedUpFile('run_S09999_1.raw', 'no such sample');
    await backedUpFile('blank_3.raw', 'a blank');
    expect(
      await linkAcquired(db, config.catalog, ['run_S00001_1.raw', 'run_S09999_1.raw', 'blank_3.raw']),
    ).toBe(1);
    expect(await linkAcquired(db, config.catalog, ['run_S00001_1.raw'])).toBe(0); // idempotent
    expect(await linkByHand(db, 'blank_3.raw', 'S00002', 'user:ada')).toBe(true);
    await expect(linkByHand(db, 'blank_3.raw', 'S77777', 'user:ada')).rejects.toThrow(/no sample 'S77777'/);
    const edges = await edgesOf(db, 'sample', 'S00001');
    expect(edges).toMatchObject([
      { subject_id: 'run_S00001_1.raw', relation: 'measured', via: 'pattern', detail: { replicate: '1' } },
    ]);
    await expect(
      addEdges(
        db,
        [
          {
            subject_kind: 'dataset',
            subject_id: '1',
            relation: 'measured',
            object_kind: 'file',
            object_id: 'x',
            via: 'manual',
            detail: {},
          },
        ],
        'u',
      ),
    ).rejects.toThrow(/a dataset cannot be 'measured' a file: expected file measured sample/);

    const ds = await createDataset(db, { name: 'study-1', description: 'Liver study' }, 'user:ada');
    expect(await addToDataset(db, ds, { samples: ['S00001'] }, 'user:ada')).toBe(1);
    await expect(addToDataset(db, ds, { samples: ['NOPE1'], files: ['nofile'] }, 'user:ada')).rejects.toThrow(
      /not found: sample 'NOPE1', file 'nofile'/,
    );
    const graph = await walk(db, 'dataset', ds.id, 2);
    expect(graph.map((e) => [e.subject_id, e.relation, e.object_id, e.hop])).toEqual([
      ['run_S00001_1.raw', 'measured', 'S00001', 2],
      ['S00001', 'part_of', ds.id, 1],
    ]);
    expect((await historyOf(db, 'relation', [`file:blank_3.raw measured sample:S00002`]))[0]).toMatchObject({
      action: 'create',
      actor: 'user:ada',
    });
  });
});

describe('export', () => {
  it('writes an RO-Crate zip with every file, its size and sha256, and the samples', async () => {
    const ds = await requireDataset(db, 'study-1');
    await addToDataset(db, ds, { files: ['blank_3.raw'] }, 'user:ada');
    const contents = await datasetContents(db, ds, []);
    const out = path.join(root, 'study-1.zip');
    const r = await exportDataset(db, contents, out, 'zip');
    expect(r).toMatchObject({ files: 2, bytes: 'spectra one'.length + 'a blank'.length });
    const dir = path.join(root, 'unzipped');
    execFileSync('python3', [
      '-c',
      `import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])`,
      out,
      dir,
    ]);
    const meta = JSON.parse(await readFile(path.join(dir, 'ro-crate-metadata.json'), 'utf8')) as {
      '@graph': Record<string, unknown>[];
    };
    const byId = new Map(meta['@graph'].map((e) => [e['@id'], e]));
    const sha = createHash('sha256').update('spectra one').digest('hex');
    expect(byId.get('data/run_S00001_1.raw/run_S00001_1.raw')).toMatchObject({
      '@type': 'File',
      contentSize: '11',
      sha256: sha,
      about: [{ '@id': '#sample-S00001' }],
    });
    expect(await readFile(path.join(dir, 'data/run_S00001_1.raw/run_S00001_1.raw'), 'utf8')).toBe(
      'spectra one',
    );
    expect(byId.get('#sample-S00001')).toMatchObject({
      identifier: 'S00001',
      name: 'Liver A',
      additionalProperty: [{ name: 'tissue', value: 'liver' }],
    });
    expect(byId.get('./')).toMatchObject({ '@type': 'Dataset', name: 'study-1', description: 'Liver study' });
  });
});

describe('search', () => {
  it('finds samples by refcode, name and attribute, files by name, projects; hides hidden projects', async () => {
    const hit = await search(db, 'kidney', { hidden: [], limit: 10 });
    expect(hit.samples.map((s) => s.refcode)).toEqual(['S00002']);
    expect((await search(db, 'S0000', { hidden: [], limit: 10 })).samples.map((s) => s.refcode)).toEqual([
      'S00001',
      'S00002',
    ]);
    expect((await search(db, 'S00001', { hidden: [], limit: 10 })).files.map((f) => f.id)).toEqual([
      'run_S00001_1.raw',
    ]);
    expect((await search(db, 'proteo', { hidden: [], limit: 10, kinds: ['projects'] })).projects).toEqual([
      { id: 'PRJ1', name: 'Proteomics' },
    ]);
    expect(await search(db, 'S0000', { hidden: ['PRJ1'], limit: 10 })).toEqual({
      samples: [],
      files: [],
      projects: [],
    });
  });
});
