/** The `qc_rule_violation` rule: QC runs that broke a Westgard rule (pure, over a snapshot). */
import { describe, expect, it } from 'vitest';
import type { QcViolation } from '../../metrics/qc-watch.ts';
import { qcRuleViolations, type Snapshot } from './rules.ts';
import { emptySnapshot } from './testing.ts';

const now = new Date('2026-12-07T12:00:00Z');
const snapshot = (qcViolations: QcViolation[]): Snapshot => emptySnapshot(now, { qcViolations });
const v = (o: Partial<QcViolation>): QcViolation => ({
  instrument: 'astral1',
  metric: 'precursors',
  file_id: 'QC_HeLa 033.raw',
  value: 2000,
  at: now,
  rules: ['1_3s'],
  mean: 5105,
  sd: 62.3,
  ...o,
});

describe('qc_rule_violation', () => {
  it('one alert per instrument, naming the file, metric, rules and where to look', () => {
    const alerts = qcRuleViolations(
      snapshot([
        v({}),
        v({ metric: 'proteins', value: 900, rules: ['2_2s'] }),
        v({ instrument: 'tims1', rules: ['4_1s'] }),
      ]),
    );
    expect(alerts.map((a) => a.subject)).toEqual(['qc:astral1', 'qc:tims1']);
    const a = alerts[0]!;
    expect(a.rule).toBe('qc_rule_violation');
    expect(a.severity).toBe('critical');
    expect(a.text).toContain('precursors 2000 of QC_HeLa 033.raw broke 1_3s');
    expect(a.text).toContain('proteins 900 of QC_HeLa 033.raw broke 2_2s');
    expect(a.text).toContain('/files/QC_HeLa%20033.raw');
    expect(a.text).toContain('/qc?instrument=astral1&names=precursors%2Cproteins&band=guide');
    expect(alerts[1]!.severity).toBe('warning');
  });

  it('is quiet without violations', () => {
    expect(qcRuleViolations(snapshot([]))).toEqual([]);
  });
});
