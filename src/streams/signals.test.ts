import { describe, expect, it } from 'vitest';
import type { InstrumentConfig } from '../core/config/index.ts';
import { signalledName, signalsOf } from './signals.ts';

describe('signalledName', () => {
  it('takes the last part of a path, either separator, or the first part below the watch folder', () => {
    expect(signalledName('D:\\Data\\run_001.raw', '/mnt/qe1')).toBe('run_001.raw');
    expect(signalledName('/mnt/qe1/run_002.d/analysis.tdf_bin', '/mnt/qe1')).toBe('run_002.d');
    expect(signalledName('/mnt/qe1/run_003.d/', '/mnt/qe1/')).toBe('run_003.d');
    expect(signalledName('run_004.raw', '/mnt/qe1')).toBe('run_004.raw');
    expect(signalledName('', '/mnt/qe1')).toBeUndefined();
    expect(signalledName(42, '/mnt/qe1')).toBeUndefined();
  });
});

describe('signalsOf', () => {
  const inst = (over: Partial<InstrumentConfig>) => ({ watch: '/mnt/x', ...over }) as InstrumentConfig;
  const instruments = {
    qe1: inst({
      watch: '/mnt/qe1',
      acquisition_done: {
        stream: 'lims',
        path_field: 'data.file',
        when: [
          { field: 'event', op: 'eq', value: 'acquisition_finished' },
          { field: 'instrument', op: 'eq', value: 'QE-1' },
        ],
      },
    }),
    tims: inst({ acquisition_done: { stream: 'other', path_field: 'path', when: [] } }),
    plain: inst({}),
  };

  it('names the instrument and entry of a matching event of the right source only', () => {
    const ev = { event: 'acquisition_finished', instrument: 'QE-1', data: { file: 'C:\\x\\a.raw' } };
    expect(signalsOf(instruments, 'lims', ev)).toEqual([{ instrument: 'qe1', name: 'a.raw' }]);
    expect(signalsOf(instruments, 'elsewhere', ev)).toEqual([]);
    expect(signalsOf(instruments, 'lims', { ...ev, event: 'acquisition_started' })).toEqual([]);
    expect(signalsOf(instruments, 'lims', { ...ev, instrument: 'QE-2' })).toEqual([]);
    expect(signalsOf(instruments, 'lims', { ...ev, data: {} })).toEqual([]);
    expect(signalsOf(instruments, 'other', { path: '/mnt/x/b.d/c' })).toEqual([
      { instrument: 'tims', name: 'b.d' },
    ]);
  });
});
