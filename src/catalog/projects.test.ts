import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../core/config/index.ts';
import { configProjects } from './projects.ts';

const config = (head: string) =>
  parseConfigText(
    `data_dir: /srv/sluice/data
backup: { path: /srv/sluice/backup }
${head}
instruments:
  astral1: { type: thermo, watch: /srv/astral1 }
`,
    '/srv/sluice/sluice.yaml',
  ).config;

describe("the config's projects", () => {
  it('gives each its visibility, default all, and adds the fallback project', () => {
    const c = config(`projects:
  PRJ1: { tokens: [prj1] }
  PRJ2: { tokens: [prj2], name: Second }
catalog: { project_visibility: { PRJ2: members } }`);
    expect(configProjects(c)).toEqual([
      { id: 'PRJ1', name: 'PRJ1', visibility: 'all' },
      { id: 'PRJ2', name: 'Second', visibility: 'members' },
      { id: '_unassigned', name: '_unassigned', visibility: 'all' },
    ]);
  });

  it('treats ids every object inherits as ordinary ids (constructor had a function as its visibility)', () => {
    const c = config(`fallback_project: toString
projects:
  constructor: { tokens: [ctor] }`);
    expect(configProjects(c)).toEqual([
      { id: 'constructor', name: 'constructor', visibility: 'all' },
      { id: 'toString', name: 'toString', visibility: 'all' },
    ]);
  });
});
