/** Doctor check `known_hosts`: the cluster connection's known_hosts file exists and holds host keys. */
import { promises as fsp } from 'node:fs';
import { errorMessage } from '../../core/errors.ts';
import { parseHost } from '../../process/executor.ts';
import { type CheckResult, fail, ok } from './result.ts';

/** The known_hosts file exists and has at least one host key line (comments and blanks aside). */
export async function checkKnownHosts(file: string, hosts: readonly string[]): Promise<CheckResult> {
  const target = `processing.slurm.ssh.known_hosts: ${file}`;
  const scan = hosts
    .map(parseHost)
    .map((h) => `ssh-keyscan -p ${h.port ?? 22} ${h.host} >> ${file}`)
    .join('; ');
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return fail(
      'known_hosts',
      target,
      code === 'ENOENT' ? 'does not exist' : `cannot be read: ${errorMessage(err)}`,
      `verify the cluster's host keys with its administrators, then: ${scan}`,
    );
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#')).length;
  if (lines === 0) {
    return fail(
      'known_hosts',
      target,
      'is empty: every host key would be refused',
      `add the host keys: ${scan}`,
    );
  }
  return ok('known_hosts', target, `${lines} host key line${lines === 1 ? '' : 's'}`);
}
