import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import { globToRegExp } from '../core/glob.ts';
import {
  corruptedOriginalName,
  type DirEntry,
  endsWithCI,
  groupRawData,
  type InstrumentLayout,
  instrumentLayout,
  isSkippedName,
} from './instrument-types.ts';

const f = (name: string): DirEntry => ({ name, kind: 'file' });
const d = (name: string): DirEntry => ({ name, kind: 'folder' });

function names(layout: InstrumentLayout, entries: DirEntry[]) {
  const r = groupRawData(layout, entries);
  return {
    groups: r.groups.map((g) => ({
      name: g.name,
      kind: g.kind,
      companions: g.companions.map((c) => c.name),
    })),
    ignored: r.ignored,
  };
}

describe('glob', () => {
  const m = (glob: string, name: string) => globToRegExp(glob).test(name);
  it('matches *, ? and classes on the whole name, ignoring case', () => {
    expect(m('*.tif', 'a.tif')).toBe(true);
    expect(m('*.tif', 'A.TIF')).toBe(true);
    expect(m('*.tif', 'a.tiff')).toBe(false);
    expect(m('*.tif', 'x.tif.part')).toBe(false);
    expect(m('run_??.dat', 'run_01.dat')).toBe(true);
    expect(m('run_??.dat', 'run_1.dat')).toBe(false);
    expect(m('[ab]*.x', 'b1.x')).toBe(true);
    expect(m('[ab]*.x', 'c1.x')).toBe(false);
    expect(m('[!ab]*.x', 'c1.x')).toBe(true);
    expect(m('[!ab]*.x', 'a1.x')).toBe(false);
    expect(m('img[0-9].png', 'img7.png')).toBe(true);
    expect(m('img[0-9].png', 'imgx.png')).toBe(false);
  });
  it('treats regex characters literally', () => {
    expect(m('a+b(1).x', 'a+b(1).x')).toBe(true);
    expect(m('a.b', 'axb')).toBe(false);
    expect(m('\\*.x', '*.x')).toBe(true);
    expect(m('\\*.x', 'a.x')).toBe(false);
    expect(m('[x', '[x')).toBe(true); // unclosed class is literal
    expect(m('[]]', ']')).toBe(true); // ']' first in a class is a member
  });
  it('rejects empty globs and globs with "/"', () => {
    expect(() => globToRegExp('')).toThrow(ConfigError);
    expect(() => globToRegExp('sub/*.tif')).toThrow(/entry names/);
    expect(() => globToRegExp('[z-a]')).toThrow(ConfigError);
  });
});

describe('groupRawData', () => {
  it('thermo: .raw files in any case, _CORRUPTED flagged, folders and other files ignored', () => {
    const r = groupRawData({ type: 'thermo' }, [
      f('a.raw'),
      f('B.RAW'),
      f('c_CORRUPTED.raw'),
      d('x.raw'),
      f('notes.txt'),
      { name: 'link.raw', kind: 'other' },
    ]);
    expect(r.groups.map((g) => [g.name, g.kind, g.corrupted])).toEqual([
      ['a.raw', 'file', false],
      ['B.RAW', 'file', false],
      ['c_CORRUPTED.raw', 'file', true],
    ]);
    expect(r.ignored).toBe(3);
  });

  it('skips hidden entries and the Backup folder without counting them', () => {
    const r = names({ type: 'thermo' }, [f('.a.raw'), d('Backup'), d('backup'), f('b.raw'), d('.Trash')]);
    expect(r).toEqual({ groups: [{ name: 'b.raw', kind: 'file', companions: [] }], ignored: 0 });
    expect(isSkippedName('.x')).toBe(true);
    expect(isSkippedName('Backup')).toBe(true);
    expect(isSkippedName('Backups')).toBe(false);
  });

  it('bruker: .d folders only', () => {
    const r = names({ type: 'bruker' }, [d('s1.d'), d('S2.D'), f('s3.d'), d('method.m'), f('a.raw')]);
    expect(r.groups.map((g) => [g.name, g.kind])).toEqual([
      ['s1.d', 'folder'],
      ['S2.D', 'folder'],
    ]);
    expect(r.ignored).toBe(3);
  });

  it('sciex: .wiff main with same-stem companions; orphan companions are ignored', () => {
    const r = names({ type: 'sciex' }, [
      f('s1.wiff.scan'),
      f('s1.wiff'),
      f('s1.wiff2'),
      f('s1.timeseries.data'),
      f('s2.WIFF'),
      f('S2.wiff.scan'), // stems match ignoring case (Windows shares)
      f('orphan.wiff.scan'),
      f('orphan.wiff2'),
      f('s1.txt'),
      d('d.wiff'),
    ]);
    expect(r.groups).toEqual([
      { name: 's1.wiff', kind: 'files', companions: ['s1.timeseries.data', 's1.wiff.scan', 's1.wiff2'] },
      { name: 's2.WIFF', kind: 'files', companions: ['S2.wiff.scan'] },
    ]);
    expect(r.ignored).toBe(4);
  });

  it('sciex: dotted stems keep their companions apart', () => {
    const r = names({ type: 'sciex' }, [f('a.b.wiff'), f('a.wiff'), f('a.b.wiff.scan'), f('a.wiff.scan')]);
    expect(r.groups).toEqual([
      { name: 'a.b.wiff', kind: 'files', companions: ['a.b.wiff.scan'] },
      { name: 'a.wiff', kind: 'files', companions: ['a.wiff.scan'] },
    ]);
  });

  it('generic: glob on files or folders', () => {
    const files = instrumentLayout('generic', { glob: '*.tif', kind: 'file' });
    expect(names(files, [f('a.tif'), d('b.tif'), f('c.png')]).groups.map((g) => g.name)).toEqual(['a.tif']);
    const folders = instrumentLayout('generic', { glob: 'grid_*', kind: 'folder' });
    const r = names(folders, [d('grid_1'), f('grid_2'), d('other')]);
    expect(r.groups).toEqual([{ name: 'grid_1', kind: 'folder', companions: [] }]);
    expect(r.ignored).toBe(2);
  });
});

describe('layout and names', () => {
  it('instrumentLayout validates the generic options and the type', () => {
    expect(instrumentLayout('thermo')).toEqual({ type: 'thermo' });
    expect(() => instrumentLayout('generic')).toThrow(/needs a layout/);
    expect(() => instrumentLayout('generic', { glob: 'a/b', kind: 'file' })).toThrow(ConfigError);
    // biome-ignore lint/suspicious/noExplicitAny: invalid input on purpose
    expect(() => instrumentLayout('waters' as any)).toThrow(/unknown instrument type "waters"/);
    // biome-ignore lint/suspicious/noExplicitAny: invalid input on purpose
    expect(() => instrumentLayout('generic', { glob: '*', kind: 'dir' as any })).toThrow(/kind "dir"/);
  });
  it('corruptedOriginalName and endsWithCI', () => {
    expect(corruptedOriginalName('run_1_CORRUPTED.raw')).toBe('run_1.raw');
    expect(corruptedOriginalName('run_1.raw')).toBeUndefined();
    expect(endsWithCI('A.RAW', '.raw')).toBe(true);
    expect(endsWithCI('raw', '.raw')).toBe(false);
    expect(endsWithCI('a.rax', '.raw')).toBe(false);
  });
});
