/**
 * Doctor check `mount`, per instrument: the watch folder is a mount point. A warning, not a failure,
 * unless the instrument sets `require_mount`. `judgeMount` decides; `checkMount` looks.
 */
import { isMountPoint } from '../../intake/scan.ts';
import { type CheckResult, fail, ok, warn } from './result.ts';

/** The row for instrument `id` watching `dir`, given whether `dir` is a mount point. */
export function judgeMount(id: string, dir: string, mounted: boolean, required: boolean): CheckResult {
  const target = `${id}: ${dir}`;
  if (mounted) return ok('mount', target, 'is a mount point');
  if (required)
    return fail(
      'mount',
      target,
      `is not a mount point, and instruments.${id}.require_mount is set: the instrument share is not mounted, so the instrument stays offline`,
      `mount the share at ${dir} (check /etc/fstab or the mount unit), then run sluice doctor again`,
    );
  return warn(
    'mount',
    target,
    'is not a mount point; if the instrument share should be mounted here, Sluice is watching the empty local folder',
    `set instruments.${id}.require_mount: true for a network share (then an unmounted share marks the instrument offline); ignore this for a local disk`,
  );
}

export async function checkMount(id: string, dir: string, required = false): Promise<CheckResult> {
  return judgeMount(id, dir, await isMountPoint(dir), required);
}
