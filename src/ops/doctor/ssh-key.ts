/** Doctor check `ssh key`: the cluster connection's private key exists and is private. */
import { constants, promises as fsp } from 'node:fs';
import { errorMessage } from '../../core/errors.ts';
import { type CheckResult, fail, fileMode, ok } from './result.ts';

/** The private key exists and is readable by its owner only (like OpenSSH demands). */
export async function checkSshKey(file: string): Promise<CheckResult> {
  const target = `processing.slurm.ssh.key_file: ${file}`;
  let st: Awaited<ReturnType<typeof fsp.stat>>;
  try {
    st = await fsp.stat(file);
  } catch (err) {
    return fail(
      'ssh key',
      target,
      `cannot be read: ${errorMessage(err)}`,
      'point key_file at the private key',
    );
  }
  if (!st.isFile())
    return fail('ssh key', target, 'is not a regular file', 'point key_file at the private key');
  if ((Number(st.mode) & 0o077) !== 0) {
    return fail(
      'ssh key',
      target,
      `is readable or writable by group/others (mode ${fileMode(Number(st.mode))})`,
      `chmod 600 ${file}`,
    );
  }
  try {
    await fsp.access(file, constants.R_OK);
  } catch (err) {
    return fail(
      'ssh key',
      target,
      `cannot be read: ${errorMessage(err)}`,
      'make it readable by the user running Sluice',
    );
  }
  return ok('ssh key', target, `private (mode ${fileMode(Number(st.mode))})`);
}
