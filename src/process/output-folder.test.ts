import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { judgeJobProcess } from './executors/local.ts';
import { createOwnedFolder, newOwner, OWNER_FILE, outputAction, readOwner } from './output-folder.ts';

const owner = newOwner({ fileId: 'f.raw', jobKey: 'k1', taskId: '7', token: '3', attempt: 2 });
const base = {
  exists: true,
  preparedOnly: false,
  owner,
  notThisJob: false,
  jobKey: 'k1',
  fileId: 'f.raw',
  taskId: '7',
};

describe('what the submit step does with an output folder', () => {
  it('creates a missing one; reuses its own; leaves any other to output_exists_mode', () => {
    expect(outputAction({ ...base, exists: false })).toBe('create');
    expect(outputAction(base)).toBe('reuse');
    expect(outputAction({ ...base, owner: undefined, preparedOnly: true })).toBe('reuse');
    expect(outputAction({ ...base, owner: undefined })).toBe('exists'); // made by someone else
    expect(outputAction({ ...base, jobKey: 'k2' })).toBe('exists'); // an earlier job's, not this one's
    expect(outputAction({ ...base, fileId: 'g.raw' })).toBe('exists');
    // the same job key made by another instance (its own task 7), whose manifest is not this job's
    expect(outputAction({ ...base, notThisJob: true })).toBe('exists');
    expect(outputAction({ ...base, notThisJob: true, preparedOnly: true })).toBe('exists');
    expect(outputAction({ ...base, taskId: '8' })).toBe('exists');
  });
});

describe('an owned output folder', () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const r of roots) await rm(r, { recursive: true, force: true });
  });

  it('appears with its owner record and files, and replaces left-overs of the same job', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'sluice-owned-'));
    roots.push(root);
    const out = path.join(root, 'P', 'f.raw', 'qc-v1');
    // a temp folder an earlier attempt of this job left behind, and one of another job
    const { mkdir, writeFile } = await import('node:fs/promises');
    const stale = `${out}.sluice-new-7-2`;
    const foreign = `${out}.sluice-new-9-1`;
    for (const [d, key] of [
      [stale, 'k1'],
      [foreign, 'other'],
    ] as const) {
      await mkdir(d, { recursive: true });
      await writeFile(path.join(d, OWNER_FILE), JSON.stringify({ ...owner, job_key: key }));
    }
    await createOwnedFolder(out, owner, [{ name: 'a.json', text: '{}\n' }]);
    expect(await readOwner(out)).toEqual(owner);
    expect(await readFile(path.join(out, 'a.json'), 'utf8')).toBe('{}\n');
    expect((await readdir(path.dirname(out))).sort()).toEqual(['qc-v1', 'qc-v1.sluice-new-9-1']);
    // a folder that appeared meanwhile is not replaced
    await writeFile(path.join(out, 'theirs.txt'), 'x');
    await expect(createOwnedFolder(out, { ...owner, token: '4' }, [])).rejects.toMatchObject({
      code: 'process.output_appeared',
    });
    expect(await readFile(path.join(out, 'theirs.txt'), 'utf8')).toBe('x');
  });
});

describe('is a local job alive, seen from here', () => {
  const here = { host: 'h1', bootId: 'b1', pidNs: 'pid:[1]' };
  const rec = { jobId: 'local-5-1', ...here, pid: 5, start: '100', deadline: 1000 };
  it('same host, boot and namespace: by the start time of the pid', () => {
    expect(judgeJobProcess(rec, here, '100', 0)).toBe('alive');
    expect(judgeJobProcess(rec, here, '101', 0)).toBe('gone');
    expect(judgeJobProcess(rec, here, null, 0)).toBe('gone');
  });
  it('the host rebooted since: gone; another host or namespace: elsewhere until the deadline', () => {
    expect(judgeJobProcess({ ...rec, bootId: 'b0' }, here, '100', 0)).toBe('gone');
    expect(judgeJobProcess({ ...rec, host: 'h2' }, here, null, 999)).toBe('elsewhere');
    expect(judgeJobProcess({ ...rec, pidNs: 'pid:[2]' }, here, null, 999)).toBe('elsewhere');
    expect(judgeJobProcess({ ...rec, host: 'h2' }, here, null, 1001)).toBe('gone');
    expect(judgeJobProcess({ ...rec, host: 'h2', deadline: null }, here, null, 1e12)).toBe('elsewhere');
  });
});
