import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../core/config/index.ts';
import { backupLocation } from '../storage/raw-data.ts';
import { identifyNew, listedPresence, type Presence } from './backup-identity.ts';
import { fileId } from './file-id.ts';
import { scanFolder } from './scan.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'sluice-identity-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function setup() {
  const watch = path.join(root, 'astral1');
  await mkdir(watch);
  const yaml = `data_dir: ${root}/data\nbackup: { path: ${root}/backup }\ninstruments:\n  astral1: { type: thermo, watch: ${watch} }\n`;
  const { config } = parseConfigText(yaml, path.join(root, 'sluice.yaml'));
  const when = new Date('2026-11-02T10:00:00Z');
  for (const [name, body] of [
    ['run1.raw', 'abcdef'],
    ['run2.raw', 'ghijkl'],
    ['run3.raw', 'mnopqr'],
  ] as const) {
    await writeFile(path.join(watch, name), body);
    await utimes(path.join(watch, name), when, when);
  }
  const { candidates } = await scanFolder(watch, 'thermo');
  const byName = Object.fromEntries(candidates.map((c) => [c.name, c]));
  const backupOf = (name: string) =>
    backupLocation(config, {
      id: fileId(name),
      instrument_id: 'astral1',
      project_id: 'UNASSIGNED',
      mtime: when,
    });
  return { config, byName, backupOf };
}

describe('identifyNew', () => {
  it('answers the same with one listing of the backup folder as with a look per name', async () => {
    const { config, byName, backupOf } = await setup();
    // run1: no backup; run2: a backup with the same size (the same acquisition); run3: another size
    await mkdir(path.dirname(backupOf('run2.raw')), { recursive: true });
    await writeFile(backupOf('run2.raw'), 'GHIJKL');
    await writeFile(backupOf('run3.raw'), 'a longer, different file');
    const ask = async (present?: Presence) => {
      const out: Record<string, { id: string; collision: boolean }> = {};
      for (const name of ['run1.raw', 'run2.raw', 'run3.raw']) {
        const r = await identifyNew(config, 'astral1', 'UNASSIGNED', byName[name]!, false, present);
        out[name] = { id: r.id, collision: r.collision };
      }
      return out;
    };
    const one = await ask();
    expect(one['run1.raw']).toEqual({ id: fileId('run1.raw'), collision: false });
    expect(one['run2.raw']).toEqual({ id: fileId('run2.raw'), collision: false });
    expect(one['run3.raw']!.collision).toBe(true);
    expect(one['run3.raw']!.id).not.toBe(fileId('run3.raw'));
    expect(await ask(listedPresence())).toEqual(one);
  });
});

describe('listedPresence', () => {
  it('lists each folder once, treats a missing folder as empty, and asks directly where it cannot list', async () => {
    const dir = path.join(root, 'b');
    await mkdir(dir);
    await writeFile(path.join(dir, 'x'), '1');
    const present = listedPresence();
    expect(await present(path.join(dir, 'x'))).toBe(true);
    expect(await present(path.join(dir, 'y'))).toBe(false);
    // listed once: something created afterwards is not seen by this scan (the backup step looks again)
    await writeFile(path.join(dir, 'y'), '2');
    expect(await present(path.join(dir, 'y'))).toBe(false);
    expect(await listedPresence()(path.join(dir, 'y'))).toBe(true);
    expect(await present(path.join(root, 'missing', 'x'))).toBe(false);
    // a "folder" that is a file cannot be listed (ENOTDIR): answered by access, which finds nothing
    expect(await present(path.join(dir, 'x', 'inner'))).toBe(false);
  });
});
