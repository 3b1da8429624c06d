import { describe, expect, it } from 'vitest';
import { parseIsoDate } from '../core/dates.ts';
import { fileId } from './params.ts';

describe('parseIsoDate', () => {
  it('reads dates and times, treating a missing offset as UTC', () => {
    expect(parseIsoDate('2026-11-01')?.toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(parseIsoDate('2026-11-01T08:00')?.toISOString()).toBe('2026-11-01T08:00:00.000Z');
    expect(parseIsoDate('2026-11-01T08:00:30.5Z')?.toISOString()).toBe('2026-11-01T08:00:30.500Z');
    expect(parseIsoDate('2026-11-01T08:00:00+02:00')?.toISOString()).toBe('2026-11-01T06:00:00.000Z');
    expect(parseIsoDate('2024-02-29')?.toISOString()).toBe('2024-02-29T00:00:00.000Z');
  });

  it('refuses impossible and vague dates instead of rolling them over', () => {
    for (const bad of [
      '2026-02-30',
      '2025-02-29',
      '2026-13-01',
      '2026-11-01T24:00',
      'yesterday',
      '1730000000',
      '',
    ])
      expect(parseIsoDate(bad), bad).toBeUndefined();
  });
});

describe('fileId', () => {
  it('accepts every id a record can have and refuses paths, NUL and over-long ids', () => {
    for (const ok of [
      '20260101_QC HeLa (2).raw',
      'sample.d',
      '20260101-120000-x.raw',
      'ümlaut.wiff',
      'M\\xfcller.raw',
      'a\\x0ab',
      'a\\b',
      'a\nb',
      '100%2F',
    ])
      expect(fileId.safeParse(ok).success, ok).toBe(true);
    for (const bad of ['', 'a/b', 'a\0b', 'x'.repeat(272)]) expect(fileId.safeParse(bad).success).toBe(false);
  });
});
