/**
 * Pieces of config text the pipeline tests share (with `createPipeline`, helpers/pipeline.ts): a
 * watched instrument with fast scans, the variables that let the remover act at once, and the config
 * of a `sluice start` worker that a test kills mid-copy.
 */

/** Variables for remover tests: any backed-up file may go at once, no dry run, never enough space. */
export const REMOVE_AT_ONCE =
  'variables: { min_file_age_days: 0, cleanup_dry_run: false, min_free_space_gb: 1000000000 }';

/**
 * An instrument entry under `instruments:` (two-space indent), watched at `<root>/<id>`, scanned
 * every 0.2 s and stable after 0.5 s; `cleanup` enables the remover; `extra` lines go in as they are
 * (four-space indent, e.g. `move_after_backup: true`).
 */
export function instrumentYaml(
  root: string,
  o: { id?: string; type?: string; cleanup?: boolean; extra?: string[] } = {},
): string {
  const id = o.id ?? 'astral1';
  return [
    `  ${id}:`,
    `    type: ${o.type ?? 'thermo'}`,
    `    watch: ${root}/${id}`,
    '    scan_interval_seconds: 0.2',
    ...(o.extra ?? []).map((l) => `    ${l}`),
    '    acquisition: { stable_window_seconds: 0.5 }',
    ...(o.cleanup ? ['    cleanup: { enabled: true }'] : []),
  ].join('\n');
}

/**
 * The config of a `sluice start` worker killed mid-copy (relative paths: it runs in the test's root):
 * a 5 s lease, so another worker takes the task over soon after the kill.
 */
export const KILLED_WORKER_CONFIG = `data_dir: ./data
worker: { lease_seconds: 5, heartbeat_seconds: 1, poll_seconds: 0.5 }
backup: { path: ./backup }
instruments:
  astral1:
    type: thermo
    watch: ./astral1
    scan_interval_seconds: 0.5
    acquisition: { stable_window_seconds: 1 }
`;

/** The `qc` setting's metrics read from the `stat.tsv` its template writes (first row). */
export const STAT_TSV_METRICS = 'metrics: { type: tsv, options: { file: stat.tsv, row: first } }';

/**
 * The `processing:` section of a test config with its one setting, `qc` (version 1), up to where the
 * caller goes on with `  assignments:`: the `executor` (local unless said), `head` lines under
 * `processing:` (two-space indent: `poll_seconds: 0.5`, `output_path: ./output`; `poll_seconds`
 * is 0.3 unless a head line sets it), `environment: "true"`, then the setting with `software`
 * (`sh`, version "1"; or `demo`, version "1.0"), `qc` lines as they are (six-space indent:
 * `resources`, `metrics`, `known_errors`) and the shell `template`, one line a line.
 */
export function qcProcessing(o: {
  executor?: 'local' | 'slurm';
  head?: readonly string[];
  software?: 'sh' | 'demo';
  qc?: readonly string[];
  template: string;
}): string {
  const head = o.head ?? [];
  const software = o.software ?? 'sh';
  return [
    'processing:',
    `  executor: ${o.executor ?? 'local'}`,
    ...(head.some((l) => l.startsWith('poll_seconds:')) ? [] : ['  poll_seconds: 0.3']),
    ...head.map((l) => `  ${l}`),
    '  environment: "true"',
    '  settings:',
    '    qc:',
    '      version: 1',
    `      software: ${software}`,
    `      software_version: "${software === 'sh' ? '1' : '1.0'}"`,
    ...(o.qc ?? []).map((l) => `      ${l}`),
    '      template: |',
    ...o.template.split('\n').map((l) => `        ${l}`),
  ].join('\n');
}

/** A `qc` line: the small resources the demo settings ask for. */
export const DEMO_RESOURCES = 'resources: { cpus: 1, memory_mb: 100, time_minutes: 5 }';

/** A `qc` line: the known error the demo templates raise for `*failknown*` files. */
export const KNOWN_NO_PRECURSORS =
  'known_errors: [{ pattern: "no precursors found", reason: "no identifiable peptides" }]';
