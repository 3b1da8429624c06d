/** Doctor check `watch folder`, per instrument: the folder exists, is a directory and can be listed. */
import { promises as fsp } from 'node:fs';
import { errorMessage } from '../../core/errors.ts';
import { type CheckResult, fail, ok } from './result.ts';

/** The watch folder exists, is a directory and can be listed. */
export async function checkWatchFolder(id: string, dir: string): Promise<CheckResult> {
  const target = `${id}: ${dir}`;
  const field = `instruments.${id}.watch`;
  let st: Awaited<ReturnType<typeof fsp.stat>>;
  try {
    st = await fsp.stat(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return fail(
        'watch folder',
        target,
        'does not exist',
        `mount the instrument's share there, or correct ${field}`,
      );
    }
    return fail(
      'watch folder',
      target,
      `cannot be examined: ${errorMessage(err)}`,
      'check the mount and permissions',
    );
  }
  if (!st.isDirectory()) {
    return fail('watch folder', target, 'is not a directory (it is a file)', `${field} must name a folder`);
  }
  try {
    const entries = await fsp.readdir(dir);
    return ok('watch folder', target, `readable directory, ${entries.length} entries`);
  } catch (err) {
    return fail(
      'watch folder',
      target,
      `cannot be listed: ${errorMessage(err)}`,
      'give the user running Sluice read and execute permission on the folder (and its parents)',
    );
  }
}
