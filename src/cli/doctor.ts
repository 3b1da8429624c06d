/**
 * `sluice doctor [--json]`: checks config, database, schema, clock skew, instrument folders, workers
 * for tagged instruments, backup and output paths, database backup strategies, the cluster and secret
 * files (src/ops/doctor.ts), prints one row per check and
 * exits 1 when any check fails (warnings exit 0). A broken config or a database that is down are
 * failing rows, not a crash.
 */
import type { Command } from 'commander';
import { createLogger } from '../core/log.ts';
import { type CheckResult, doctorExitCode, runChecks } from '../ops/doctor.ts';
import { loadAppConfig } from '../runtime/context.ts';
import { globals } from './context.ts';
import { printJson, printTable } from './output.ts';

export function renderDoctor(
  results: readonly CheckResult[],
  out: NodeJS.WritableStream = process.stdout,
): void {
  printTable(
    results.map((r) => ({
      status: r.status.toUpperCase(),
      check: r.check,
      target: r.target,
      detail: r.detail.replace(/\s*\n\s*/g, '; '),
    })),
    '(no checks ran)',
    out,
  );
  const hints = results.filter((r) => r.status !== 'ok' && r.hint);
  if (hints.length > 0) {
    out.write('\nWhat to do:\n');
    for (const r of hints) out.write(`  ${r.check} (${r.target}): ${r.hint}\n`);
  }
  const count = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  const fails = count('fail');
  const warns = count('warn');
  out.write(
    `\n${count('ok')} ok, ${warns} warning${warns === 1 ? '' : 's'}, ${fails} failure${fails === 1 ? '' : 's'}\n`,
  );
}

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'check config, database, schema, clock skew, instrument folders (mounted when required), workers for tagged instruments, backup/output paths, database backup strategies (location, newest backup), the cluster and secret files; exits 1 when a check fails',
    )
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const log = createLogger({ level: g.logLevel ?? 'warn' });
      const results = await runChecks({ loadConfig: () => loadAppConfig(g), log });
      if (opts.json) printJson({ ok: doctorExitCode(results) === 0, results });
      else renderDoctor(results);
      process.exitCode = doctorExitCode(results);
    });
}
