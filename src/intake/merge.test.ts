/** The merge of a scan into the records, decided (merge.ts): real cases, no database. */
import { describe, expect, it } from 'vitest';
import type { FileStatus } from '../files/lifecycle.ts';
import { assignIds, decideMoves, type KnownRow, sortCandidates, vanishedRecords } from './merge.ts';
import { acquisitionSettings } from './rules.ts';
import type { Candidate } from './scan.ts';

const MIN = 60_000;
const NOW = Date.UTC(2025, 0, 10, 12, 0, 0);

function cand(name: string, over: Partial<Candidate> = {}): Candidate {
  return {
    name,
    kind: 'file',
    path: `/watch/${name}`,
    companions: [],
    size: 1000,
    mtimeMs: NOW - 30 * MIN,
    mainFilePresent: true,
    corrupted: false,
    ...over,
  };
}

function rec(name: string, status: FileStatus, over: Partial<KnownRow> = {}): KnownRow {
  return {
    id: name,
    name,
    status,
    size_bytes: '1000',
    mtime_ms: NOW - 30 * MIN,
    first_seen_ms: NOW - 40 * MIN,
    last_change_ms: NOW - 35 * MIN,
    main_file_present: true,
    instrument_copy: 'present',
    ...over,
  };
}

const known = (...rows: KnownRow[]) => new Map(rows.map((r) => [r.name, r]));
const project = () => 'p1';

describe('sortCandidates', () => {
  it('sorts the entries of a folder against the records', () => {
    const s = sortCandidates(
      [
        cand('new.raw'),
        cand('growing.raw', { size: 2000 }),
        cand('still.raw'),
        cand('done.raw'),
        cand('other.raw', { size: 5 }),
        cand('back.raw'),
        cand('going.raw'),
        cand('lost.raw'),
      ],
      known(
        rec('growing.raw', 'acquiring'),
        rec('still.raw', 'acquiring'),
        rec('done.raw', 'backed_up'),
        rec('other.raw', 'done'),
        rec('back.raw', 'error', { instrument_copy: 'missing' }),
        rec('going.raw', 'done', { instrument_copy: 'removing' }),
        rec('lost.raw', 'lost'),
      ),
      NOW,
      project,
    );
    expect(s.unidentified.map((u) => [u.c.name, u.rec?.id ?? null, u.project])).toEqual([
      ['new.raw', null, 'p1'],
      ['other.raw', 'other.raw', 'p1'],
      ['lost.raw', 'lost.raw', 'p1'],
    ]);
    expect(s.changedRows.map((r) => [r.id, r.size])).toEqual([['growing.raw', 2000]]);
    expect(s.returned).toEqual([{ id: 'back.raw', path: '/watch/back.raw' }]);
    expect([...s.tracked.values()].map((x) => [x.fileId, x.status, x.t.lastChangeMs])).toEqual([
      ['growing.raw', 'acquiring', NOW],
      ['still.raw', 'acquiring', NOW - 35 * MIN],
      ['back.raw', 'acquiring', NOW],
    ]);
    expect(s.seen.size).toBe(8);
  });
});

describe('assignIds', () => {
  const fresh = (name: string, ident: { id: string; collision: boolean; reason?: string }) => {
    const c = cand(name);
    const u = sortCandidates([c], new Map(), NOW, project).unidentified[0]!;
    return { ...u, ident };
  };

  it('takes the proposed id, or a collision id when another instrument has it', () => {
    const taken = new Set(['b.raw']);
    const r = assignIds(
      [fresh('a.raw', { id: 'a.raw', collision: false }), fresh('b.raw', { id: 'b.raw', collision: false })],
      taken,
      '/watch',
      NOW,
    );
    expect(r.inserts.map((i) => i.id)).toEqual(['a.raw', expect.stringMatching(/^20250110-113000-b\.raw$/)]);
    expect(r.inserts[0]!.reason).toBe('found in /watch');
    expect(r.inserts[1]!.reason).toBe(
      'the id b.raw is already taken by a file of another instrument; found in /watch',
    );
    expect(r.tracked.map((t) => t.status)).toEqual(['discovered', 'discovered']);
    expect(taken.size).toBe(3);
  });

  it('leaves a name whose every id is taken to the next scan', () => {
    const first = assignIds(
      [fresh('b.raw', { id: 'b.raw', collision: false })],
      new Set(['b.raw']),
      '/w',
      NOW,
    );
    const taken = new Set(['b.raw', first.inserts[0]!.id, `20250110-120000-b.raw`]);
    expect(assignIds([fresh('b.raw', { id: 'b.raw', collision: false })], taken, '/w', NOW).inserts).toEqual(
      [],
    );
  });
});

describe('decideMoves', () => {
  it('declares stable files acquired and moves new ones to acquiring', () => {
    const s = sortCandidates(
      [cand('old.raw', { mtimeMs: NOW - 60 * MIN }), cand('fresh.raw', { mtimeMs: NOW - MIN })],
      known(rec('old.raw', 'acquiring', { mtime_ms: NOW - 60 * MIN })),
      NOW,
      project,
    );
    for (const [i, u] of s.unidentified.entries()) {
      s.tracked.set(u.c.name, { fileId: `n${i}`, status: 'discovered', t: u.t, candidate: u.c });
    }
    const { moves, decided } = decideMoves(s.tracked, [cand('x.raw')], NOW, acquisitionSettings());
    expect(decided).toBe(1);
    expect(moves.get('acquired')?.ids).toEqual(['old.raw']);
    expect(moves.get('acquiring')?.ids).toEqual(['n0']);
  });
});

describe('vanishedRecords', () => {
  it('ends records gone from the folder; renamed _CORRUPTED means the acquisition failed', () => {
    const v = vanishedRecords(
      [
        rec('a.raw', 'acquiring'),
        rec('b.raw', 'discovered'),
        rec('c.raw', 'acquiring'),
        rec('d.raw', 'backed_up'),
        rec('e.raw', 'acquiring'),
      ],
      new Set(['A_CORRUPTED.raw', 'c.raw']),
      new Set(['e.raw']),
      '/watch',
    );
    expect(v).toEqual([
      {
        id: 'a.raw',
        to: 'acquisition_failed',
        reason: 'the instrument renamed it to A_CORRUPTED.raw: the acquisition failed',
      },
      {
        id: 'b.raw',
        to: 'error',
        reason: 'disappeared from /watch before it was backed up (renamed or deleted on the instrument?)',
      },
    ]);
  });
});
