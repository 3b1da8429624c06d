/**
 * The import's rows reach PostgreSQL by COPY (src/core/db/copy.ts): text-format escaping must give
 * back exactly the values sent (tabs, line ends, backslashes, `\N` as text, unicode), a NUL is
 * refused, and a sheet with such cells imports them as written, history included. Real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyOf } from '../src/catalog/history.ts';
import { importSamples } from '../src/catalog/import.ts';
import { syncProjects } from '../src/catalog/projects.ts';
import { getSample } from '../src/catalog/samples.ts';
import { parseConfigText } from '../src/core/config/index.ts';
import { copyChunks, copyIn, copyText } from '../src/core/db/copy.ts';
import type { Db } from '../src/core/db/db.ts';
import { createTestDb } from './helpers/db.ts';

let db: Db;
let drop: () => Promise<void>;

beforeAll(async () => {
  ({ db, drop } = await createTestDb());
});
afterAll(async () => {
  await drop?.();
});

const TRICKY = [
  'plain',
  'a\ttab',
  'two\nlines',
  'cr\r\nlf',
  'back\\slash',
  '\\N',
  '\\t not a tab',
  'ends with \\',
  '',
  ' spaces ',
  'ünïcödé – 试样 🧪',
  'quote " and \' and ,comma',
];

describe('copyText', () => {
  it('escapes what the text format gives meaning to and leaves the rest', () => {
    expect(copyText(null)).toBe('\\N');
    expect(copyText('\\N')).toBe('\\\\N');
    expect(copyText('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyText('ünï')).toBe('ünï');
  });
  it('refuses a NUL character', () => {
    expect(() => copyText('a\0b')).toThrow(/NUL/);
    expect(() => [...copyChunks([['ok'], ['x', 'a\0b']])]).toThrow(/row 2, column 2: a NUL/);
  });
});

describe('copyIn', () => {
  it('stores every value exactly as sent, nulls as nulls', async () => {
    await db.exec('create table copy_probe (i int, v text)');
    const rows = [...TRICKY.map((v, i) => [String(i), v]), [String(TRICKY.length), null]];
    const n = await db.tx((tx) => copyIn(tx, 'copy_probe', ['i', 'v'], rows));
    expect(n).toBe(rows.length);
    const back = await db.query<{ i: number; v: string | null }>('select i, v from copy_probe order by i');
    expect(back.map((r) => r.v)).toEqual([...TRICKY, null]);
  });
  it('writes nothing when the transaction fails, and nothing at all on a NUL', async () => {
    await db.exec('create table copy_probe2 (v text)');
    await expect(
      db.tx(async (tx) => {
        await copyIn(tx, 'copy_probe2', ['v'], [['kept?']]);
        throw new Error('later step fails');
      }),
    ).rejects.toThrow('later step fails');
    await expect(db.tx((tx) => copyIn(tx, 'copy_probe2', ['v'], [['a'], ['b\0']]))).rejects.toThrow(/NUL/);
    expect(await db.query('select * from copy_probe2')).toEqual([]);
    // the connection that refused the NUL is usable (or replaced): the pool still answers
    expect(await db.one<{ x: number }>('select 1 as x')).toEqual({ x: 1 });
  });
  it('needs a transaction, not the pool', async () => {
    await expect(copyIn(db, 'copy_probe', ['v'], [['x']])).rejects.toThrow(/transaction/);
  });
});

describe('an import of cells the COPY text format escapes', () => {
  it('stores names and attributes as written, and their history says the same', async () => {
    const config = parseConfigText('projects:\n  PCOPY: { tokens: [pcopy] }\n', '/tmp/sluice.yaml').config;
    await syncProjects(db, config);
    const quoted = (s: string) => `"${s.replaceAll('"', '""')}"`;
    const names = ['a\ttab', 'two\nlines', 'back\\slash', '\\N', 'ünïcödé – 试样 🧪'];
    const csv = [
      'refcode,name,project,note',
      ...names.map((n, i) => `C${i},${quoted(n)},PCOPY,${quoted(`${n}!`)}`),
    ].join('\n');
    const actor = {
      format: 'csv' as const,
      actor: 'user:ada',
      viewer: { user: 'ada', role: 'admin' as const },
    };
    const rep = await importSamples(db, config.catalog, Buffer.from(csv), actor);
    expect(rep.created).toHaveLength(names.length);
    for (const [i, n] of names.entries()) {
      const s = await getSample(db, `C${i}`, []);
      expect([s.name, s.attributes]).toEqual([n, { note: `${n}!` }]);
      const [h] = await historyOf(db, 'sample', [`C${i}`]);
      expect(h?.after).toEqual({
        refcode: `C${i}`,
        name: n,
        project_id: 'PCOPY',
        type: null,
        attributes: { note: `${n}!` },
      });
    }
    // re-import through the update path: same escaping, before and after in the history
    const again = csv.replaceAll('PCOPY,"', 'PCOPY,"re ');
    const rep2 = await importSamples(db, config.catalog, Buffer.from(again), actor);
    expect(rep2.updated).toHaveLength(names.length);
    const h = await historyOf(db, 'sample', ['C2']);
    expect(h.map((x) => x.action)).toEqual(['create', 'update']);
    expect(h[1]?.before).toEqual(h[0]?.after);
    expect(h[1]?.after).toMatchObject({ attributes: { note: 're back\\slash!' } });
  });
  it('rejects a cell holding a NUL character on its row, and writes nothing', async () => {
    const config = parseConfigText('projects:\n  PCOPY: { tokens: [pcopy] }\n', '/tmp/sluice.yaml').config;
    const csv = 'refcode,name,project\nN1,fine,PCOPY\nN2,bad\0name,PCOPY\n';
    const rep = await importSamples(db, config.catalog, Buffer.from(csv), {
      format: 'csv',
      actor: 'user:ada',
      viewer: { user: 'ada', role: 'admin' },
    });
    expect(rep.written).toBe(false);
    expect(rep.rejected).toEqual([
      { row: 3, refcode: 'N2', reasons: [expect.stringMatching(/column 'name': .*NUL/)] },
    ]);
    expect(await db.query("select refcode from samples where refcode in ('N1', 'N2')")).toEqual([]);
  });
});
