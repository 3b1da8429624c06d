/**
 * The instance mode (`instance.mode`, or `sluice start --fallback`).
 *
 * A fallback instance is an independent Sluice with its own database that stands in while the main
 * instance is down: it scans the same instrument folders, writes the same backup layout and the same
 * processing outputs, and NEVER moves or removes instrument data — the main instance, when it
 * returns, still finds every file where the instrument wrote it, associates the fallback's backups
 * (hash verified) and outputs (by job key, see src/process/job-manifest.ts), and only then cleans up.
 */
import type { Config } from './config/index.ts';
import type { InstanceMode } from './config/schema/instance.ts';

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
