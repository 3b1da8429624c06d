/** The processing re-run's decisions: settings chosen, jobs per file, drift of the config. */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../core/config/index.ts';
import { chooseRerunSettings, jobsForFile, settingsDrift } from './rerun-plan.ts';

const settings = (v: number) =>
  `{ version: ${v}, software: sh, software_version: "1", template: "true", params: { x: 1 } }`;
const { config } = parseConfigText(
  `data_dir: /tmp/d
backup: { path: /tmp/b }
instruments:
  astral1: { type: thermo, watch: /tmp/a1 }
  tims1: { type: bruker, watch: /tmp/t1 }
processing:
  executor: local
  settings: { qc: ${settings(3)}, dia: ${settings(1)} }
  assignments:
    - { settings: qc, projects: ['*'] }
    - { settings: dia, projects: ['*'], instrument: tims1, params: { x: 2 } }
`,
  '/tmp/sluice.yaml',
);
const file = (id: string, instrument_id: string) => ({ id, name: id, project_id: 'P', instrument_id });

describe('processing re-run plan', () => {
  it('chooses one settings entry (at the version in the config) or every one', () => {
    expect(chooseRerunSettings(config, { settings: 'qc' })).toEqual([{ name: 'qc', version: 3 }]);
    expect(chooseRerunSettings(config, { settings: 'qc@3' })).toEqual([{ name: 'qc', version: 3 }]);
    expect(chooseRerunSettings(config, { current: true })).toEqual([
      { name: 'dia', version: 1 },
      { name: 'qc', version: 3 },
    ]);
    expect(() => chooseRerunSettings(config, { settings: 'qc@2' })).toThrow(
      'settings: qc is at version 3 in the config, not 2',
    );
    expect(() => chooseRerunSettings(config, { settings: 'x' })).toThrow(/expected one of dia, qc/);
    expect(() => chooseRerunSettings(config, { settings: 'qc', current: true })).toThrow(/exactly one/);
    expect(() => chooseRerunSettings(config, {})).toThrow(/exactly one/);
    // names every object inherits are not settings entries (a fuzzed request's __proto__ was a 500)
    for (const name of ['__proto__', 'constructor', 'toString'])
      expect(() => chooseRerunSettings(config, { settings: name })).toThrow(/unknown processing settings/);
  });

  it('gives a file the chosen settings that apply to it and that it has no job at', () => {
    const all = chooseRerunSettings(config, { current: true });
    expect(jobsForFile(config, all, file('a', 'astral1'), new Set())).toEqual([
      { name: 'qc', version: 3, params: { x: 1 } },
    ]);
    expect(jobsForFile(config, all, file('t', 'tims1'), new Set()).map((j) => [j.name, j.params])).toEqual([
      ['dia', { x: 2 }],
      ['qc', { x: 1 }],
    ]);
    expect(jobsForFile(config, all, file('t', 'tims1'), new Set(['t/qc/3'])).map((j) => j.name)).toEqual([
      'dia',
    ]);
    expect(jobsForFile(config, [{ name: 'qc', version: 2 }], file('a', 'astral1'), new Set())).toEqual([]);
  });

  it('notices settings that left the config or changed version since the re-run started', () => {
    expect(settingsDrift(config, [{ name: 'qc', version: 3 }])).toBeUndefined();
    expect(settingsDrift(config, [{ name: 'qc', version: 2 }])).toMatch(/changed from version 2 to 3/);
    expect(settingsDrift(config, [{ name: 'gone', version: 1 }])).toMatch(/no longer in the config/);
  });
});
