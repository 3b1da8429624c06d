/**
 * The `sluice` command. One file per command group registers its subcommands here.
 * Errors a person can fix are printed as `error: ...` plus a hint, never a stack trace;
 * usage and configuration errors exit with code 2.
 */
import { Command, CommanderError, Help, Option } from 'commander';
import { formatError, SluiceError, UsageError } from '../core/errors.ts';
import { LOG_LEVELS } from '../core/log-levels.ts';
import { VERSION } from '../core/version.ts';
import { visibleLines } from '../core/visible.ts';
import { COMMAND_SUMMARY } from './summary.ts';

type Register = (program: Command) => void;

/**
 * Which module registers which top-level commands. A command loads only its own module (and
 * what that imports): `sluice files list` does not load the web server, the S3, SSH and mail
 * clients that `start` needs. Measured on the busy 2-core machine: importing every command took
 * 5.4 s, the `files` commands alone 1.3 s. `help <cmd>` loads that command's module; `--help`,
 * `--version` and no command load none (they print ./summary.ts); unknown commands load them all.
 */
const COMMANDS: readonly (readonly [names: readonly string[], load: () => Promise<Register>])[] = [
  [['demo'], async () => (await import('./demo.ts')).registerDemoCommand],
  [['init', 'config'], async () => (await import('./config.ts')).registerConfigCommands],
  [['db'], async () => (await import('./db.ts')).registerDbCommands],
  [['files', 'backup'], async () => (await import('./files.ts')).registerFileCommands],
  [['cleanup'], async () => (await import('./cleanup.ts')).registerCleanupCommands],
  [['jobs'], async () => (await import('./jobs.ts')).registerJobCommands],
  [['vars'], async () => (await import('./vars.ts')).registerVarCommands],
  [['pools'], async () => (await import('./pools.ts')).registerPoolCommands],
  [['start'], async () => (await import('./start.ts')).registerStartCommand],
  [['status'], async () => (await import('./status.ts')).registerStatusCommand],
  [['doctor'], async () => (await import('./doctor.ts')).registerDoctorCommand],
  [['drain', 'undrain'], async () => (await import('./drain.ts')).registerDrainCommands],
  [['reconcile'], async () => (await import('./reconcile.ts')).registerReconcileCommand],
  [['users'], async () => (await import('./users.ts')).registerUserCommands],
  [['streams'], async () => (await import('./streams.ts')).registerStreamCommands],
  [['units', 'items'], async () => (await import('./units.ts')).registerUnitCommands],
  [['projects', 'samples', 'search'], async () => (await import('./samples.ts')).registerCatalogCommands],
  [['datasets'], async () => (await import('./datasets.ts')).registerDatasetCommands],
  [['archive'], async () => (await import('./archive.ts')).registerArchiveCommands],
  [['retrieve'], async () => (await import('./retrieve.ts')).registerRetrieveCommand],
  [['qc'], async () => (await import('./qc.ts')).registerQcCommands],
];

/** Global options that take a value (the value is not the command's name). */
const GLOBAL_VALUE_OPTIONS = new Set(['-c', '--config', '-e', '--env', '--log-level']);

/**
 * The command named in `args` (after node and the script), e.g. `files` in `-c x.yaml files list`
 * and in `help files`; undefined for none (`--help`, `--version`, `help`).
 */
export function requestedCommand(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return args[i + 1];
    if (GLOBAL_VALUE_OPTIONS.has(a)) i++;
    else if (a === 'help') return args.slice(i + 1).find((b) => !b.startsWith('-'));
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/** The names every module registers, in order (for tests: the table above matches the commands). */
export const COMMAND_NAMES: readonly string[] = COMMANDS.flatMap(([names]) => names);

/** The `sluice` program with the commands of `only` (a top-level command name), or all of them. */
export async function buildProgram(only?: string): Promise<Command> {
  const program = baseProgram();
  const mine = COMMANDS.filter(([names]) => only !== undefined && names.includes(only));
  for (const [, load] of mine.length > 0 ? mine : COMMANDS) (await load())(program);
  for (const cmd of program.commands) applyExitOverride(cmd);
  return program;
}

/**
 * The `sluice` program for `--help`, `--version` and no command: every top-level command listed
 * from ./summary.ts, none loaded (they have nothing to run; a named command uses buildProgram).
 */
export function summaryProgram(): Command {
  const program = baseProgram();
  const terms = new Map<string, string>();
  for (const [term, description] of COMMAND_SUMMARY) {
    const name = term.split(' ')[0]!;
    terms.set(name, term);
    program.command(name).description(description);
  }
  program.configureHelp({
    subcommandTerm(this: Help, cmd: Command) {
      return terms.get(cmd.name()) ?? Help.prototype.subcommandTerm.call(this, cmd);
    },
  });
  for (const cmd of program.commands) applyExitOverride(cmd);
  return program;
}

/** The program with its global options and help text, before any command is added. */
function baseProgram(): Command {
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
    .addOption(
      new Option(
        '--log-level <level>',
        'log level (default: log.level for start and demo, warn for other commands)',
      ).choices(LOG_LEVELS),
    )
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .hook('preAction', checkLogLevelEnv);
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
  return program;
}

/** SLUICE_LOG_LEVEL is the logger's fallback level (core/log.ts): refuse a bad one before it is used. */
function checkLogLevelEnv(): void {
  const raw = process.env.SLUICE_LOG_LEVEL;
  if (raw === undefined || raw === '' || (LOG_LEVELS as readonly string[]).includes(raw)) return;
  throw new UsageError(
    `SLUICE_LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}, found '${raw}'`,
    `set SLUICE_LOG_LEVEL to one of ${LOG_LEVELS.join(', ')}, or unset it`,
  );
}

/**
 * A reader that stops early (`sluice files list | head -1`) closes the pipe: further output is
 * dropped and the command ends as usual (as `ls | head` does), instead of an unhandled EPIPE
 * crash. Long-running commands (start, demo) get the SIGTERM they would get from Ctrl-C.
 */
function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    if (process.listenerCount('SIGTERM') > 0) process.emit('SIGTERM', 'SIGTERM');
  });
}

function applyExitOverride(cmd: Command): void {
  cmd.exitOverride();
  cmd.showHelpAfterError('(run with --help for usage)');
  for (const sub of cmd.commands) applyExitOverride(sub);
}

export async function main(argv: string[]): Promise<void> {
  quietOnClosedPipe(process.stdout);
  const only = requestedCommand(argv.slice(2));
  const program = only === undefined ? summaryProgram() : await buildProgram(only);
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
  // a message may quote a name or an argument: no control sequence reaches the terminal
  const text = visibleLines(formatError(err));
  if (err instanceof SluiceError) {
    process.stderr.write(`error: ${text}\n`);
    return err.exitCode;
  }
  process.stderr.write(`error: ${text}\n`);
  if (process.env.SLUICE_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
  else
    process.stderr.write(
      '  (an unexpected failure; run with SLUICE_DEBUG=1 for details, and please report it)\n',
    );
  return 1;
}
