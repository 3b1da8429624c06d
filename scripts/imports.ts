/**
 * The folder graph of src/, checked: which domain folder imports which, and no loop between them.
 *
 * A folder is the first directory under src/ (`src/backup/copy.ts` is in `backup`). Every
 * `import … from`, `export … from` and `import('…')` of a relative path counts, type-only imports
 * too: a type names the other folder's concept just as a value does, and a loop of types is a loop
 * of ideas the next engineer must hold at once. Tests (`*.test.ts`), `.d.ts` files and `__fixtures__`
 * are not counted (the files structure.ts checks): a test may reach across folders to set up its case.
 *
 * `npx tsx scripts/imports.ts` prints the edges and the loops (exit 1 when there is one);
 * `test/imports.test.ts` runs the same check in the suite.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sources } from './structure.ts';

/** from-folder → the folders it imports (each edge with one file that makes it, for the message). */
export type FolderGraph = Map<string, Map<string, string>>;

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The relative module paths `text` imports (static, re-exports and dynamic). */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    if (spec?.startsWith('.')) out.push(spec);
  }
  return out;
}

/** The folder graph of the tree under `srcDir`. */
export function folderGraph(srcDir: string): FolderGraph {
  const graph: FolderGraph = new Map();
  const folderOf = (abs: string): string | undefined => {
    const rel = path.relative(srcDir, abs);
    if (rel.startsWith('..')) return undefined;
    const parts = rel.split(path.sep);
    return parts.length > 1 ? parts[0] : undefined;
  };
  for (const file of sources(srcDir)) {
    const from = folderOf(file);
    if (!from) continue;
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const to = folderOf(path.resolve(path.dirname(file), spec));
      if (!to || to === from) continue;
      let edges = graph.get(from);
      if (!edges) {
        edges = new Map();
        graph.set(from, edges);
      }
      if (!edges.has(to)) edges.set(to, path.relative(srcDir, file));
    }
  }
  return graph;
}

/**
 * The loops of the graph: its strongly connected components of more than one folder (Tarjan),
 * each sorted, the list sorted.
 */
export function folderLoops(graph: FolderGraph): string[][] {
  const nodes = new Set<string>(graph.keys());
  for (const edges of graph.values()) for (const to of edges.keys()) nodes.add(to);
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of [...nodes].sort()) if (!index.has(v)) visit(v);
  return out.sort((a, b) => a.join().localeCompare(b.join()));
}

/** The two-folder loops (a imports b and b imports a), each with a file making either edge. */
export function mutualImports(graph: FolderGraph): string[] {
  const out: string[] = [];
  for (const [a, edges] of graph) {
    for (const [b, fileAB] of edges) {
      const fileBA = graph.get(b)?.get(a);
      if (fileBA && a < b) out.push(`${a} ↔ ${b} (${fileAB} → ${b}; ${fileBA} → ${a})`);
    }
  }
  return out.sort();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const graph = folderGraph(path.join(root, 'src'));
  for (const [from, edges] of [...graph].sort())
    console.log(`${from} → ${[...edges.keys()].sort().join(', ')}`);
  const loops = folderLoops(graph);
  for (const m of mutualImports(graph)) console.log(`loop: ${m}`);
  for (const l of loops) console.log(`cycle among: ${l.join(', ')}`);
  console.log(`${loops.length} cycle(s) between folders of src/`);
  process.exitCode = loops.length > 0 ? 1 : 0;
}
