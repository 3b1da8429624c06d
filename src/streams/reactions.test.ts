/** The pure parts of reactions: schedules, the files window, the QC digest, the config's checks. */
import { describe, expect, it } from 'vitest';
import { reactionsSchema } from '../core/config/schema/reactions.ts';
import { filesWindow, reactionSchedules, selectionNotice } from './reactions.ts';
import { qcDigest, qcNotices } from './reactions-qc.ts';

describe('reactions', () => {
  it('makes one schedule per enabled reaction, in its pool', () => {
    const cfg = reactionsSchema.parse({
      a: { cron: '0 7 * * *', select: { files: {} }, action: { type: 'qc_digest' } },
      b: { every_seconds: 30, pool: 'io', select: { items: {} }, action: { type: 'notify' } },
      c: { enabled: false, every_seconds: 30, select: { items: {} }, action: { type: 'notify' } },
    });
    expect(reactionSchedules(cfg)).toEqual([
      expect.objectContaining({
        name: 'reaction:a',
        kind: 'streams.reaction',
        cron: '0 7 * * *',
        pool: 'default',
      }),
      expect.objectContaining({
        name: 'reaction:b',
        intervalMs: 30_000,
        pool: 'io',
        payload: { reaction: 'b' },
      }),
    ]);
  });

  it('refuses a reaction without exactly one schedule and one selection, and a digest over items', () => {
    const r = reactionsSchema.safeParse({
      x: { select: { items: {}, files: {} }, action: { type: 'notify' } },
      y: { every_seconds: 5, select: { items: {} }, action: { type: 'qc_digest' } },
    });
    expect(r.success).toBe(false);
    const messages = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(messages).toContain('x.cron: expected exactly one of cron and every_seconds');
    expect(messages).toContain('x.select: expected exactly one of select.items and select.files');
    expect(messages).toContain(
      'y.select: a qc_digest reaction needs select.files (the runs whose metrics it judges)',
    );
  });

  it('takes yesterday in the reaction time zone, or the last hours', () => {
    const at = new Date('2026-12-07T06:30:00Z');
    expect(filesWindow({ window: 'yesterday', hours: 24 }, at)).toEqual({
      from: new Date('2026-12-06T00:00:00Z'),
      to: new Date('2026-12-07T00:00:00Z'),
    });
    // 07:30 in Zurich (UTC+1 in December): yesterday there began at 23:00 UTC two days before
    expect(filesWindow({ window: 'yesterday', hours: 24, timezone: 'Europe/Zurich' }, at)).toEqual({
      from: new Date('2026-12-05T23:00:00Z'),
      to: new Date('2026-12-06T23:00:00Z'),
    });
    expect(filesWindow({ window: 'hours', hours: 2 }, at).from).toEqual(new Date('2026-12-07T04:30:00Z'));
  });

  it('digests per instrument the runs of the window and their outliers against the values before', () => {
    const files = [
      {
        id: 'f1',
        name: 'run1.raw',
        instrument: 'astral',
        status: 'done',
        first_seen_at: '2026-12-06T10:00:00Z',
      },
      {
        id: 'f2',
        name: 'run2.raw',
        instrument: 'astral',
        status: 'done',
        first_seen_at: '2026-12-06T11:00:00Z',
      },
      {
        id: 'g1',
        name: 'other.raw',
        instrument: 'exploris',
        status: 'stored',
        first_seen_at: '2026-12-06T12:00:00Z',
      },
    ];
    const history = [10, 11, 10, 9, 10, 11].map((v, i) => ({
      instrument_id: 'astral',
      name: 'proteins',
      file_id: `h${i}`,
      t: i,
      value: v,
    }));
    const points = [
      ...history,
      { instrument_id: 'astral', name: 'proteins', file_id: 'f1', t: 10, value: 10 },
      { instrument_id: 'astral', name: 'proteins', file_id: 'f2', t: 11, value: 30 },
    ];
    const d = qcDigest(files, points, { k: 2, window: 20 });
    expect(d.instruments).toEqual([
      {
        instrument: 'astral',
        runs: 2,
        with_metrics: 2,
        outliers: [
          expect.objectContaining({ file: 'f2', file_name: 'run2.raw', metric: 'proteins', value: 30 }),
        ],
      },
      { instrument: 'exploris', runs: 1, with_metrics: 0, outliers: [] },
    ]);
    const [astral] = qcNotices('qc', d, { from: 'A', to: 'B' });
    expect(astral!.title).toBe('QC astral: 2 runs, 1 outlier');
    expect(astral!.text).toContain('run2.raw: proteins = 30');
  });

  it('lists a selection in a notice, the first 20 and how many more', () => {
    const items = Array.from({ length: 25 }, (_, i) => ({
      id: String(i),
      source: 's',
      subject: 'x',
      seq: i,
      payload: { i },
      channels: [],
      received_at: '',
    }));
    const n = selectionNotice('r', undefined, 'warning', { items });
    expect(n.title).toBe('r: 25 items');
    expect(n.text.split('\n')).toHaveLength(21);
    expect(n.text).toContain('… and 5 more');
  });
});
