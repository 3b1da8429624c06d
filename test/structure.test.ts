/**
 * The house's size and shape rules (scripts/structure.ts) hold for the whole source tree: no file over
 * 400 lines, no function over 80 lines without a stated reason, every module opening with a comment.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkFile, checkTree, opensWithComment, violations } from '../scripts/structure.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('structure', () => {
  it('finds a long file, a long function without a reason, and a module without its comment', () => {
    const body = Array.from({ length: 85 }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const long = `/** x */\nexport function big() {\n${body}\n}\n`;
    expect(violations(checkFile('a.ts', long)).map((f) => [f.what, f.name])).toEqual([['function', 'big']]);
    const reasoned = `/** x */\n// long-function: a flat table of rules reads best in one piece\nexport function big() {\n${body}\n}\n`;
    expect(violations(checkFile('a.ts', reasoned))).toEqual([]);
    const tall = `/** x */\n${'export const a = 1;\n'.repeat(401)}`;
    expect(violations(checkFile('b.ts', tall)).map((f) => f.what)).toEqual(['file']);
    expect(opensWithComment('import x from "y";\n')).toBe(false);
    expect(opensWithComment('#!/usr/bin/env node\n// @ts-check\n/** what */\n')).toBe(true);
    expect(violations(checkFile('c.ts', 'export const a = 1;\n')).map((f) => f.what)).toEqual(['header']);
  });

  it('holds for src/, web/src/ and scripts/', () => {
    const bad = violations(checkTree(root)).map(
      (f) => `${f.file}:${f.line} ${f.what} ${f.name} (${f.lines} lines)`,
    );
    expect(bad).toEqual([]);
  });
});
