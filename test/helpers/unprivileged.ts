/**
 * Root ignores permission bits, so a test of "permission denied" runs its scenario in a child
 * process that obeys them. As root the child keeps uid 0 but runs through `setpriv` without
 * CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: it is then bound by the owner bits of its own files and
 * the other bits of everything else, like any user, while it can still read the checkout (unlike
 * `nobody`, who cannot enter a checkout under a 0700 directory, as in CI's temp clone). As any
 * other user the child is just a child.
 */
import {
  type SpawnSyncOptionsWithStringEncoding,
  type SpawnSyncReturns,
  spawnSync,
} from 'node:child_process';
import { patient } from './patience.ts';

/** The capabilities that let root ignore permission bits, dropped for the child. */
const SETPRIV = [
  '--inh-caps=-dac_override,-dac_read_search',
  '--bounding-set=-dac_override,-dac_read_search',
];

export const isRoot = process.getuid?.() === 0;

/** Runs `argv` as described above; `setpriv` (util-linux) must exist when running as root. */
export function spawnUnprivileged(
  argv: string[],
  opts: Omit<SpawnSyncOptionsWithStringEncoding, 'encoding'> = {},
): SpawnSyncReturns<string> {
  const [cmd, args] = isRoot ? ['setpriv', [...SETPRIV, '--', ...argv]] : [argv[0]!, argv.slice(1)];
  const r = spawnSync(cmd, args, { timeout: patient(60_000), ...opts, encoding: 'utf8' });
  if (r.error)
    throw new Error(
      `cannot run ${cmd}: ${r.error.message}${isRoot ? ' (setpriv comes with util-linux)' : ''}`,
    );
  return r;
}
