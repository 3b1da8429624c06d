/**
 * Doctor's writable-path check (`output path`, and the second half of `backup path` and of
 * `db backup location`): a marker file is written, synced, read back and removed.
 */
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../../core/errors.ts';
import { type CheckResult, fail, ok, warn } from './result.ts';

/** The nearest existing ancestor of `p` (p itself when it exists). */
async function nearestExisting(p: string): Promise<{ dir: string; isDir: boolean }> {
  let cur = path.resolve(p);
  for (;;) {
    try {
      const st = await fsp.stat(cur);
      return { dir: cur, isDir: st.isDirectory() };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const parent = path.dirname(cur);
      if (parent === cur) throw err;
      cur = parent;
    }
  }
}

/**
 * `dir` is writable: a marker file `.sluice-doctor-<pid>` is created, synced, read back and
 * removed (as Immich checks its storage folders). A missing folder is a warning when its nearest
 * existing ancestor is a writable directory (Sluice creates it; but an unmounted share looks the same).
 */
export async function checkWritable(
  check: string,
  field: string,
  dir: string,
  pid: number = process.pid,
): Promise<CheckResult> {
  const target = `${field}: ${dir}`;
  const near = await nearestExisting(dir);
  if (!near.isDir) {
    return fail(
      check,
      target,
      near.dir === path.resolve(dir)
        ? 'is a file, not a directory'
        : `cannot be created: ${near.dir} is a file, not a directory`,
      `set ${field} to a directory`,
    );
  }
  if (near.dir !== path.resolve(dir)) {
    try {
      await fsp.access(near.dir, constants.W_OK | constants.X_OK);
    } catch (err) {
      return fail(
        check,
        target,
        `does not exist, and ${near.dir} is not writable: ${errorMessage(err)}`,
        `create ${dir} and make it writable by the user running Sluice`,
      );
    }
    return warn(
      check,
      target,
      `does not exist yet (Sluice will create it under ${near.dir})`,
      'if this should be a mounted share, mount it first: otherwise the data goes to the local disk',
    );
  }
  const marker = path.join(dir, `.sluice-doctor-${pid}`);
  const content = `sluice doctor ${new Date().toISOString()} ${pid}\n`;
  try {
    const fh = await fsp.open(marker, 'w');
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    const back = await fsp.readFile(marker, 'utf8');
    if (back !== content) {
      return fail(
        check,
        target,
        `a marker file read back different content (${marker})`,
        'check the storage',
      );
    }
  } catch (err) {
    return fail(
      check,
      target,
      `not writable: ${errorMessage(err)}`,
      `make ${dir} writable by the user running Sluice`,
    );
  } finally {
    await fsp.rm(marker, { force: true }).catch(() => undefined);
  }
  return ok(check, target, 'writable (marker file written, read back, removed)');
}
