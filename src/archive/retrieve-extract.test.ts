/** extractVerified on real tars written by GNU tar: members verified while written, bad archives refused. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExpectedMember, extractVerified } from './retrieve-extract.ts';

let dir: string;
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const files: Record<string, Buffer> = {
  'set1/run.raw': Buffer.alloc(300_000, 7),
  'set2.d/analysis.tdf': Buffer.from('tdf'),
  'set2.d/sub/method.m': Buffer.from('method'),
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-extract-'));
  for (const [name, data] of Object.entries(files)) {
    await mkdir(path.join(dir, 'src', path.dirname(name)), { recursive: true });
    await writeFile(path.join(dir, 'src', name), data);
  }
  await writeFile(path.join(dir, 'src', 'manifest-sha256.txt'), 'x');
  execFileSync('tar', ['--format=pax', '-cf', path.join(dir, 'a.tar'), '-C', path.join(dir, 'src'), '.']);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function expected(over: Partial<Record<string, Partial<ExpectedMember>>> = {}): Map<string, ExpectedMember> {
  return new Map(
    Object.entries(files).map(([name, data]) => [
      name,
      { name, size: data.length, sha256: sha(data), ...over[name] },
    ]),
  );
}

describe('extractVerified', () => {
  it('extracts and verifies every member, keeping times', async () => {
    const dest = path.join(dir, 'out1');
    let seenBytes = 0;
    const r = await extractVerified(createReadStream(path.join(dir, 'a.tar')), dest, expected(), {
      onBytes: (n) => {
        seenBytes += n;
      },
    });
    expect(r).toEqual({ members: 3, bytes: 300_009 });
    expect(seenBytes).toBe(300_009);
    expect(await readFile(path.join(dest, 'set2.d/sub/method.m'), 'utf8')).toBe('method');
    const src = await stat(path.join(dir, 'src', 'set1/run.raw'));
    expect(Math.floor((await stat(path.join(dest, 'set1/run.raw'))).mtimeMs / 1000)).toBe(
      Math.floor(src.mtimeMs / 1000),
    );
  });

  it('refuses a member whose hash differs from the record', async () => {
    const bad = expected({ 'set1/run.raw': { sha256: sha('other') } });
    await expect(
      extractVerified(createReadStream(path.join(dir, 'a.tar')), path.join(dir, 'out2'), bad),
    ).rejects.toThrow(/set1\/run\.raw.*recorded 300000 bytes with sha256/);
  });

  it('refuses an archive missing a recorded member or holding an unrecorded one', async () => {
    const more = expected();
    more.set('set3/x', { name: 'set3/x', size: 1, sha256: sha('x') });
    await expect(
      extractVerified(createReadStream(path.join(dir, 'a.tar')), path.join(dir, 'out3'), more),
    ).rejects.toThrow(/1 recorded member\(s\) missing from the archive: set3\/x/);
    const fewer = expected();
    fewer.delete('set2.d/analysis.tdf');
    await expect(
      extractVerified(createReadStream(path.join(dir, 'a.tar')), path.join(dir, 'out4'), fewer),
    ).rejects.toThrow(/'set2.d\/analysis.tdf' is not recorded/);
  });

  it('never writes a member outside the folder', async () => {
    await mkdir(path.join(dir, 'evil'), { recursive: true });
    await writeFile(path.join(dir, 'evil', 'x'), 'x');
    execFileSync('tar', [
      '-cf',
      path.join(dir, 'evil.tar'),
      '-C',
      path.join(dir, 'evil'),
      '--transform',
      's,^x,../escaped,',
      'x',
    ]);
    const m = new Map([['../escaped', { name: '../escaped', size: 1, sha256: sha('x') }]]);
    await expect(
      extractVerified(createReadStream(path.join(dir, 'evil.tar')), path.join(dir, 'out5'), m),
    ).rejects.toThrow(/refused: a name leading out/);
    await expect(stat(path.join(dir, 'escaped'))).rejects.toThrow();
  });
});
