/**
 * Doctor check `free space`, per instrument: at least `min_free_space_gb` free (only with cleanup
 * enabled: the minimum is what the remover aims for). `judgeFreeSpace` decides; `checkFreeSpace`
 * asks the filesystem; `minFreeGb` finds the minimum that applies and where it is set.
 */
import type { Config } from '../../core/config/index.ts';
import { ownEntry } from '../../core/own.ts';
import { type Variables, variableDefs } from '../../core/variables.ts';
import { freeSpace } from '../../intake/scan.ts';
import { type CheckResult, GB, ok, warn } from './result.ts';

/** The row for `target` with `space` on its filesystem and the minimum `minGb` (set at `source`). */
export function judgeFreeSpace(
  target: string,
  space: { freeBytes: number; totalBytes: number },
  minGb: number,
  source: string,
  cleanupEnabled: boolean,
): CheckResult {
  const { freeBytes, totalBytes } = space;
  const free = `${(freeBytes / GB).toFixed(1)} GB free of ${(totalBytes / GB).toFixed(1)} GB`;
  // the minimum is what the remover frees space towards: without cleanup it means nothing here
  if (!cleanupEnabled)
    return ok('free space', target, `${free} (cleanup disabled: ${source} does not apply)`);
  const detail = `${free} (${source} ${minGb} GB)`;
  if (freeBytes < minGb * GB) {
    return warn(
      'free space',
      target,
      `${detail}: below the minimum`,
      'free space on the instrument (enable cleanup once backups verify), or lower the minimum',
    );
  }
  return ok('free space', target, detail);
}

export async function checkFreeSpace(
  id: string,
  dir: string,
  minGb: number,
  source: string,
  statfs: (dir: string) => Promise<{ freeBytes: number; totalBytes: number }> = freeSpace,
  cleanupEnabled = true,
): Promise<CheckResult> {
  return judgeFreeSpace(`${id}: ${dir}`, await statfs(dir), minGb, source, cleanupEnabled);
}

/**
 * The minimum free space for instrument `id`: its own `cleanup.min_free_space_gb`, else the variable
 * (from the database when it is usable, else from the config file, else its default).
 */
export async function minFreeGb(
  config: Config,
  id: string,
  vars: Variables | undefined,
): Promise<{ gb: number; source: string }> {
  const own = ownEntry(config.instruments, id)?.cleanup.min_free_space_gb;
  if (own !== undefined) return { gb: own, source: `instruments.${id}.cleanup.min_free_space_gb` };
  if (vars) {
    try {
      return { gb: await vars.get('min_free_space_gb'), source: 'min_free_space_gb' };
    } catch {
      // database not usable: fall back to the file
    }
  }
  return {
    gb: config.variables.min_free_space_gb ?? variableDefs.min_free_space_gb.default,
    source: 'min_free_space_gb',
  };
}
