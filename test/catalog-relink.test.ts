/**
 * Catalog re-link (#22): files acquired before their sample existed are linked when the sample is
 * imported (same patterns as at acquisition), and by the relink pass (all samples or one project's);
 * both idempotent, counting the links they add. Real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importSamples } from '../src/catalog/import.ts';
import { patternEdges } from '../src/catalog/links.ts';
import { syncProjects } from '../src/catalog/projects.ts';
import { edgesOf } from '../src/catalog/relations.ts';
import { relink } from '../src/catalog/relink.ts';
import { type Config, parseConfigText } from '../src/core/config/index.ts';
import type { Db } from '../src/core/db/db.ts';
import { createTestDb } from './helpers/db.ts';

const YAML = `
projects:
  PRJ1: { name: One, tokens: [prj1] }
  PRJ2: { name: Two, tokens: [prj2] }
catalog:
  link_patterns:
    - pattern: '(?<sample>S\\d{5})_(?<replicate>\\d+)'
`;

let db: Db;
let drop: () => Promise<void>;
let config: Config;

async function file(id: string, name: string, project = 'PRJ1'): Promise<void> {
  await db.exec(
    `insert into files (id, instrument_id, name, kind, source_path, project_id, status, size_bytes, mtime)
     values ($1, 'astral1', $2, 'file', $3, $4, 'done', 1, now())`,
    [id, name, `/data/${name}`, project],
  );
}

async function sheet(csv: string) {
  const r = await importSamples(db, config.catalog, Buffer.from(csv), {
    format: 'csv',
    actor: 'user:ada',
    viewer: { user: 'ada', role: 'admin' },
  });
  return { ...r, linked: await relink(db, config.catalog, { refcodes: r.created.map((c) => c.refcode) }) };
}

const measured = async (refcode: string) =>
  (await edgesOf(db, 'sample', refcode))
    .filter((e) => e.relation === 'measured')
    .map((e) => e.subject_id)
    .sort();

beforeAll(async () => {
  ({ db, drop } = await createTestDb());
  config = parseConfigText(YAML, '/tmp/sluice.yaml').config;
  await syncProjects(db, config);
});
afterAll(async () => drop());

describe('relink', () => {
  it('pure: edges only for the samples asked for, with the named groups as detail', () => {
    const e = patternEdges(
      config.catalog.link_patterns,
      [
        { id: 'f1', name: 'S00001_2.raw', instrument_id: 'a' },
        { id: 'f2', name: 'S00002_1.raw', instrument_id: 'a' },
        { id: 'f3', name: 'blank.raw', instrument_id: 'a' },
      ],
      (s) => s === 'S00001',
    );
    expect(e).toHaveLength(1);
    expect(e[0]).toMatchObject({ subject_id: 'f1', object_id: 'S00001', detail: { replicate: '2' } });
  });

  it('links earlier files when their samples are imported, and the pass links the rest once', async () => {
    await file('F1', 'S00001_1.raw');
    await file('F2', 'S00001_2.raw');
    await file('F3', 'S00002_1.raw');
    await file('F4', 'S00003_1.raw', 'PRJ2');
    await file('F5', 'QC_blank.raw');
    const r = await sheet('refcode,name,project\nS00001,A,PRJ1\n');
    expect(r.linked).toBe(2);
    expect(await measured('S00001')).toEqual(['F1', 'F2']);
    // a re-import creates nothing and links nothing twice
    expect((await sheet('refcode,name,project\nS00001,A,PRJ1\n')).linked).toBe(0);
    // samples created while the import-time pass did not run (a crash): the relink pass finds them
    await importSamples(
      db,
      config.catalog,
      Buffer.from('refcode,name,project\nS00002,B,PRJ1\nS00003,C,PRJ2\n'),
      {
        format: 'csv',
        actor: 'user:ada',
        viewer: { user: 'ada', role: 'admin' },
      },
    );
    expect(await measured('S00002')).toEqual([]);
    expect(await relink(db, config.catalog, { project: 'PRJ2' })).toBe(1);
    expect(await measured('S00003')).toEqual(['F4']);
    expect(await measured('S00002')).toEqual([]);
    expect(await relink(db, config.catalog)).toBe(1);
    expect(await measured('S00002')).toEqual(['F3']);
    expect(await relink(db, config.catalog)).toBe(0);
    // without patterns nothing happens
    expect(await relink(db, { ...config.catalog, link_patterns: [] })).toBe(0);
  });

  it('reads every file in batches when many samples are new (more than the by-name limit)', async () => {
    const rows = Array.from({ length: 250 }, (_, i) => `S1${String(i).padStart(4, '0')},N${i},PRJ1`);
    await file('F9', 'S10249_1.raw');
    await file('F8', 'S10000_3.raw');
    const r = await sheet(`refcode,name,project\n${rows.join('\n')}\n`);
    expect(r.created).toHaveLength(250);
    expect(r.linked).toBe(2);
    expect(await measured('S10249')).toEqual(['F9']);
  });
});
