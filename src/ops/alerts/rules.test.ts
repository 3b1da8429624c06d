/** The `s3_target_failing` rule: an S3 target whose copies keep failing (pure, over a snapshot). */
import { describe, expect, it } from 'vitest';
import { evaluate, type RuleParams, type Snapshot, s3TargetFailing } from './rules.ts';
import { emptySnapshot } from './testing.ts';

const now = new Date('2026-12-07T12:00:00Z');
const snapshot = (s3Retrying: Snapshot['s3Retrying']): Snapshot => emptySnapshot(now, { s3Retrying });
const params: RuleParams = {
  staleWorkerMinutes: 5,
  pileUpThreshold: 100,
  stallHours: 4,
  workingHours: { days: [], from: '08:00', to: '20:00' },
  stuckFileMinutes: 240,
  instrumentFreeGb: {},
  maxStuckAlerts: 10,
  s3FailingAttempts: 3,
};
const since = new Date(now.getTime() - 90 * 60_000);

describe('s3_target_failing', () => {
  it('fires once per target whose copies failed the threshold of attempts in a row', () => {
    const alerts = s3TargetFailing(
      snapshot([
        {
          pool: 'copy.s3',
          target: 's3',
          tasks: 4,
          attempts: 5,
          since,
          last_error: 'connect ECONNREFUSED 127.0.0.1:9000',
        },
        { pool: 'copy.archive', target: 'archive', tasks: 1, attempts: 2, since, last_error: 'timeout' },
      ]),
      params,
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ rule: 's3_target_failing', subject: 's3:s3', severity: 'critical' });
    expect(alerts[0]!.title).toBe('S3 backup target s3 keeps failing');
    expect(alerts[0]!.text).toMatch(
      /4 copies to S3 target s3 failed up to 5 attempts in a row .*90 min.*ECONNREFUSED/,
    );
  });

  it('the threshold is the config’s; nothing retried, nothing fires; evaluate includes the rule', () => {
    const one = [{ pool: 'copy.s3', target: 's3', tasks: 1, attempts: 2, since, last_error: null }];
    expect(s3TargetFailing(snapshot(one), params)).toEqual([]);
    expect(s3TargetFailing(snapshot(one), { ...params, s3FailingAttempts: 2 })).toHaveLength(1);
    expect(s3TargetFailing(snapshot(undefined), params)).toEqual([]);
    expect(evaluate(snapshot(one), { ...params, s3FailingAttempts: 1 }).map((a) => a.rule)).toEqual([
      's3_target_failing',
    ]);
  });

  it('names the target by its name, not its pool (a target with a pool of its own, two targets sharing one)', () => {
    const alerts = s3TargetFailing(
      snapshot([
        { pool: 'uploads', target: 'lab-s3', tasks: 2, attempts: 4, since, last_error: 'SlowDown' },
        { pool: 'uploads', target: 'offsite', tasks: 1, attempts: 3, since, last_error: null },
        // queued before the target's pool was changed in the config: still the same target
        { pool: 'copy.lab-s3', target: 'lab-s3', tasks: 1, attempts: 6, since, last_error: null },
      ]),
      params,
    );
    expect(alerts.map((a) => [a.subject, a.title])).toEqual([
      ['s3:lab-s3', 'S3 backup target lab-s3 keeps failing'],
      ['s3:offsite', 'S3 backup target offsite keeps failing'],
    ]);
    expect(alerts[0]!.text).toMatch(/^3 copies to S3 target lab-s3 failed up to 6 attempts.*SlowDown/);
    expect(alerts.some((a) => a.text.includes('uploads'))).toBe(false);
  });
});
