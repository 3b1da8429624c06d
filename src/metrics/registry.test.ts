import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { builtinExtractors, loadExtractor, validateMetrics } from './registry.ts';
import { FIXTURES, fixtureGrid, makeOutputDir, rejection } from './testing.ts';

let out: Awaited<ReturnType<typeof makeOutputDir>>;
beforeEach(async () => {
  out = await makeOutputDir();
});
afterEach(() => out.cleanup());

describe('built-in extractors', () => {
  it('has alphadia, diann, tsv, json and msqc, each under its own name', async () => {
    expect([...builtinExtractors.keys()].sort()).toEqual(['alphadia', 'diann', 'json', 'msqc', 'tsv']);
    for (const [type, e] of builtinExtractors) {
      expect(e.name).toBe(type);
      expect(await loadExtractor({ type }, out.dir)).toBe(e);
    }
  });

  it('msqc reads the fixture: every named numeric column, not the unnamed index', async () => {
    await out.write('msqc_results.tsv', await readFile(path.join(FIXTURES, 'msqc/msqc_results.tsv'), 'utf8'));
    const grid = await fixtureGrid('msqc/msqc_results.tsv');
    expect(grid.header[0]).toBe('');
    const msqc = await loadExtractor({ type: 'msqc' }, out.dir);
    const ms = await msqc.extract({ outputDir: out.dir, rawFileName: 'whatever.raw' }, {});
    const expected = grid.header.slice(1).map((h, i) => ({ name: h, value: Number(grid.rows[0]![i + 1]) }));
    expect(ms).toEqual(expected);
  });

  it('unknown type lists the known ones; module only with custom', async () => {
    const err = await rejection(loadExtractor({ type: 'alphapept' }, out.dir));
    expect(err.code).toBe('metrics.unknown_extractor');
    expect(err.message).toMatch(/'alphapept'.*'alphadia', 'diann', 'tsv', 'json', 'msqc', 'custom'/);
    const err2 = await rejection(loadExtractor({ type: 'tsv', module: './x.js' }, out.dir));
    expect(err2.code).toBe('metrics.bad_options');
  });
});

describe('custom plugins', () => {
  const ctx = () => ({ outputDir: out.dir, rawFileName: 's_01.raw' });

  it('loads a .mjs default export, resolved against baseDir, and calls it with ctx and options', async () => {
    await out.write(
      'plugins/count.mjs',
      `import { readFile } from 'node:fs/promises';
       import { join } from 'node:path';
       export default {
         name: 'count-lines',
         async extract(ctx, options) {
           const text = await readFile(join(ctx.outputDir, options.file), 'utf8');
           return [
             { name: 'lines', value: text.trim().split('\\n').length },
             { name: 'raw.name_length', value: ctx.rawFileName.length, unit: 'chars' },
             { name: 'missing', value: Number.NaN },
           ];
         },
       };`,
    );
    await out.write('result.txt', 'a\nb\nc\n');
    const e = await loadExtractor({ type: 'custom', module: 'plugins/count.mjs' }, out.dir);
    expect(e.name).toBe('count-lines');
    expect(await e.extract(ctx(), { file: 'result.txt' })).toEqual([
      { name: 'lines', value: 3 },
      { name: 'raw.name_length', value: 's_01.raw'.length, unit: 'chars' },
      { name: 'missing', value: null },
    ]);
  });

  it('loads .ts (in an ES-module package) and .mts named exports `extractor`', async () => {
    const source = `interface M { name: string; value: number | null }
       const answer: number = 42;
       export const extractor = {
         name: 'typed',
         async extract(): Promise<M[]> { return [{ name: 'answer', value: answer }]; },
       };`;
    await out.write('esm/package.json', '{"type": "module"}');
    await out.write('esm/deep/p.ts', source);
    await out.write('p.mts', source);
    for (const module of [path.join(out.dir, 'esm/deep/p.ts'), path.join(out.dir, 'p.mts')]) {
      const e = await loadExtractor({ type: 'custom', module }, '/nonexistent');
      expect(e.name).toBe('typed');
      expect(await e.extract(ctx(), {})).toEqual([{ name: 'answer', value: 42 }]);
    }
  });

  it('a .ts plugin outside an ES-module package is refused with a hint (tsx would load it untranspiled)', async () => {
    await out.write('loose.ts', `export default { name: 'x', extract: async () => [] };`);
    const err = await rejection(loadExtractor({ type: 'custom', module: 'loose.ts' }, out.dir));
    expect(err.code).toBe('metrics.bad_plugin');
    expect(err.message).toMatch(/loose\.ts.*must be an ES module/);
    expect(err.hint).toMatch(/\.mts/);
  });

  it('loads CommonJS plugins (module.exports and exports.extractor)', async () => {
    await out.write(
      'a.cjs',
      `module.exports = { name: 'cjs-a', extract: async () => [{ name: 'a', value: 1 }] };`,
    );
    await out.write(
      'b.cjs',
      `exports.extractor = { name: 'cjs-b', extract: async () => [{ name: 'b', value: 2 }] };`,
    );
    expect((await loadExtractor({ type: 'custom', module: 'a.cjs' }, out.dir)).name).toBe('cjs-a');
    const b = await loadExtractor({ type: 'custom', module: 'b.cjs' }, out.dir);
    expect(await b.extract(ctx(), {})).toEqual([{ name: 'b', value: 2 }]);
  });

  it('bad plugins: missing parts, no export, missing file, wrong extension, load error, no module', async () => {
    await out.write('noextract.mjs', `export default { name: 'half' };`);
    await out.write('noname.mjs', `export const extractor = { extract: async () => [] };`);
    await out.write('nothing.mjs', `export const other = 1;`);
    await out.write('broken.mjs', `export default {{;`);
    await out.write('throws.mjs', `throw new Error('boom at load');`);
    await out.write('plugin.py', `print(1)`);
    const cases: [string | undefined, RegExp][] = [
      ['noextract.mjs', /noextract\.mjs.*missing `extract`/],
      ['noname.mjs', /noname\.mjs.*missing `name`/],
      ['nothing.mjs', /nothing\.mjs.*exports no extractor.*exports: other/],
      ['broken.mjs', /broken\.mjs.*failed to load/],
      ['throws.mjs', /throws\.mjs.*failed to load: boom at load/],
      ['gone.mjs', /gone\.mjs.*not found/],
      ['plugin.py', /plugin\.py.*expected a file ending in \.js/],
      [undefined, /needs `module`/],
    ];
    for (const [module, re] of cases) {
      const err = await rejection(
        loadExtractor(module === undefined ? { type: 'custom' } : { type: 'custom', module }, out.dir),
      );
      expect(err.code, module).toBe('metrics.bad_plugin');
      expect(err.message, module).toMatch(re);
    }
  });

  it('what a plugin returns is checked', async () => {
    const bad = [
      ['{ nope: 1 }', /returned object, expected an array/],
      ["[{ name: 'Bad Name', value: 1 }]", /invalid metric name "Bad Name"/],
      ["[{ name: 'a', value: '1' }]", /a string for metric 'a'/],
      ["[{ name: 'a', value: 1 }, { name: 'a', value: 2 }]", /metric 'a' twice/],
    ] as const;
    for (const [i, [ret, re]] of bad.entries()) {
      await out.write(`bad${i}.mjs`, `export default { name: 'bad${i}', extract: async () => (${ret}) };`);
      const e = await loadExtractor({ type: 'custom', module: `bad${i}.mjs` }, out.dir);
      const err = await rejection(e.extract(ctx(), {}));
      expect(err.code).toBe('metrics.bad_plugin_output');
      expect(err.message).toMatch(new RegExp(`'bad${i}' \\(bad${i}\\.mjs\\)`));
      expect(err.message).toMatch(re);
    }
    expect(validateMetrics([{ name: 'x', value: Number.POSITIVE_INFINITY }], 't')).toEqual([
      { name: 'x', value: null },
    ]);
  });

  it("a plugin's own errors pass through unchanged", async () => {
    await out.write(
      'fails.mjs',
      `export default { name: 'f', extract: async () => { throw new Error('nfs hiccup'); } };`,
    );
    const e = await loadExtractor({ type: 'custom', module: './fails.mjs' }, out.dir);
    await expect(e.extract(ctx(), {})).rejects.toThrow('nfs hiccup');
  });
});
