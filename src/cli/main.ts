/**
 * The `sluice` command. One file per command group registers its subcommands here.
 * Errors a person can fix are printed as `error: ...` plus a hint, never a stack trace;
 * usage and configuration errors exit with code 2.
 */
import { Command, CommanderError } from 'commander';
import { formatError, SluiceError } from '../core/errors.ts';
import { VERSION } from '../runtime/context.ts';
import { registerCleanupCommands } from './cleanup.ts';
import { registerConfigCommands } from './config.ts';
import { registerDbCommands } from './db.ts';
import { registerDemoCommand } from './demo.ts';
import { registerDoctorCommand } from './doctor.ts';
import { registerDrainCommands } from './drain.ts';
import { registerFileCommands } from './files.ts';
import { registerJobCommands } from './jobs.ts';
import { registerPoolCommands } from './pools.ts';
import { registerReconcileCommand } from './reconcile.ts';
import { registerStartCommand } from './start.ts';
import { registerStatusCommand } from './status.ts';
import { registerUserCommands } from './users.ts';
import { registerVarCommands } from './vars.ts';

export function buildProgram(): Command {
  const program = new Command('sluice')
    .description(
      'Moves raw data from scientific instruments to safe storage and analysis, and keeps a record of every file.',
    )
    .version(VERSION, '-V, --version')
    .option('-c, --config <path>', 'config file (default: $SLUICE_CONFIG or ./sluice.yaml)')
    .option(
      '-e, --env <name>',
      'environment overlay: local, sandbox or production (default: $SLUICE_ENV or local)',
    )
    .option('--log-level <level>', 'log level: fatal, error, warn, info, debug, trace, silent')
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError(true)
    .exitOverride();
  program.addHelpText(
    'after',
    `
Getting started:
  sluice demo                 run the demo (simulated instrument, whole pipeline, embedded database)
  sluice init                 write a commented starter sluice.yaml
  sluice config check         validate the config and print it resolved, secrets redacted
  sluice start                run workers (and the web server) for this machine
  sluice status               what runs where, pools, queues
  sluice doctor               check config, database, folders, cluster and secrets

Docs: README.md, docs/configuration.md, docs/failure-modes.md`,
  );
  registerDemoCommand(program);
  registerConfigCommands(program);
  registerDbCommands(program);
  registerFileCommands(program);
  registerCleanupCommands(program);
  registerJobCommands(program);
  registerVarCommands(program);
  registerPoolCommands(program);
  registerStartCommand(program);
  registerStatusCommand(program);
  registerDoctorCommand(program);
  registerDrainCommands(program);
  registerReconcileCommand(program);
  registerUserCommands(program);
  for (const cmd of program.commands) applyExitOverride(cmd);
  return program;
}

function applyExitOverride(cmd: Command): void {
  cmd.exitOverride();
  cmd.showHelpAfterError('(run with --help for usage)');
  for (const sub of cmd.commands) applyExitOverride(sub);
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = handleError(err);
  }
}

/** Prints an error for a person and returns the exit code. */
export function handleError(err: unknown): number {
  if (err instanceof CommanderError) {
    // help and version "errors" are normal exits; commander already printed the message
    if (
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      err.code === 'commander.help'
    )
      return 0;
    return 2;
  }
  if (err instanceof SluiceError) {
    process.stderr.write(`error: ${formatError(err)}\n`);
    return err.exitCode;
  }
  process.stderr.write(`error: ${formatError(err)}\n`);
  if (process.env.SLUICE_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
  else
    process.stderr.write(
      '  (an unexpected failure; run with SLUICE_DEBUG=1 for details, and please report it)\n',
    );
  return 1;
}
