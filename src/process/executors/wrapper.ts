/**
 * The job wrapper: a POSIX sh script around the job's own script that records the job's start
 * and end in its work directory, so the outcome never depends on scheduler accounting:
 *
 *   .sluice-job.key / .sluice-job.id   written when the job starts (atomically: temp + mv)
 *   .sluice-job.sh                     the job's own script, run with its own shebang (or /bin/sh)
 *   .sluice-job.exit                   {"jobId","exitCode","signal","startTime","endTime"} at the end
 *
 * A SIGTERM/SIGINT/SIGHUP (cancel, time limit) is forwarded to the job and still recorded.
 * For local jobs the wrapper also enforces the time limit (watchdog → `.sluice-job.timeout`).
 */
import { randomBytes } from 'node:crypto';
import { quoteArg } from './quote.ts';

export const FILES = {
  log: 'job.log',
  key: '.sluice-job.key',
  id: '.sluice-job.id',
  exit: '.sluice-job.exit',
  script: '.sluice-job.sh',
  /** local only: the wrapper itself, and markers written on timeout / cancel */
  runner: '.sluice-job.run.sh',
  timeout: '.sluice-job.timeout',
  cancelled: '.sluice-job.cancelled',
} as const;

export interface ExitRecord {
  jobId: string;
  exitCode: number;
  signal?: string;
  startTime?: number;
  endTime?: number;
}

/** Parse the content of `.sluice-job.exit`; undefined when it is not a complete record. */
export function parseExitRecord(text: string | undefined): ExitRecord | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (typeof v.jobId !== 'string' || typeof v.exitCode !== 'number') return undefined;
    return {
      jobId: v.jobId,
      exitCode: v.exitCode,
      signal: typeof v.signal === 'string' && v.signal !== '' ? v.signal : undefined,
      startTime: typeof v.startTime === 'number' ? v.startTime : undefined,
      endTime: typeof v.endTime === 'number' ? v.endTime : undefined,
    };
  } catch {
    return undefined;
  }
}

/** The `#SBATCH` lines of the script's header (SLURM reads directives only before the first command). */
export function sbatchHeader(script: string): string[] {
  const out: string[] = [];
  const lines = script.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').replace(/\r$/, '');
    if (i === 0 && line.startsWith('#!')) continue;
    const t = line.trim();
    if (t === '') continue;
    if (!t.startsWith('#')) break;
    if (/^#SBATCH\s/.test(line)) out.push(line);
  }
  return out;
}

export interface WrapperOptions {
  key: string;
  workDir: string;
  script: string;
  /** 'slurm': id from $SLURM_JOB_ID; otherwise the local sequence number (id local-$$-N). */
  id: 'slurm' | { localSeq: number };
  /** local only: kill the job after this many seconds and record TIMEOUT. */
  timeLimitSeconds?: number;
}

export function renderWrapper(o: WrapperOptions): string {
  const body = o.script.endsWith('\n') ? o.script : `${o.script}\n`;
  let eof = `SLUICE_JOB_SCRIPT_${randomBytes(8).toString('hex')}`;
  while (body.split('\n').includes(eof)) eof = `SLUICE_JOB_SCRIPT_${randomBytes(8).toString('hex')}`;
  const idLine =
    o.id === 'slurm'
      ? // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
        'sluice_id="${SLURM_JOB_ID:-unknown}"'
      : `sluice_id="local-$$-${Math.trunc(o.id.localSeq)}"`;
  const run = o.script.startsWith('#!') ? `./${FILES.script}` : `/bin/sh ./${FILES.script}`;
  const limit = o.timeLimitSeconds && o.timeLimitSeconds > 0 ? Math.ceil(o.timeLimitSeconds) : 0;
  const watchdog =
    limit > 0
      ? [
          '# time limit: after the limit, mark TIMEOUT and terminate the whole process group',
          '(',
          `  trap 'kill "$sluice_sleep" 2>/dev/null; exit 0' TERM`,
          `  sleep ${limit} &`,
          '  sluice_sleep=$!',
          '  wait "$sluice_sleep"',
          "  trap '' TERM",
          `  printf '%s\\n' "$sluice_id" >${FILES.timeout}`,
          `  echo "sluice: time limit of ${limit} s reached; terminating the job" >&2`,
          '  kill -TERM 0',
          '  sleep 5',
          '  kill -KILL 0',
          ') &',
          'sluice_watchdog=$!',
        ]
      : [];
  return [
    '#!/bin/sh',
    ...(o.id === 'slurm' ? sbatchHeader(o.script) : []),
    '# Sluice job wrapper (generated). Runs the job script below in the work directory and records',
    '# the job id at the start and the exit status at the end in .sluice-job.exit, so the outcome is',
    '# known even when the scheduler has forgotten the job.',
    `sluice_wd=${quoteArg(o.workDir)}`,
    `sluice_key=${quoteArg(o.key)}`,
    idLine,
    'cd "$sluice_wd" || { echo "sluice: cannot enter the work directory $sluice_wd" >&2; exit 111; }',
    `rm -f ${FILES.exit} ${FILES.exit}.tmp ${FILES.timeout}`,
    `printf '%s\\n' "$sluice_key" >${FILES.key}.tmp && mv -f ${FILES.key}.tmp ${FILES.key}`,
    `printf '%s\\n' "$sluice_id" >${FILES.id}.tmp && mv -f ${FILES.id}.tmp ${FILES.id}`,
    'sluice_start=$(date +%s)',
    `cat >${FILES.script} <<'${eof}'`,
    `${body}${eof}`,
    `chmod 700 ${FILES.script}`,
    'sluice_signal=',
    'sluice_child=',
    'sluice_watchdog=',
    `trap 'sluice_signal=TERM; [ -n "$sluice_child" ] && kill -TERM "$sluice_child" 2>/dev/null' TERM`,
    `trap 'sluice_signal=INT; [ -n "$sluice_child" ] && kill -INT "$sluice_child" 2>/dev/null' INT`,
    `trap 'sluice_signal=HUP; [ -n "$sluice_child" ] && kill -HUP "$sluice_child" 2>/dev/null' HUP`,
    ...watchdog,
    `${run} </dev/null &`,
    'sluice_child=$!',
    'while :; do',
    '  wait "$sluice_child"',
    '  sluice_rc=$?',
    '  kill -0 "$sluice_child" 2>/dev/null || break',
    'done',
    '[ -n "$sluice_watchdog" ] && kill "$sluice_watchdog" 2>/dev/null',
    'sluice_end=$(date +%s)',
    `printf '{"jobId":"%s","exitCode":%d,"signal":"%s","startTime":%s,"endTime":%s}\\n' \\`,
    `  "$sluice_id" "$sluice_rc" "$sluice_signal" "$sluice_start" "$sluice_end" >${FILES.exit}.tmp &&`,
    `  mv -f ${FILES.exit}.tmp ${FILES.exit}`,
    'exit "$sluice_rc"',
    '',
  ].join('\n');
}
