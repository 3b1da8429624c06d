/**
 * Processing re-runs (`sluice jobs rerun`, process/reruns.ts) on real PostgreSQL with the local
 * executor: files processed with settings v1, the settings raised to v2, a preview, a cancelled
 * re-run that creates nothing, and a re-run that gives every file a v2 job (version and hash
 * recorded) while the v1 jobs, outputs and metrics stay and the files stay done.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../src/core/errors.ts';
import { jobsOf } from '../src/process/jobs.ts';
import { outputDirFor } from '../src/process/paths.ts';
import {
  cancelProcessingRerun,
  previewProcessingRerun,
  startProcessingRerun,
} from '../src/process/reruns.ts';
import { getProcessingRerun, listProcessingReruns } from '../src/process/reruns-repo.ts';
import { settingsDefinition } from '../src/process/settings.ts';
import { instrumentYaml, qcProcessing, STAT_TSV_METRICS } from './helpers/config-text.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

const template = (v: number) => `printf 'score\\tversion\\n${v * 10}\\t${v}\\n' > {{output_dir}}/stat.tsv`;

const config = (root: string) => `
data_dir: ${root}/data
backup: { path: ${root}/backup }
projects: { PRJ: { tokens: [prj] } }
instruments:
${instrumentYaml(root)}
${qcProcessing({ qc: [STAT_TSV_METRICS], template: template(1) })}
  assignments:
    - settings: qc
      projects: ['*']
`;

const NAMES = ['prj_a.raw', 'prj_b.raw', 'prj_c.raw'];

async function metricsOf(pl: Pipeline, file: string) {
  return pl.db.query<{ settings_version: number; name: string; value: number }>(
    `select settings_version, name, value from metrics where file_id = $1 order by settings_version, name`,
    [file],
  );
}

describe('processing re-runs', () => {
  it('runs the new settings version over past files: preview, cancel, new jobs with version and hash, history kept', async () => {
    p = await createPipeline(config);
    for (const n of NAMES) await writeFile(path.join(p.root, 'astral1', n), `raw ${n}`);
    await p.start();
    for (const n of NAMES) await p.waitStatus(n, 'done', 60_000);
    await p.stop();

    // a new release: the settings go to version 2 (a new definition)
    const qc = p.config.processing.settings.qc!;
    qc.version = 2;
    qc.template = template(2);

    // refusals name what is wrong
    await expect(previewProcessingRerun(p.db, p.config, { settings: 'qc@1' })).rejects.toThrow(
      /settings: qc is at version 2 in the config, not 1/,
    );
    await expect(previewProcessingRerun(p.db, p.config, { settings: 'nope' })).rejects.toThrow(UsageError);
    await expect(previewProcessingRerun(p.db, p.config, {})).rejects.toThrow(/exactly one of --settings/);

    expect(await previewProcessingRerun(p.db, p.config, { settings: 'qc' })).toMatchObject({
      settings: [{ name: 'qc', version: 2 }],
      files: 3,
      jobs: 3,
    });
    expect(
      (await previewProcessingRerun(p.db, p.config, { current: true, since: new Date('2999-01-01') })).jobs,
    ).toBe(0);
    expect((await previewProcessingRerun(p.db, p.config, { current: true, project: 'OTHER' })).jobs).toBe(0);

    // a re-run cancelled before its task ran creates nothing
    const cancelled = await startProcessingRerun(p.db, p.config, { settings: 'qc', actor: 'alice' });
    expect(cancelled).toMatchObject({ status: 'running', files: 3, total: 3, done: 0 });
    expect((await cancelProcessingRerun(p.db, cancelled.id, 'bob')).cancelled_by).toBe('bob');
    await expect(cancelProcessingRerun(p.db, cancelled.id, 'bob')).rejects.toThrow(/cancelled already/);

    await p.start(); // syncSettings records v2
    const run = await startProcessingRerun(p.db, p.config, { settings: 'qc@2', actor: 'alice' });
    const hash = (await settingsDefinition(qc)).hash;
    expect(run.settings).toEqual([{ name: 'qc', version: 2, hash }]);
    await waitFor(
      'the re-run done and its jobs final',
      async () => {
        const [row] = (await listProcessingReruns(p!.db, 10)).filter((r) => r.id === run.id);
        return row?.status === 'done' && row.active === 0 ? row : undefined;
      },
      60_000,
    );
    expect(await getProcessingRerun(p.db, run.id)).toMatchObject({ done: 3, total: 3, status: 'done' });

    for (const n of NAMES) {
      const f = (await p.file(n))!;
      expect(f.status).toBe('done'); // a re-run does not move the file
      const jobs = await jobsOf(p.db, n);
      expect(jobs.map((j) => [j.settings_version, j.state, j.outcome, j.rerun_id])).toEqual([
        [1, 'COMPLETED', 'success', null],
        [2, 'COMPLETED', 'success', run.id],
      ]);
      expect(jobs[1]!.settings_hash).toBe(hash);
      expect(jobs[0]!.settings_hash).not.toBe(hash);
      expect(await metricsOf(p, n)).toEqual([
        { settings_version: 1, name: 'score', value: 10 },
        { settings_version: 1, name: 'version', value: 1 },
        { settings_version: 2, name: 'score', value: 20 },
        { settings_version: 2, name: 'version', value: 2 },
      ]);
      for (const v of [1, 2]) {
        const out = await readFile(path.join(outputDirFor(p.config, f, 'qc', v), 'stat.tsv'), 'utf8');
        expect(out).toContain(`\t${v}\n`);
      }
      expect((await p.timeline(n)).join('\n')).toContain(
        `re-processing with qc v2 (re-run ${run.id}, requested by alice)`,
      );
    }
    // the cancelled one made no job; nothing is left to re-run at v2
    expect(await p.db.query('select id from jobs where rerun_id = $1', [cancelled.id])).toEqual([]);
    expect((await previewProcessingRerun(p.db, p.config, { settings: 'qc' })).jobs).toBe(0);
    expect(existsSync(outputDirFor(p.config, { id: 'prj_a.raw', project_id: 'PRJ' }, 'qc', 2))).toBe(true);
  });
});
