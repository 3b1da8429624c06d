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
