import { describe, expect, it } from 'vitest';
import {
  decodeWaitStatus,
  mapSlurmState,
  parseScontrolJob,
  parseSlurmDuration,
  parseSqueue,
  statusFromExitRecord,
} from './slurm-parse.ts';
import { parseExitRecord, renderWrapper, sbatchHeader } from './wrapper.ts';

// Captured from `squeue --noheader --states=all -O SQUEUE_FORMAT` on slurm-wlm 22.05 (single node).
const SQUEUE_REAL = [
  '1|FAILED|NonZeroExitCode|0:00|768|k1',
  '2|CANCELLED|None|0:26|15|k2',
  '9|COMPLETED|None|0:00|0|smoke-b',
  '10|RUNNING|None|0:40|0|smoke-c',
  '11|TIMEOUT|TimeLimit|1:27|15|to-test',
  '12|PENDING|Resources|0:00|0|waiting',
  '5|FAILED|JobLaunchFailure|0:00|4021|sbatch',
  '',
].join('\n');

describe('squeue parsing', () => {
  it('maps real squeue output', () => {
    const m = parseSqueue(SQUEUE_REAL);
    expect(m.get('1')).toMatchObject({ state: 'FAILED', exitCode: 3, reason: 'NonZeroExitCode', name: 'k1' });
    expect(m.get('2')).toMatchObject({ state: 'CANCELLED', exitCode: 143, elapsedSeconds: 26 });
    expect(m.get('9')).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
    expect(m.get('10')).toMatchObject({ state: 'RUNNING', elapsedSeconds: 40 });
    expect(m.get('10')?.exitCode).toBeUndefined();
    expect(m.get('11')).toMatchObject({ state: 'TIMEOUT', exitCode: 143, elapsedSeconds: 87 });
    expect(m.get('11')?.reason).toMatch(/time limit/);
    expect(m.get('12')).toMatchObject({ state: 'PENDING', reason: 'Resources' });
    expect(m.get('5')).toMatchObject({ state: 'FAILED', reason: 'JobLaunchFailure: killed by signal 53' });
  });

  it('maps every SLURM state; unknown ones are UNKNOWN, never COMPLETED', () => {
    const cases: [string, string][] = [
      ['PENDING', 'PENDING'],
      ['CONFIGURING', 'PENDING'],
      ['RUNNING', 'RUNNING'],
      ['COMPLETING', 'RUNNING'],
      ['COMPLETED', 'COMPLETED'],
      ['FAILED', 'FAILED'],
      ['TIMEOUT', 'TIMEOUT'],
      ['OUT_OF_MEMORY', 'OUT_OF_MEMORY'],
      ['CANCELLED', 'CANCELLED'],
      ['CANCELLED by 0', 'CANCELLED'],
      ['CANCELLED+', 'CANCELLED'],
      ['NODE_FAIL', 'NODE_FAIL'],
      ['PREEMPTED', 'FAILED'],
      ['BOOT_FAIL', 'FAILED'],
      ['DEADLINE', 'FAILED'],
      ['CD', 'COMPLETED'],
      ['OOM', 'OUT_OF_MEMORY'],
      ['WEIRD_NEW_STATE', 'UNKNOWN'],
      ['', 'UNKNOWN'],
    ];
    for (const [raw, want] of cases) expect(mapSlurmState(raw).state, raw).toBe(want);
    expect(mapSlurmState('PREEMPTED').reason).toBe('preempted');
    expect(mapSlurmState('BOOT_FAIL').reason).toMatch(/boot/);
    expect(mapSlurmState('DEADLINE').reason).toMatch(/deadline/);
    expect(mapSlurmState('CANCELLED by 0').reason).toBe('cancelled by 0');
  });

  it('parses durations and wait statuses', () => {
    expect(parseSlurmDuration('0:00')).toBe(0);
    expect(parseSlurmDuration('1:27')).toBe(87);
    expect(parseSlurmDuration('02:03:04')).toBe(7384);
    expect(parseSlurmDuration('1-00:00:01')).toBe(86401);
    expect(parseSlurmDuration('INVALID')).toBeUndefined();
    expect(decodeWaitStatus(768)).toEqual({ exitCode: 3 });
    expect(decodeWaitStatus(15)).toEqual({ exitCode: 143, signal: 15 });
    expect(decodeWaitStatus(0)).toEqual({ exitCode: 0 });
  });

  it('parses real scontrol -o show job lines', () => {
    const line =
      'JobId=11 JobName=to-test UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901749 Nice=0 ' +
      'Account=(null) QOS=(null) JobState=TIMEOUT Reason=TimeLimit Dependency=(null) Requeue=1 Restarts=0 ' +
      'BatchFlag=1 Reboot=0 ExitCode=0:15 RunTime=00:01:27 TimeLimit=00:01:00 TimeMin=N/A';
    expect(parseScontrolJob(line)).toMatchObject({
      jobId: '11',
      name: 'to-test',
      state: 'TIMEOUT',
      exitCode: 143,
      elapsedSeconds: 87,
    });
    const failed =
      'JobId=1 JobName=k1 UserId=root(0) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) ExitCode=3:0 RunTime=00:00:00';
    expect(parseScontrolJob(failed)).toMatchObject({
      state: 'FAILED',
      exitCode: 3,
      reason: 'NonZeroExitCode',
    });
    const oom = 'JobId=7 JobName=x JobState=OUT_OF_MEMORY Reason=OutOfMemory ExitCode=0:125 RunTime=00:10:00';
    expect(parseScontrolJob(oom)).toMatchObject({ state: 'OUT_OF_MEMORY' });
    const nf = 'JobId=8 JobName=x JobState=NODE_FAIL Reason=NodeDown ExitCode=0:0 RunTime=00:10:00';
    expect(parseScontrolJob(nf)).toMatchObject({ state: 'NODE_FAIL' });
  });
});

describe('exit records', () => {
  it('exit 0 → COMPLETED, otherwise FAILED with the code; garbage is ignored', () => {
    const ok = parseExitRecord('{"jobId":"5","exitCode":0,"signal":"","startTime":100,"endTime":160}')!;
    expect(statusFromExitRecord('5', ok)).toEqual({
      jobId: '5',
      state: 'COMPLETED',
      exitCode: 0,
      elapsedSeconds: 60,
    });
    const bad = parseExitRecord('{"jobId":"5","exitCode":143,"signal":"TERM","startTime":1,"endTime":2}')!;
    expect(statusFromExitRecord('5', bad)).toMatchObject({ state: 'FAILED', exitCode: 143 });
    expect(statusFromExitRecord('5', bad).reason).toMatch(/SIGTERM/);
    const oom = parseExitRecord('{"jobId":"5","exitCode":137,"signal":""}')!;
    expect(statusFromExitRecord('5', oom).reason).toMatch(/SIGKILL/);
    expect(parseExitRecord('{"jobId":"5","exitCode":')).toBeUndefined();
    expect(parseExitRecord('')).toBeUndefined();
    expect(parseExitRecord('{"exitCode":0}')).toBeUndefined();
  });
});

describe('wrapper', () => {
  it('keeps the #SBATCH header first and the script byte for byte', () => {
    const script = '#!/bin/bash\n# comment\n#SBATCH --mem=1G\n\n#SBATCH -c 2\necho hi\n#SBATCH --ignored\n';
    expect(sbatchHeader(script)).toEqual(['#SBATCH --mem=1G', '#SBATCH -c 2']);
    const w = renderWrapper({ key: 'k', workDir: "/d/a b'c", script, id: 'slurm' });
    const lines = w.split('\n');
    expect(lines.slice(0, 3)).toEqual(['#!/bin/sh', '#SBATCH --mem=1G', '#SBATCH -c 2']);
    expect(w).toContain(script);
    expect(w).toContain(`sluice_wd='/d/a b'\\''c'`);
  });
});
