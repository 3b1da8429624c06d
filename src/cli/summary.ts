/**
 * The top-level commands as `sluice --help` lists them, written out so that the help (and
 * `--version`) answer without importing every command module and what they import (the config
 * schema, the database, the web server, the S3, SSH and mail clients). main.test.ts checks that this
 * list prints exactly what the registered commands print: a command added or reworded there fails
 * the test until it is added or reworded here.
 */

/** [the term shown (name, `[options]`, arguments), the description], in registration order. */
export const COMMAND_SUMMARY: readonly (readonly [term: string, description: string])[] = [
  [
    'demo [options]',
    'run the demo: a simulated instrument, intake, verified backup and processing, on an embedded database',
  ],
  [
    'init [options]',
    'write a commented starter config to --output, else to --config / $SLUICE_CONFIG, else ./sluice.yaml',
  ],
  ['config', 'configuration file commands'],
  ['db', 'database commands'],
  ['files', 'raw data files: list, timeline, retry, ignore'],
  ['backup', 'backup actions'],
  ['cleanup', 'instrument disks: what the remover would delete, checked against the backups'],
  ['jobs', 'processing jobs on SLURM or the local executor'],
  ['vars', 'runtime variables: defaults from the config file, overrides in the database (audited)'],
  ['pools', 'named limits on concurrent work across all machines'],
  ['start [options]', "run this machine's part of Sluice: workers that claim tasks, and/or the web server"],
  [
    'status [options]',
    "live processes with their last heartbeat, pools used/size, queue depth and oldest waiting task per kind, each backup target's progress (copied, queued/running, failing), sample changes the catalog search index has still to take",
  ],
  [
    'doctor [options]',
    'check config, database, schema, clock skew, instrument folders (mounted when required), workers for tagged instruments, backup/output paths, database backup strategies (location, newest backup), the cluster and secret files; exits 1 when a check fails',
  ],
  [
    'drain [options]',
    'stop starting new work on every machine (all pools to 0) and wait until running work has finished',
  ],
  ['undrain', 'resume work: every pool back to its configured size (runtime overrides are removed)'],
  [
    'reconcile [options]',
    'after a fallback instance ran: backups and outputs found in place and associated, files stopped on a mismatch, work still under way',
  ],
  ['users', 'users of the web server and API (roles viewer, operator, admin) and API tokens'],
  ['streams', 'event streams consumed from NATS JetStream'],
  ['units', 'stream units (filter, compute, reaction) and their re-runs'],
  ['items', 'stream items with their results (history kept)'],
  ['projects', 'catalog projects (from the config, or added) and their members'],
  ['samples', 'catalog samples: import from CSV/XLSX, list, show, link to raw data'],
  ['search [options] <term>', 'search sample refcodes, names and attributes, file names and projects'],
  ['datasets', 'catalog data sets: named collections of samples and raw data, RO-Crate export'],
  ['archive', 'archives on long-term storage: list, show one with its members, run the policy pass'],
  [
    'retrieve [options] [files...]',
    'bring archived sets back into the retrieval area, restored, downloaded and verified',
  ],
  ['qc', 'QC metrics: export as mzQC'],
];
