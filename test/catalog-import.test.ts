/**
 * Catalog (#22): projects kept in step with the config, samples imported from CSV and XLSX as an
 * upsert by refcode with a per-row report, history of every change, and bad sheets refused row by row
 * with nothing half-imported. Real PostgreSQL.
 */
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyOf } from '../src/catalog/history.ts';
import { importSamples } from '../src/catalog/import.ts';
import { addMember, addProject, listProjects, syncProjects } from '../src/catalog/projects.ts';
import { getSample, listSamples } from '../src/catalog/samples.ts';
import { type Config, parseConfigText } from '../src/core/config/index.ts';
import type { Db } from '../src/core/db/db.ts';
import { createTestDb } from './helpers/db.ts';

const YAML = `
projects:
  PRJ1: { name: Proteomics, tokens: [prj1] }
  SECRET: { tokens: [sec] }
catalog:
  project_visibility: { SECRET: members }
  attribute_schemas:
    by_type:
      plasma:
        type: object
        properties:
          volume_ul: { type: number, minimum: 0 }
          frozen: { type: boolean }
        required: [volume_ul]
`;

const admin = { user: 'ada', role: 'admin' as const };
const viewer = { user: 'val', role: 'viewer' as const };

let db: Db;
let drop: () => Promise<void>;
let config: Config;

const csv = (text: string) => Buffer.from(text.replace(/^\n/, ''));
const run = (
  buf: Buffer,
  o: {
    dryRun?: boolean;
    skipRejected?: boolean;
    format?: 'csv' | 'xlsx';
    viewer?: typeof admin | typeof viewer;
  } = {},
) =>
  importSamples(db, config.catalog, buf, {
    format: o.format ?? 'csv',
    actor: 'user:ada',
    viewer: o.viewer ?? admin,
    ...o,
  });

beforeAll(async () => {
  ({ db, drop } = await createTestDb());
  config = parseConfigText(YAML, '/tmp/sluice.yaml').config;
  await syncProjects(db, config);
});
afterAll(async () => drop());

describe('projects', () => {
  it('are created from the config, kept in step, and more can be added', async () => {
    await syncProjects(db, config); // idempotent
    await addProject(db, { id: 'EXTRA', name: 'Extra' }, 'user:ada');
    const ps = await listProjects(db);
    expect(ps.map((p) => [p.id, p.name, p.in_config, p.visibility])).toEqual([
      ['EXTRA', 'Extra', false, 'all'],
      ['PRJ1', 'Proteomics', true, 'all'],
      ['SECRET', 'SECRET', true, 'members'],
      ['_unassigned', '_unassigned', true, 'all'],
    ]);
    const renamed = parseConfigText(YAML.replace('Proteomics', 'Proteomics lab'), '/tmp/s.yaml').config;
    await syncProjects(db, renamed);
    expect((await listProjects(db)).find((p) => p.id === 'PRJ1')?.name).toBe('Proteomics lab');
    await expect(addProject(db, { id: 'EXTRA' }, 'user:ada')).rejects.toThrow(/exists already/);
  });
});

describe('import', () => {
  it('creates, then updates with history, leaves unchanged rows alone; --dry-run writes nothing', async () => {
    const first = csv(`
refcode,name,project,type,volume_ul,site
S00001,Plasma one,PRJ1,plasma,250,Basel
S00002,Plasma two,PRJ1,plasma,100,
`);
    const dry = await run(first, { dryRun: true });
    expect(dry.created.map((r) => r.row)).toEqual([2, 3]);
    expect(dry.written).toBe(false);
    expect(await listSamples(db, { hidden: [], limit: 10 })).toEqual([]);

    const r1 = await run(first);
    expect(r1).toMatchObject({ written: true, rejected: [], updated: [], unchanged: [] });
    const s1 = await getSample(db, 'S00001', []);
    expect(s1.attributes).toEqual({ volume_ul: 250, site: 'Basel' }); // coerced by the schema
    expect(s1.created_by).toBe('user:ada');

    const again = await run(
      csv(`
refcode,name,project,type,volume_ul
S00001,Plasma one,PRJ1,plasma,300
S00002,Plasma two,PRJ1,plasma,100
`),
    );
    expect(again.updated).toEqual([{ row: 2, refcode: 'S00001', changed: ['attributes.volume_ul'] }]);
    expect(again.unchanged).toEqual([{ row: 3, refcode: 'S00002' }]);
    // the column `site` was not in this sheet: the attribute stays
    expect((await getSample(db, 'S00001', [])).attributes).toEqual({ volume_ul: 300, site: 'Basel' });
    const h = await historyOf(db, 'sample', ['S00001']);
    expect(h.map((e) => e.action)).toEqual(['create', 'update']);
    expect(h[1]).toMatchObject({
      actor: 'user:ada',
      before: { attributes: { volume_ul: 250 } },
      after: { attributes: { volume_ul: 300 } },
    });
  });

  it('refuses bad rows with their row numbers and reasons, and writes nothing', async () => {
    const big = 'x'.repeat(5 * 1024 * 1024);
    const r = await run(
      csv(`
refcode,name,project,type,volume_ul,notes
S00010,Good,PRJ1,plasma,5,
S00011,Bad number,PRJ1,plasma,lots,
S00010,Twice,PRJ1,plasma,5,
S00012,,PRJ1,plasma,5,
S00013,Huge,PRJ1,plasma,5,${big}
S00014,Nowhere,NOPE,plasma,5,
bad code,Spaces,PRJ1,,,
S00015,Missing volume,PRJ1,plasma,,
`),
    );
    expect(r.written).toBe(false);
    expect(r.created.map((c) => c.row)).toEqual([2]);
    const reasons = Object.fromEntries(r.rejected.map((x) => [x.row, x.reasons.join('; ')]));
    expect(Object.keys(reasons).map(Number)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(reasons[3]).toMatch(/attribute volume_ul must be number/);
    expect(reasons[4]).toMatch(/refcode 'S00010' is also on row 2/);
    expect(reasons[5]).toMatch(/column 'name' is empty/);
    expect(reasons[6]).toMatch(/column 'notes': a cell of 5,242,880 characters \(at most 65,536\)/);
    expect(reasons[7]).toMatch(/no project 'NOPE'/);
    expect(reasons[8]).toMatch(/column 'refcode': expected letters/);
    expect(reasons[9]).toMatch(/attribute 'volume_ul' is required/);
    expect(await getSample(db, 'S00010', []).catch(() => null)).toBeNull();

    const skipped = await run(csv('refcode,name,project\nS00020,Ok,PRJ1\nS00021,,PRJ1\n'), {
      skipRejected: true,
    });
    expect(skipped).toMatchObject({ written: true, created: [{ row: 2 }], rejected: [{ row: 3 }] });
  });

  it('refuses a sheet without the required columns or with a column twice', async () => {
    await expect(run(csv('refcode,label,project\nS1,x,PRJ1\n'))).rejects.toThrow(
      /no column 'name' \(its columns: refcode, label, project\)/,
    );
    await expect(run(csv('refcode,name,project,name\nS1,x,PRJ1,y\n'))).rejects.toThrow(
      /'name' appears twice/,
    );
  });

  it('marks rows of a CSV that is not UTF-8', async () => {
    const latin1 = Buffer.concat([
      Buffer.from('refcode,name,project\nS00030,Fine,PRJ1\nS00031,Z'),
      Buffer.from([0xfc]), // ü in Latin-1
      Buffer.from('rich,PRJ1\n'),
    ]);
    const r = await run(latin1);
    expect(r.written).toBe(false);
    expect(r.rejected).toEqual([
      {
        row: 3,
        refcode: 'S00031',
        reasons: [expect.stringMatching(/column 'name': text that is not UTF-8.*CSV UTF-8/)],
      },
    ]);
  });

  it('reads XLSX, and refuses formula cells', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('samples');
    ws.addRow(['refcode', 'name', 'project', 'type', 'volume_ul', 'frozen']);
    ws.addRow(['S00040', 'From Excel', 'PRJ1', 'plasma', 12.5, true]);
    ws.addRow(['S00041', 'Formula', 'PRJ1', 'plasma', { formula: 'E2*2', result: 25 }, false]);
    const buf = Buffer.from(await wb.xlsx.writeBuffer());
    const r = await run(buf, { format: 'xlsx' });
    expect(r.rejected).toEqual([
      {
        row: 3,
        refcode: 'S00041',
        reasons: [expect.stringMatching(/column 'volume_ul': a formula \(=E2\*2\)/)],
      },
    ]);
    const ok = await run(buf, { format: 'xlsx', skipRejected: true });
    expect(ok.created).toEqual([{ row: 2, refcode: 'S00040' }]);
    expect((await getSample(db, 'S00040', [])).attributes).toEqual({ volume_ul: 12.5, frozen: true });
  });
});

describe('visibility', () => {
  it('hides a members-only project from non-members, not from its members or admins', async () => {
    await run(csv('refcode,name,project\nX00001,Secret one,SECRET\n'));
    const { projectsHiddenFrom } = await import('../src/catalog/projects.ts');
    const hiddenVal = await projectsHiddenFrom(db, viewer);
    expect(hiddenVal).toEqual(['SECRET']);
    expect(await listSamples(db, { hidden: hiddenVal, limit: 100 })).not.toContainEqual(
      expect.objectContaining({ refcode: 'X00001' }),
    );
    await expect(getSample(db, 'X00001', hiddenVal)).rejects.toThrow(/no sample 'X00001'/);
    // a viewer cannot import into it, nor overwrite its samples through another project
    const r = await run(csv('refcode,name,project\nX00001,Mine now,PRJ1\nX00002,New,SECRET\n'), { viewer });
    expect(r.rejected.map((x) => [x.row, x.reasons[0]])).toEqual([
      [2, "refcode 'X00001' is taken"],
      [3, expect.stringMatching(/no project 'SECRET'/)],
    ]);
    await addMember(db, 'SECRET', 'val', 'user:ada');
    expect(await projectsHiddenFrom(db, viewer)).toEqual([]);
    expect(await projectsHiddenFrom(db, admin)).toEqual([]);
  });
});
