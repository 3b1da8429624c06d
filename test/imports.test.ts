/** No import loop between the folders of src/ (scripts/imports.ts), and the checker finds one. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FolderGraph, folderGraph, folderLoops, importsOf } from '../scripts/imports.ts';

describe('folder graph of src/', () => {
  it('has no loop between folders', () => {
    const graph = folderGraph(path.join(import.meta.dirname, '..', 'src'));
    expect(graph.size).toBeGreaterThan(5);
    expect(folderLoops(graph)).toEqual([]);
  });

  it('finds the loops of a graph', () => {
    const g: FolderGraph = new Map([
      ['a', new Map([['b', 'a/x.ts']])],
      ['b', new Map([['c', 'b/x.ts']])],
      ['c', new Map([['a', 'c/x.ts']])],
      ['d', new Map([['a', 'd/x.ts']])],
    ]);
    expect(folderLoops(g)).toEqual([['a', 'b', 'c']]);
    g.get('c')!.delete('a');
    expect(folderLoops(g)).toEqual([]);
  });

  it('reads static, type-only, re-export and dynamic imports', () => {
    const text = [
      "import { a } from '../x/a.ts';",
      "import type { B } from '../y/b.ts';",
      "export { c } from './c.ts';",
      "const d = await import('../z/d.ts');",
      "import pg from 'pg';",
    ].join('\n');
    expect(importsOf(text)).toEqual(['../x/a.ts', '../y/b.ts', './c.ts', '../z/d.ts']);
  });
});
