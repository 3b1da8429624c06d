/**
 * One owner per table (scripts/owners.ts): SQL naming a table sits only in that table's owner, and
 * the allow-list holds no entry that nothing needs.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  breachesIn,
  literals,
  mayTouch,
  ownerBreaches,
  tablesNamed,
  unusedAllowances,
} from '../scripts/owners.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('table owners', () => {
  it('finds the tables a statement names, whatever its case and spacing', () => {
    expect(tablesNamed('select * from files f join copies c on c.file_id = f.id')).toEqual([
      'files',
      'copies',
    ]);
    expect(tablesNamed('INSERT  INTO tasks (kind) values ($1)')).toEqual(['tasks']);
    expect(tablesNamed('update metrics set value = 1; delete from jobs')).toEqual(['metrics', 'jobs']);
    expect(tablesNamed('select 1 from files_archive')).toEqual([]);
    expect(tablesNamed('list files with `sluice files list`')).toEqual([]);
  });

  it('reads string and template literals, not comments', () => {
    const src = [
      '// select * from files',
      "const a = 'select 1 from copies';",
      `const b = \`update \${t} set x = 1 from jobs\`;`,
    ].join('\n');
    expect(literals(src).map((l) => [l.line, tablesNamed(l.text)])).toEqual([
      [2, ['copies']],
      [3, ['jobs']],
    ]);
  });

  it('lets the owner touch its table and no one else', () => {
    expect(mayTouch('src/files/repo.ts', 'files')).toBe(true);
    expect(mayTouch('src/metrics/store.ts', 'metrics')).toBe(true);
    expect(mayTouch('src/metrics/registry.ts', 'metrics')).toBe(false);
    expect(breachesIn('src/cli/x.ts', "q.query('select * from files')")).toEqual([
      { file: 'src/cli/x.ts', line: 1, table: 'files', owner: 'src/files/' },
    ]);
    expect(breachesIn('src/api/routes/x.ts', "q.query('select * from tasks')")).toHaveLength(1);
  });

  it('src/ touches every table only through its owner', () => {
    expect(ownerBreaches(root)).toEqual([]);
  });

  it('the allow-list only holds entries still needed', () => {
    expect(unusedAllowances(root)).toEqual([]);
  });
});
