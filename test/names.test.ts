/**
 * Every name a filesystem allows (issue #16 item 10): raw data whose names are not UTF-8 (Latin-1
 * bytes, as Windows instruments write them) or are 255 bytes long is scanned, recorded, backed up,
 * verified and removed by its bytes, and shown escaped (`M\xfcller`). Real files with byte names
 * (created through Buffer paths), real PostgreSQL, the real pipeline and remover.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runRemover } from '../src/cleanup/remove.ts';
import { silentLogger } from '../src/core/log.ts';
import { nameToText, textToName } from '../src/core/names.ts';
import { backupLocation } from '../src/storage/raw-data.ts';
import { instrumentYaml, REMOVE_AT_ONCE } from './helpers/config-text.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

const config = (root: string) => `
data_dir: ${root}/data
backup: { path: ${root}/backup }
cleanup: { allow_outside_production: true }
${REMOVE_AT_ONCE}
instruments:
${instrumentYaml(root, { cleanup: true })}
${instrumentYaml(root, { id: 'tims1', type: 'bruker', cleanup: true })}
`;

/** A path with Latin-1 bytes in it, for the file system (`\xfc` is the byte 0xfc). */
const bytes = (...parts: string[]) => Buffer.from(path.join(...parts), 'latin1');

/** Every file below `dir` as `{ text rel: content }`, listed by bytes. */
function tree(dir: Buffer, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of readdirSync(dir, { withFileTypes: true, encoding: 'buffer' })) {
    const p = Buffer.concat([dir, Buffer.from('/'), d.name]);
    const r = rel === '' ? nameToText(d.name) : `${rel}/${nameToText(d.name)}`;
    if (d.isDirectory()) Object.assign(out, tree(p, r));
    else out[r] = readFileSync(p).toString('base64');
  }
  return out;
}

/** The acceptance folder: a Bruker `.d` with Latin-1 names at the top and in a subfolder. */
function writeRun(dir: string, run: string): Record<string, string> {
  const root = bytes(dir, run);
  mkdirSync(bytes(dir, run, 'sub'), { recursive: true });
  const content: Record<string, Buffer> = {
    'analysis.tdf_bin': Buffer.alloc(5_000, 1),
    'Probe_M\xfcller.tdf': Buffer.alloc(100_000, 2),
    'sub/r\xe9sultat.bin': Buffer.alloc(5_000, 3),
  };
  for (const [rel, data] of Object.entries(content)) writeFileSync(bytes(dir, run, rel), data);
  expect(Object.keys(tree(root)).sort()).toEqual([
    'Probe_M\\xfcller.tdf',
    'analysis.tdf_bin',
    'sub/r\\xe9sultat.bin',
  ]);
  return tree(root);
}

describe('names that are not UTF-8', () => {
  it('backs up a .d folder with Latin-1 member names whole, and the remover deletes it only after verifying every member', async () => {
    p = await createPipeline(config);
    const watch = path.join(p.root, 'tims1');
    const source = writeRun(watch, 'run.d');
    await p.start();
    await p.waitStatus('run.d', 'done_not_processed');
    await p.stop();

    const f = (await p.file('run.d'))!;
    const copy = await p.db.one<{
      location: string;
      bytes: string;
      manifest: { entries: { rel: string }[] };
    }>(`select location, bytes, manifest from copies where file_id = 'run.d' and state = 'verified'`);
    expect(copy.manifest.entries.map((e) => e.rel)).toEqual([
      'Probe_M\\xfcller.tdf',
      'analysis.tdf_bin',
      'sub/r\\xe9sultat.bin',
    ]);
    expect(Number(copy.bytes)).toBe(110_000);
    expect(Number(f.size_bytes)).toBe(110_000);
    // every member is in the backup under its own bytes, with the same content
    expect(tree(textToName(copy.location))).toEqual(source);
    expect((await p.timeline('run.d')).join('\n')).toMatch(/copied 3 file\(s\), 110000 bytes/);

    const r = await runRemover(p.db, { config: p.config, vars: p.vars }, 'tims1', silentLogger);
    expect(r.refused).toEqual([]);
    expect(r.removed).toEqual(['run.d']);
    expect(readdirSync(watch)).toEqual([]);
    expect(tree(textToName(backupLocation(p.config, f)))).toEqual(source);
  });

  it('keeps a folder whose backup lost a Latin-1 member, or gained one', async () => {
    p = await createPipeline(config);
    const watch = path.join(p.root, 'tims1');
    const source = { a: writeRun(watch, 'a.d'), b: writeRun(watch, 'b.d') };
    await p.start();
    await p.waitStatus('a.d', 'done_not_processed');
    await p.waitStatus('b.d', 'done_not_processed');
    await p.stop();
    const a = textToName(backupLocation(p.config, (await p.file('a.d'))!)).toString('latin1');
    const b = textToName(backupLocation(p.config, (await p.file('b.d'))!)).toString('latin1');
    rmSync(bytes(a, 'sub', 'r\xe9sultat.bin')); // the copy lacks a member
    writeFileSync(bytes(b, 'extra-\xe9.bin'), ''); // the copy has one more (empty) member
    const r = await runRemover(p.db, { config: p.config, vars: p.vars }, 'tims1', silentLogger);
    expect(r.removed).toEqual([]);
    const problems = Object.fromEntries(r.refused.map((x) => [x.id, x.problems.join('; ')]));
    expect(Object.keys(problems), JSON.stringify(r)).toContain('a.d');
    expect(problems['a.d']).toMatch(/sub\/r\\xe9sultat\.bin: missing/);
    expect(problems['b.d']).toMatch(/extra-\\xe9\.bin: unexpected extra file/);
    // both instrument copies are still there, whole
    expect(tree(bytes(watch, 'a.d'))).toEqual(source.a);
    expect(tree(bytes(watch, 'b.d'))).toEqual(source.b);
  });

  it('records, backs up and removes top-level raw files and folders named with Latin-1 bytes', async () => {
    p = await createPipeline(config);
    writeFileSync(bytes(p.root, 'astral1', 'M\xfcller_01.raw'), 'thermo data');
    const source = writeRun(path.join(p.root, 'tims1'), 'Pr\xfcfung.d');
    await p.start();
    await p.waitStatus('M\\xfcller_01.raw', 'done_not_processed');
    await p.waitStatus('Pr\\xfcfung.d', 'done_not_processed');
    await p.stop();
    const raw = (await p.file('M\\xfcller_01.raw'))!;
    expect(raw).toMatchObject({
      name: 'M\\xfcller_01.raw',
      source_path: path.join(p.root, 'astral1', 'M\\xfcller_01.raw'),
    });
    const rawCopy = textToName(backupLocation(p.config, raw));
    expect(path.basename(rawCopy.toString('latin1'))).toBe('M\xfcller_01.raw'); // the same bytes
    expect(readFileSync(rawCopy, 'utf8')).toBe('thermo data');
    expect(tree(textToName(backupLocation(p.config, (await p.file('Pr\\xfcfung.d'))!)))).toEqual(source);

    const thermo = await runRemover(p.db, { config: p.config, vars: p.vars }, 'astral1', silentLogger);
    const bruker = await runRemover(p.db, { config: p.config, vars: p.vars }, 'tims1', silentLogger);
    expect([thermo.removed, bruker.removed]).toEqual([['M\\xfcller_01.raw'], ['Pr\\xfcfung.d']]);
    expect(readdirSync(path.join(p.root, 'astral1'))).toEqual([]);
    expect(readdirSync(path.join(p.root, 'tims1'))).toEqual([]);
  });

  it('backs up a raw file whose name is 255 bytes long', async () => {
    p = await createPipeline(config);
    const name = `${'a'.repeat(251)}.raw`;
    writeFileSync(path.join(p.root, 'astral1', name), 'long name');
    await p.start();
    await p.waitStatus(name, 'done_not_processed');
    await p.stop();
    const dest = backupLocation(p.config, (await p.file(name))!);
    expect(path.basename(dest)).toBe(name);
    expect(readFileSync(dest, 'utf8')).toBe('long name');
    expect(readdirSync(path.dirname(dest))).toEqual([name]); // no temp left behind
  });
});
