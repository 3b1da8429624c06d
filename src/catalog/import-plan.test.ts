/** The import plan (pure): attributes set, kept and cleared per row; cells with problems reported once. */
import { describe, expect, it } from 'vitest';
import { planImport } from './import-plan.ts';
import type { Sheet } from './sheet.ts';

const v = (value: string | null) => ({ value });
const sheet = (header: string[], rows: Sheet['rows'][number]['cells'][]): Sheet => ({
  header,
  rows: rows.map((cells, i) => ({ row: i + 2, cells })),
});
const input = (s: Sheet) => ({
  sheet: s,
  existing: new Map([
    ['OLD', { refcode: 'OLD', name: 'Old', project_id: 'P', type: null, attributes: { a: 1, b: 2 } }],
  ]),
  projects: new Set(['P']),
  check: () => [],
});

describe('planImport', () => {
  it("merges an existing sample's attributes: an empty cell removes one, a column not in the sheet keeps it", () => {
    const plan = planImport(
      input(
        sheet(
          ['refcode', 'name', 'project', 'a', 'c'],
          [
            [v('OLD'), v('Old'), v('P'), v(null), v('3')],
            [v('NEW'), v('New'), v('P'), v(null), v('4')],
          ],
        ),
      ),
    );
    expect(plan.rejected).toEqual([]);
    expect(plan.rows.map((r) => [r.refcode, r.action, r.after.attributes, r.changed])).toEqual([
      ['OLD', 'update', { b: 2, c: '3' }, ['attributes.a', 'attributes.c']],
      ['NEW', 'create', { c: '4' }, []],
    ]);
  });

  it('reports a problem cell in a required column once, not also as empty', () => {
    const plan = planImport(
      input(sheet(['refcode', 'name', 'project'], [[{ problem: 'a formula' }, v(null), v('P')]])),
    );
    expect(plan.rejected).toEqual([
      { row: 2, refcode: null, reasons: ["column 'refcode': a formula", "column 'name' is empty"] },
    ]);
  });
});
