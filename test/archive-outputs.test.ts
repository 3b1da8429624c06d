/**
 * Archive policies with `what: [raw, outputs, metrics]` (issue #20 item 2) on real PostgreSQL, the
 * local executor, a real worker and a filesystem target: the processed set's raw data, its job's
 * output folder (hashed at pack time) and its metrics.json are packed into one archive, read back
 * verified, and a retrieval restores the outputs and metrics; a flipped byte in an output member is
 * caught by the fixity audit (the archive is condemned), and the corrupt tar is removed from the
 * target only after the set was packed again and verified there. Config refusals name the field.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeCoveredTars } from '../src/archive/condemned.ts';
import { runArchiveFixity } from '../src/archive/fixity.ts';
import { finishedJobs, metricsJson, waitFor as waitReason } from '../src/archive/pack-extras.ts';
import { archivePass } from '../src/archive/pass.ts';
import { getArchive, membersOf } from '../src/archive/repo.ts';
import { requestRetrieval } from '../src/archive/retrieve.ts';
import { getFetch } from '../src/archive/retrieve-repo.ts';
import { parseConfigText } from '../src/core/config/index.ts';
import { silentLogger } from '../src/core/log.ts';
import { setPoolSize } from '../src/engine/pools.ts';
import { jobsOf } from '../src/process/jobs.ts';
import { archivedItem } from './helpers/archive-fixture.ts';
import { archiveYaml, instrumentYaml, qcProcessing, STAT_TSV_METRICS } from './helpers/config-text.ts';
import { createPipeline, type Pipeline } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

const archiveOf = (root: string, what: string) =>
  `\n${archiveYaml(root, { policy: `when: after_processing, what: ${what}`, lines: ['fixity: { cycle_days: 0 }'] })}\n`;

const config = (root: string) => `
data_dir: ${root}/data
backup: { path: ${root}/backup }
projects: { PRJ: { tokens: [prj] } }
instruments:
${instrumentYaml(root)}
${qcProcessing({
  qc: [STAT_TSV_METRICS],
  template:
    "mkdir -p {{output_dir}}/sub && printf 'report' > {{output_dir}}/sub/report.txt && printf 'score\\tversion\\n42\\t1\\n' > {{output_dir}}/stat.tsv",
})}
  assignments:
    - settings: qc
      projects: ['*']
${archiveOf(root, '[raw, outputs, metrics]')}`;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function flipByte(file: string, at: number): Promise<void> {
  const fh = await open(file, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, at);
  b[0] = b[0]! ^ 0x10;
  await fh.write(b, 0, 1, at);
  await fh.close();
}

describe('archive what: [raw, outputs, metrics]', () => {
  it('packs outputs and metrics with the raw set, verifies, retrieves them, catches a flipped output byte and removes the corrupt tar only after the re-pack verified', async () => {
    p = await createPipeline(config);
    const id = 'prj_a.raw';
    await mkdir(path.join(p.root, 'lts'));
    await p.start();
    await writeFile(path.join(p.root, 'astral1', id), 'raw bytes');
    await p.waitStatus(id, 'done', 60_000);
    await p.db.tx((tx) => archivePass(tx, p!.config));
    const first = await archivedItem(p.db, id, { ms: 90_000 });
    const archiveId = first.archive_id!;

    const [job] = await jobsOf(p.db, id);
    const members = await membersOf(p.db, archiveId);
    expect(members.map((m) => [m.kind, m.path])).toEqual([
      ['raw', `data/astral1/${id}/${id}`],
      ...members
        .filter((m) => m.kind === 'output')
        .map((m) => ['output', `outputs/astral1/${id}/${job!.id}/${m.rel}`]),
      ['metrics', `metrics/astral1/${id}/metrics.json`],
    ]);
    const outRels = members.filter((m) => m.kind === 'output').map((m) => m.rel);
    expect(outRels).toEqual(expect.arrayContaining(['stat.tsv', 'sub/report.txt']));
    const stat = members.find((m) => m.rel === 'stat.tsv')!;
    expect(stat.job_row_id).toBe(job!.id);
    expect(stat.sha256).toBe(sha256(await readFile(path.join(job!.output_dir, 'stat.tsv'))));
    expect((await p.timeline(id)).join('\n')).toMatch(/archived to lts .*member\(s\) read back and verified/);

    // retrieval restores the outputs and the metrics, every member verified
    const r = await requestRetrieval(p.db, p.config, { files: [id], by: 'test' });
    const fetched = await waitFor('fetch verified', async () => {
      const f = await getFetch(p!.db, r.retrievals[0]!.fetch_id);
      if (f?.state === 'failed') throw new Error(`fetch failed: ${f.why}`);
      return f?.state === 'verified' ? f : undefined;
    });
    expect(r.retrievals[0]!.prefix).toBe(`data/astral1/${id}`);
    const out = path.join(fetched.path!, 'outputs', 'astral1', id, job!.id);
    expect(await readFile(path.join(out, 'sub/report.txt'), 'utf8')).toBe('report');
    const metrics = JSON.parse(
      await readFile(path.join(fetched.path!, 'metrics', 'astral1', id, 'metrics.json'), 'utf8'),
    );
    expect(metrics.metrics).toContainEqual({
      name: 'score',
      value: 42,
      unit: null,
      settings: 'qc',
      settings_version: 1,
      settings_hash: job!.settings_hash,
      job: job!.id,
    });

    // one byte of the output member flipped in the tar: the audit condemns the archive
    await setPoolSize(p.db, 'archive.write', 0, 'test');
    const arch = (await getArchive(p.db, archiveId))!;
    await flipByte(arch.location, Number(stat.data_offset) + 1);
    const bad = await runArchiveFixity(p.db, p.config, silentLogger);
    expect(bad).toMatchObject({ audited: 1, corrupt: 1 });
    expect((await getArchive(p.db, archiveId))?.state).toBe('corrupt');
    expect((await p.timeline(id)).join('\n')).toContain(`outputs/astral1/${id}/${job!.id}/stat.tsv`);
    // nothing verified elsewhere yet: the corrupt tar stays
    expect(await removeCoveredTars(p.db, p.config, silentLogger)).toBe(0);
    expect(existsSync(arch.location)).toBe(true);

    // packed again from the backup and the outputs, verified: then the corrupt tar goes
    await setPoolSize(p.db, 'archive.write', null, 'test');
    const again = await archivedItem(p.db, id, { notIn: archiveId, ms: 90_000 });
    const kinds = (await membersOf(p.db, again.archive_id!)).map((m) => m.kind);
    expect(kinds.filter((k) => k === 'output').length).toBe(outRels.length);
    await waitFor('corrupt tar removed', async () =>
      (await getArchive(p!.db, archiveId))?.tar_removed_at ? true : undefined,
    );
    expect(existsSync(arch.location)).toBe(false);
    expect(existsSync((await getArchive(p.db, again.archive_id!))!.location)).toBe(true);
    expect((await p.timeline(id)).join('\n')).toContain(`the corrupt archive ${archiveId}'s tar was removed`);
  });
});

describe('pack extras (pure) and the what: setting', () => {
  it('waits while processing has not ended; takes the latest successful job per folder; writes metrics.json', () => {
    expect(waitReason(['raw'], 'processing', [])).toBeUndefined();
    expect(waitReason(['raw', 'outputs'], 'backed_up', [])).toMatch(/processing has not finished/);
    expect(waitReason(['raw', 'outputs'], 'done', [{ id: '7', state: 'RUNNING' }])).toBe(
      'job 7 is still RUNNING',
    );
    expect(waitReason(['raw', 'outputs'], 'done', [{ id: '7', state: 'COMPLETED' }])).toBeUndefined();
    const jobs = [
      { id: '2', outcome: 'success' as const, output_dir: '/o/qc-v1' },
      { id: '10', outcome: 'success' as const, output_dir: '/o/qc-v1' },
      { id: '11', outcome: 'unknown_error' as const, output_dir: '/o/qc-v2' },
      { id: '3', outcome: 'success' as const, output_dir: '/o/x-v1' },
    ];
    expect(finishedJobs(jobs).map((j) => j.id)).toEqual(['3', '10']);
    const text = metricsJson(
      'f1',
      [{ settings_name: 'qc', settings_version: 1, name: 'n', value: 1, unit: 'ms', job_row_id: '3' }],
      new Map([['3', 'h']]),
    );
    expect(JSON.parse(text).metrics[0]).toEqual({
      name: 'n',
      value: 1,
      unit: 'ms',
      settings: 'qc',
      settings_version: 1,
      settings_hash: 'h',
      job: '3',
    });
  });

  it('refuses a what: without raw or with an unknown word, naming the field', () => {
    const parse = (what: string) =>
      parseConfigText(`data_dir: /tmp/x\n${archiveOf('/tmp/x', what)}`, '/tmp/x/sluice.yaml');
    expect(parse('raw').config.archive.policies[0]!.what).toEqual(['raw']);
    expect(parse('[raw, metrics, raw]').config.archive.policies[0]!.what).toEqual(['raw', 'metrics']);
    expect(() => parse('[outputs]')).toThrow(/archive\.policies\[0\]\.what: .*contains raw/s);
    expect(() => parse('[raw, logs]')).toThrow(/archive\.policies\[0\]\.what\[1\]: .*raw, outputs, metrics/s);
  });
});
