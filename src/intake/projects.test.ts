import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import { assignProject, nameTokens, projectMatcher } from './projects.ts';

const projects = [
  { id: 'ALPHA', tokens: ['alp', 'A1'] },
  { id: 'BETA', tokens: ['bt'] },
  { id: 'GAMMA', tokens: ['bt', 'gm'] }, // 'bt' is also BETA's: BETA is listed first
];

describe('assignProject', () => {
  it('splits on _ - . and spaces, without the extension', () => {
    expect(nameTokens('20240101_ALPHA-s1.rep 2.raw')).toEqual(['20240101', 'ALPHA', 's1', 'rep', '2']);
    expect(nameTokens('x__y.d')).toEqual(['x', 'y']);
    expect(nameTokens('noext')).toEqual(['noext']);
  });

  it('matches ids and tokens ignoring case', () => {
    expect(assignProject('20240101_alpha_s1.raw', projects, 'UNASSIGNED')).toBe('ALPHA');
    expect(assignProject('20240101_A1_s1.raw', projects, 'UNASSIGNED')).toBe('ALPHA');
    expect(assignProject('run-GM-7.wiff', projects, 'UNASSIGNED')).toBe('GAMMA');
    expect(assignProject('grid 3 Beta.d', projects, 'UNASSIGNED')).toBe('BETA');
  });

  it('the first matching token in the name wins when several projects match', () => {
    expect(assignProject('x_BETA_ALPHA.raw', projects, 'U')).toBe('BETA');
    expect(assignProject('x_ALPHA_BETA.raw', projects, 'U')).toBe('ALPHA');
    expect(assignProject('gm_alp.raw', projects, 'U')).toBe('GAMMA');
  });

  it('a token shared by two projects goes to the project listed first', () => {
    expect(assignProject('x_bt.raw', projects, 'U')).toBe('BETA');
  });

  it('whole tokens only, never substrings or the extension', () => {
    expect(assignProject('alphabet_1.raw', projects, 'U')).toBe('U');
    expect(assignProject('x_1.alpha', projects, 'U')).toBe('U');
    expect(assignProject('x.raw', [{ id: 'raw', tokens: [] }], 'U')).toBe('U');
  });

  it('falls back when nothing matches or there are no projects', () => {
    expect(assignProject('20240101_s1.raw', projects, 'UNASSIGNED')).toBe('UNASSIGNED');
    expect(assignProject('a_b.raw', [], 'UNASSIGNED')).toBe('UNASSIGNED');
  });

  it('rejects tokens that contain a separator; ids with one match through their tokens', () => {
    expect(() => projectMatcher([{ id: 'P', tokens: ['AB-12'] }])).toThrow(ConfigError);
    expect(() => projectMatcher([{ id: 'P', tokens: ['AB-12'] }])).toThrow(/project P: token "AB-12"/);
    expect(assignProject('x_PRJ_1.raw', [{ id: 'PRJ-1', tokens: ['prj1'] }], 'U')).toBe('U');
    expect(assignProject('x_prj1.raw', [{ id: 'PRJ-1', tokens: ['prj1'] }], 'U')).toBe('PRJ-1');
  });
});
