import { describe, expect, it } from 'vitest';
import {
  type AuditCandidate,
  auditsDue,
  bytesPerSecond,
  FIXITY_INTERVAL_MS,
  pickForAudit,
} from './fixity.ts';

const HOUR = 3_600_000;
const at = (iso: string) => new Date(iso);

describe('auditsDue', () => {
  it('audits the share that re-reads every copy once per cycle', () => {
    // 7,200 copies over 30 days, one run an hour: 720 runs, 10 copies each
    expect(auditsDue({ copies: 7200, overdue: 0, cycleDays: 30, intervalMs: HOUR })).toBe(10);
    expect(auditsDue({ copies: 7201, overdue: 0, cycleDays: 30, intervalMs: HOUR })).toBe(11);
  });

  it('audits at least one copy per run when there are any, none when there are none', () => {
    expect(auditsDue({ copies: 3, overdue: 0, cycleDays: 30, intervalMs: FIXITY_INTERVAL_MS })).toBe(1);
    expect(auditsDue({ copies: 0, overdue: 0, cycleDays: 30, intervalMs: HOUR })).toBe(0);
  });

  it('catches up on overdue copies at twice the pace, not all at once', () => {
    expect(auditsDue({ copies: 7200, overdue: 5000, cycleDays: 30, intervalMs: HOUR })).toBe(20);
    expect(auditsDue({ copies: 7200, overdue: 4, cycleDays: 30, intervalMs: HOUR })).toBe(14);
  });

  it('never more than there are copies', () => {
    expect(auditsDue({ copies: 5, overdue: 5, cycleDays: 0.01, intervalMs: HOUR })).toBe(5);
  });
});

describe('pickForAudit', () => {
  const rows: AuditCandidate[] = [
    { id: '1', last_fixity_at: at('2026-12-03T00:00:00Z'), verified_at: at('2026-01-01T00:00:00Z') },
    { id: '2', last_fixity_at: null, verified_at: at('2026-12-01T00:00:00Z') },
    { id: '3', last_fixity_at: at('2026-11-01T00:00:00Z'), verified_at: at('2026-01-01T00:00:00Z') },
    { id: '4', last_fixity_at: null, verified_at: at('2026-12-05T00:00:00Z') },
    { id: '5', last_fixity_at: at('2026-11-01T00:00:00Z'), verified_at: at('2026-02-01T00:00:00Z') },
  ];

  it('takes the least recently checked first (never audited counts from its verification), ties by id', () => {
    expect(pickForAudit(rows, 3).map((r) => r.id)).toEqual(['3', '5', '2']);
    expect(pickForAudit(rows, 10).map((r) => r.id)).toEqual(['3', '5', '2', '1', '4']);
    expect(pickForAudit(rows, 0)).toEqual([]);
  });

  it('rolls: once audited, a copy goes to the back', () => {
    const audited = rows.map((r) =>
      r.id === '3' ? { ...r, last_fixity_at: at('2026-12-06T00:00:00Z') } : r,
    );
    expect(pickForAudit(audited, 1).map((r) => r.id)).toEqual(['5']);
  });
});

describe('bytesPerSecond', () => {
  it('reads MB/s as 10^6 bytes a second; 0 means no limit', () => {
    expect(bytesPerSecond(50)).toBe(50_000_000);
    expect(bytesPerSecond(0)).toBeUndefined();
  });
});
