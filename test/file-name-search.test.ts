/**
 * File-name search (src/files/catalog-reads.ts `searchFileNames`, src/files/name-words.ts) on real
 * PostgreSQL: names holding the term at a word's start first (index files_name_words), anywhere in
 * names only when none does, hidden projects left out in both stages, and the plan reading the
 * words index (its expression in the migration and in the code must stay the same).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/core/db/db.ts';
import { searchFileNames } from '../src/files/catalog-reads.ts';
import { NAME_WORDS_SQL, nameWordsQuery } from '../src/files/name-words.ts';
import { createTestDb } from './helpers/db.ts';

let db: Db;
let drop: () => Promise<void>;

const FILES: [string, string, string][] = [
  ['f1', 'run_R1S0077777_2_5.raw', 'PA'],
  ['f2', 'Run-R1S0077777-3.RAW', 'PB'],
  ['f3', 'run_XR1S0077777_1.raw', 'PA'],
  ['f4', 'blank_R1S0077778_1.raw', 'PA'],
  ['f5', 'plate 12/Ölprobe é_ü.d', 'PA'],
  ['f6', 'qc_50%_100.raw', 'PB'],
];

beforeAll(async () => {
  ({ db, drop } = await createTestDb());
  for (const p of ['PA', 'PB']) {
    await db.exec(`insert into projects (id, name, created_by) values ($1, $1, 'test')`, [p]);
  }
  for (const [i, [id, name, project]] of FILES.entries()) {
    await db.exec(
      `insert into files (id, instrument_id, name, kind, source_path, project_id, status, size_bytes, mtime, created_at)
       values ($1, 'i1', $2, 'file', '/data/' || $1, $3, 'done', 1, now(), now() - make_interval(mins => $4))`,
      [id, name, project, 10 - i],
    );
  }
});
afterAll(async () => drop());

const ids = async (term: string, hidden: string[] = [], project?: string) =>
  (await searchFileNames(db, term, hidden, 10, project)).map((f) => f.id);

describe('nameWordsQuery', () => {
  it('asks whole words exactly and a lone unfinished word as a prefix', () => {
    expect(nameWordsQuery('R1S0077777')).toBe("'R1S0077777':*");
    expect(nameWordsQuery('_77777.raw')).toBe("'77777'");
    expect(nameWordsQuery('run_R1S00')).toBe("'run'");
    expect(nameWordsQuery('S0077777_2_')).toBe("'S0077777' & '2'");
    expect(nameWordsQuery('a a b')).toBe("'a'");
    expect(nameWordsQuery("it's \\ 'x")).toBe("'it' & 's'");
    expect(nameWordsQuery('Ölprobe')).toBe("'Ölprobe':*");
    expect(nameWordsQuery('_.-/ ')).toBeNull();
    expect(nameWordsQuery('x'.repeat(501))).toBeNull();
  });
});

describe('file-name search', () => {
  it('finds the term at word starts, any case, newest first', async () => {
    expect(await ids('r1s0077777')).toEqual(['f2', 'f1']);
    expect(await ids('R1S007777')).toEqual(['f4', 'f2', 'f1']);
    expect(await ids('_5.raw')).toEqual(['f1']);
    expect(await ids('run_r1s')).toEqual(['f1']);
    // non-ASCII letters are word characters (their case folds as the database's locale has it)
    expect(await ids('Ölprobe é')).toEqual(['f5']);
    expect(await ids('50%')).toEqual(['f6']);
  });

  it('keeps only true substrings (word order and neighbours)', async () => {
    expect(await ids('2_r1s0077777')).toEqual([]);
    expect(await ids('R1S0077777_1')).toEqual(['f3']);
  });

  it('looks inside words only when no name has the term at a word start', async () => {
    expect(await ids('S0077777')).toEqual(['f3', 'f2', 'f1']);
    expect(await ids('un-R1')).toEqual(['f2']);
    expect(await ids('zzz')).toEqual([]);
    // shorter than three characters: word starts only
    expect(await ids('qc')).toEqual(['f6']);
    expect(await ids('c_')).toEqual([]);
  });

  it('leaves out hidden projects and keeps to the project asked for, in both stages', async () => {
    expect(await ids('r1s0077777', ['PB'])).toEqual(['f1']);
    expect(await ids('S0077777', ['PA'])).toEqual(['f2']);
    expect(await ids('r1s0077777', [], 'PB')).toEqual(['f2']);
    expect(await ids('S0077777', [], 'PA')).toEqual(['f3', 'f1']);
    // the words stage finds only hidden files: the substring stage is asked and finds none either
    expect(await ids('blank', ['PA'])).toEqual([]);
  });

  it('has the words index on the expression the search writes', async () => {
    await db.exec('create temp table name_words_probe (name text)');
    await db.exec(`create index name_words_probe_idx on name_words_probe using gin (${NAME_WORDS_SQL})`);
    const defs = await db.query<{ def: string }>(
      `select pg_get_indexdef(c.oid) as def from pg_class c
        where c.relname in ('files_name_words', 'name_words_probe_idx') order by c.relname`,
    );
    const expr = (d: string) => d.slice(d.indexOf('USING gin'));
    expect(defs).toHaveLength(2);
    expect(expr(defs[0]!.def)).toBe(expr(defs[1]!.def));
  });
});
