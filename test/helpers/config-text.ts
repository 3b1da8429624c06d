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
 * every 0.2 s and stable after `stable` s (0.5 unless said); `acquisition` adds settings to its
 * `acquisition:` map (e.g. `main_file_timeout_seconds: 3`); `cleanup` enables the remover; `extra`
 * lines go in as they are (four-space indent, e.g. `move_after_backup: true`).
 */
export function instrumentYaml(
  root: string,
  o: {
    id?: string;
    type?: string;
    cleanup?: boolean;
    extra?: string[];
    stable?: number;
    acquisition?: string;
  } = {},
): string {
  const id = o.id ?? 'astral1';
  const acquisition = [
    `stable_window_seconds: ${o.stable ?? 0.5}`,
    ...(o.acquisition ? [o.acquisition] : []),
  ];
  return [
    `  ${id}:`,
    `    type: ${o.type ?? 'thermo'}`,
    `    watch: ${root}/${id}`,
    '    scan_interval_seconds: 0.2',
    ...(o.extra ?? []).map((l) => `    ${l}`),
    `    acquisition: { ${acquisition.join(', ')} }`,
    ...(o.cleanup ? ['    cleanup: { enabled: true }'] : []),
  ].join('\n');
}

/**
 * An `archive:` section with one filesystem target `lts` at `<root>/lts` (no free-space floor;
 * `target` adds settings to its map, e.g. `archive_size_mb: 1`) and one policy `all` onto it
 * (`policy` adds settings, e.g. `when: after_processing`); `lines` go under `archive:` as they are
 * (two-space indent, e.g. `fixity: { cycle_days: 0 }`).
 */
export function archiveYaml(
  root: string,
  o: { target?: string; policy?: string; lines?: string[] } = {},
): string {
  const more = (s?: string) => (s ? `, ${s}` : '');
  return [
    'archive:',
    '  targets:',
    `    - { name: lts, type: filesystem, path: ${root}/lts, min_free_share: 0${more(o.target)} }`,
    '  policies:',
    `    - { name: all, targets: [lts]${more(o.policy)} }`,
    ...(o.lines ?? []).map((l) => `  ${l}`),
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
