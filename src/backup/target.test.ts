import { describe, expect, it } from 'vitest';
import { decideTarget, type TargetFacts } from './target.ts';

const base: TargetFacts = {
  root: '/mnt/backup',
  instance: 'core',
  fallback: false,
  requireMount: false,
  rootState: 'holds-data',
  marker: { instance: 'core' },
};
const facts = (over: Partial<TargetFacts>): TargetFacts => ({ ...base, ...over });

describe('decideTarget', () => {
  it('a marker naming this instance → ok, nothing written', () => {
    expect(decideTarget(base)).toEqual({ ok: true });
  });

  it('require_mount and not mounted → unavailable, whatever else is there', () => {
    const d = decideTarget(facts({ requireMount: true, mounted: false }));
    expect(d).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not a mount point \(backup.require_mount/),
    });
    expect(decideTarget(facts({ requireMount: true, mounted: true }))).toEqual({ ok: true });
  });

  it('a marker naming another instance → unavailable, saying both names', () => {
    const d = decideTarget(facts({ marker: { instance: 'other-lab' } }));
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.reason).toMatch(/names the Sluice instance 'other-lab', not this one \('core'\)/);
      expect(d.hint).toMatch(/instance.name: other-lab/);
    }
  });

  it('no marker, copies recorded there but missing (unmounted, renamed) → unavailable', () => {
    for (const rootState of ['missing', 'empty'] as const) {
      const d = decideTarget(
        facts({ rootState, marker: 'missing', recorded: 3, evidence: { sampled: 3, found: 0 } }),
      );
      expect(d.ok).toBe(false);
      if (!d.ok) expect(d.reason).toMatch(/3 of 3 checked verified copies recorded there are missing/);
    }
    // one of five missing is enough to refuse
    expect(
      decideTarget(facts({ marker: 'missing', recorded: 900, evidence: { sampled: 5, found: 4 } })).ok,
    ).toBe(false);
  });

  it('no marker, every sampled recorded copy present (an install from before markers) → writes it', () => {
    const d = decideTarget(facts({ marker: 'missing', recorded: 900, evidence: { sampled: 5, found: 5 } }));
    expect(d).toMatchObject({ ok: true, writeMarker: expect.stringMatching(/holds the verified copies/) });
  });

  it('no marker, nothing recorded (a new install) → writes it', () => {
    for (const rootState of ['missing', 'empty', 'holds-data'] as const) {
      const d = decideTarget(facts({ rootState, marker: 'missing', recorded: 0 }));
      expect(d).toMatchObject({ ok: true, writeMarker: expect.stringMatching(/no copies recorded/) });
    }
  });

  it('a fallback instance never writes the marker: it needs its main instance’s', () => {
    const d = decideTarget(facts({ fallback: true, marker: 'missing', recorded: 0, rootState: 'empty' }));
    expect(d).toMatchObject({ ok: false, reason: expect.stringMatching(/fallback instance/) });
    expect(decideTarget(facts({ fallback: true }))).toEqual({ ok: true });
  });

  it('an unreadable marker, a file as root, or a root that cannot be examined → unavailable', () => {
    expect(decideTarget(facts({ marker: { error: 'EIO' } })).ok).toBe(false);
    expect(decideTarget(facts({ rootState: 'not-directory' })).ok).toBe(false);
    expect(decideTarget(facts({ rootState: { error: 'ESTALE' } })).ok).toBe(false);
  });
});
