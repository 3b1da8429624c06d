/**
 * The task catalogue is the only place a task kind is named and the only way to enqueue
 * (issue #18): no task-kind string literal in src/ outside src/tasks/kinds/ (one file per stage), and no module
 * outside the engine and the catalogue calls the engine's raw `enqueue`/`enqueueMany`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Kind, TASKS } from '../src/tasks/catalogue.ts';

const SRC = path.join(import.meta.dirname, '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === '__fixtures__' ? [] : sources(p);
    return /\.(ts|tsx)$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [p] : [];
  });
}

const rel = (p: string) => path.relative(SRC, p).split(path.sep).join('/');

describe('task catalogue', () => {
  it('names every kind once, each with a catalogue entry', () => {
    const kinds = Object.values(Kind);
    expect(new Set(kinds).size).toBe(kinds.length);
    expect(Object.keys(TASKS).sort()).toEqual([...kinds].sort());
  });

  it('is the only module of src/ that writes a task kind as a string', () => {
    const found: string[] = [];
    for (const file of sources(SRC)) {
      if (rel(file).startsWith('tasks/kinds/')) continue;
      const text = readFileSync(file, 'utf8');
      for (const kind of Object.values(Kind)) {
        // quoted as code; comments name kinds in backticks, as documentation
        for (const q of ["'", '"']) {
          if (text.includes(`${q}${kind}${q}`)) found.push(`${rel(file)}: ${q}${kind}${q}`);
        }
      }
    }
    expect(found).toEqual([]);
  });

  it('is, with the engine, the only caller of the raw enqueue', () => {
    const found: string[] = [];
    for (const file of sources(SRC)) {
      const r = rel(file);
      if (r.startsWith('engine/') || r === 'tasks/catalogue.ts') continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*['"][^'"]*engine\/enqueue\.ts['"]/g)) {
        const names = m[1]!.split(',').map((n) => n.trim().replace(/^type\s+/, ''));
        for (const n of names) if (n === 'enqueue' || n === 'enqueueMany') found.push(`${r}: ${n}`);
      }
    }
    expect(found).toEqual([]);
  });
});
