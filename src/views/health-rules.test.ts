/** The health page's pure judgements: versions, silent workers, targets, streams, database backups, alert links. */
import { describe, expect, it } from 'vitest';
import type { ProcessRow } from '../engine/processes.ts';
import type { FiringAlert } from '../ops/alerts/firing.ts';
import type { StreamsOverview } from '../streams/overview.ts';
import { humanSeconds, judgeAlerts, judgeWorkers } from './health-rules.ts';
import { judgeArchiveTargets, judgeBackupTargets, judgeDbBackups, judgeStreams } from './health-stores.ts';

const NOW = new Date('2026-12-07T12:00:00Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000);

function proc(id: string, version: string, beatAgoS = 1, died: Date | null = null): ProcessRow {
  return {
    ...{ id, host: id, pid: 1, role: 'worker', tags: [], kinds: [], version, mode: 'normal' },
    ...{ started_at: ago(3600), last_heartbeat_at: ago(beatAgoS), stopped_at: null, died_at: died },
    ...{ death: died ? 'gone' : null, running: '0' },
  };
}

describe('judgeWorkers', () => {
  it('breaks a tie of versions in favour of the server own version, and marks the other', () => {
    const w = judgeWorkers([proc('a', '2.0'), proc('b', '1.9')], NOW, 120_000, '1.9');
    expect(w.versions).toMatchObject({ mismatch: true, expected: '1.9' });
    expect(w.rows.filter((r) => r.version_differs).map((r) => r.id)).toEqual(['a']);
  });

  it('calls a worker without a heartbeat for longer than the stale time silent, and leaves it out of the versions', () => {
    const w = judgeWorkers([proc('a', '2.0'), proc('b', '1.9', 600)], NOW, 120_000, '2.0');
    expect(w.versions.mismatch).toBe(false);
    expect(w.rows[1]).toMatchObject({
      state: 'silent',
      level: 'critical',
      problem: 'no heartbeat for 10 min 0 s',
    });
  });
});

it('humanSeconds', () => {
  expect([5, 95, 7300, 90_000].map(humanSeconds)).toEqual(['5 s', '1 min 35 s', '2 h 1 min', '1 d 1 h']);
});

describe('targets', () => {
  it('the filesystem backup: unavailable names the instruments; an extra target with failing copies is critical', () => {
    const rows = judgeBackupTargets({
      pending: 3,
      unavailable: [{ instrument: 'astral1', problem: 'marker missing' }],
      copies: [],
      extra: [
        {
          target: 's3',
          pool: 'copy.s3',
          files: 10,
          copied: 7,
          queued: 3,
          running: 0,
          waiting: 0,
          waiting_since: null,
          failing: 1,
          last_error: 'timeout',
        },
      ],
      extraTypes: { s3: 's3' },
    });
    expect(rows[0]).toMatchObject({
      state: 'unavailable',
      level: 'critical',
      problem: 'unavailable (astral1): marker missing',
    });
    expect(rows[1]).toMatchObject({
      state: 'failing',
      pending: 3,
      problem: '1 copies still failing: timeout',
    });
  });

  it('an extra target whose copies wait for it (unmounted, marker missing) is unavailable, before failing', () => {
    const row = {
      target: 'tape2',
      pool: 'copy.tape2',
      files: 10,
      copied: 4,
      queued: 6,
      running: 0,
      waiting: 6,
      waiting_since: ago(600),
      failing: 1,
      last_error: 'timeout',
    };
    const rows = judgeBackupTargets({
      pending: 0,
      unavailable: [],
      copies: [],
      extra: [row],
      extraTypes: { tape2: 'filesystem' },
    });
    expect(rows[1]).toMatchObject({
      name: 'tape2',
      type: 'filesystem',
      state: 'unavailable',
      level: 'critical',
    });
    expect(rows[1]!.problem).toMatch(/^6 copies wait for the target to be usable/);
    const after = judgeBackupTargets({
      pending: 0,
      unavailable: [],
      copies: [],
      extra: [{ ...row, waiting: 0, waiting_since: null }],
      extraTypes: { tape2: 'filesystem' },
    });
    expect(after[1]).toMatchObject({ state: 'failing' });
  });

  it('an archive target is behind when items are due for more than a day, failing when an archive did not verify', () => {
    const base = { targets: [{ name: 'tape', type: 'filesystem' }], totals: [] };
    const due = [{ target: 'tape', state: 'due', items: 4, oldest_due: ago(2 * 86_400) }];
    expect(judgeArchiveTargets({ ...base, items: due, failed: [] }, NOW)[0]).toMatchObject({
      state: 'behind',
      level: 'warning',
      pending: 4,
    });
    expect(
      judgeArchiveTargets(
        { ...base, items: [], failed: [{ target: 'tape', reason: 'sha256 differs' }] },
        NOW,
      )[0],
    ).toMatchObject({
      state: 'failing',
      problem: '1 archives did not verify: sha256 differs',
    });
  });
});

it('streams: an unreachable NATS and a late outbox are warnings', () => {
  const o = {
    sources: [
      { source: 'ms', stream: 'MS', items: 0, dead_letters: 0, last_seq: null, nats_error: 'refused' },
    ],
    units: [],
    outbox: {
      pending: 5,
      published: 0,
      oldest_pending_seconds: 900,
      configured: true,
      enabled: true,
      stream: 'S',
      subject_prefix: 's',
    },
  } as unknown as StreamsOverview;
  const s = judgeStreams(o, 1000);
  expect(s.sources[0]).toMatchObject({
    level: 'warning',
    problem: 'NATS not reachable: refused',
    link: '/streams',
  });
  expect(s.outbox).toMatchObject({ level: 'warning', problem: '5 events wait, the oldest 15 min 0 s' });
});

it('database backups: a failed last run and a success older than two periods are critical; a new or disabled strategy is not', () => {
  const day = 86_400_000;
  const rows = judgeDbBackups(
    {
      strategies: [
        { name: 'failed', enabled: true, period_ms: day },
        { name: 'stale', enabled: true, period_ms: day },
        { name: 'new', enabled: true, period_ms: day },
        { name: 'off', enabled: false, period_ms: day },
      ],
      last: [
        { strategy: 'failed', state: 'failed', reason: 'disk full' },
        { strategy: 'stale', state: 'succeeded', reason: null },
        { strategy: 'off', state: 'failed', reason: 'x' },
      ],
      successes: [{ strategy: 'stale', last_success: ago(3 * 86_400).getTime() / 1000 }],
    },
    NOW,
  );
  expect(rows.map((r) => [r.strategy, r.level, r.problem])).toEqual([
    ['failed', 'critical', 'the last run failed: disk full'],
    ['stale', 'critical', 'the last success is 3 d 0 h old'],
    ['new', 'ok', null],
    ['off', 'ok', null],
  ]);
});

it('alerts link to the file, the instrument files or nowhere, and a suppressed one is ok', () => {
  const a = (rule: FiringAlert['rule'], subject: string, suppressed = false): FiringAlert => ({
    ...{ rule, subject, severity: 'critical', title: 't', text: '', suppressed, last_sent_at: null },
  });
  const rows = judgeAlerts(
    [a('file_error', 'f 1.raw'), a('low_free_space', 'instrument:astral1'), a('stale_worker', 'w1', true)],
    new Set(['astral1']),
  );
  expect(rows.map((r) => [r.link, r.level])).toEqual([
    ['/files/f%201.raw', 'critical'],
    ['/files?instrument=astral1', 'critical'],
    [null, 'ok'],
  ]);
});
