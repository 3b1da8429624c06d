/**
 * The instance mode (`instance.mode`, or `sluice start --fallback`).
 *
 * A fallback instance is an independent Sluice with its own database that stands in while the main
 * instance is down: it scans the same instrument folders, writes the same backup layout and the same
 * processing outputs, and NEVER moves or removes instrument data — the main instance, when it
 * returns, still finds every file where the instrument wrote it, associates the fallback's backups
 * (hash verified) and outputs (by job key, see src/process/job-manifest.ts), and only then cleans up.
 */
import path from 'node:path';
import type { Config } from './config/index.ts';
import type { InstanceMode } from './config/schema/instance.ts';
import { ConfigError } from './errors.ts';

export type { InstanceMode };

export function isFallback(config: Pick<Config, 'instance'>): boolean {
  return config.instance.mode === 'fallback';
}

/** Why instrument data stays where it is on a fallback instance (logs, timelines, reports). */
export const FALLBACK_KEEPS_DATA =
  'this is a fallback instance (instance.mode fallback): instrument data is never moved or removed here; the main instance cleans up after it catches up';

/** The config with the mode forced (`sluice start --fallback`). */
export function withInstanceMode(config: Config, mode: InstanceMode): Config {
  return { ...config, instance: { ...config.instance, mode } };
}

/**
 * A fallback instance must write where the main instance looks: a backup area or output folder
 * inside its own data directory (the defaults) would be private to it, and the main instance would
 * copy and process everything again. Refused at start with what to set.
 */
export function assertSharedLocations(config: Config): void {
  if (!isFallback(config)) return;
  const inside = (p: string) => {
    const rel = path.relative(path.resolve(config.data_dir), path.resolve(p));
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  };
  for (const [field, p] of [
    ['backup.path', config.backup.path],
    ['processing.output_path', config.processing.output_path],
  ] as const) {
    if (p && inside(p)) {
      throw new ConfigError(
        `${field}: a fallback instance must use the main instance's location, found ${p} inside its own data_dir ${config.data_dir}`,
        `set ${field} to the same absolute path as in the main instance's config (docs/fallback.md)`,
      );
    }
  }
}
