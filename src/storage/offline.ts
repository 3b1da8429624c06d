/**
 * Errors of watch folders (and of other mounted folders checked with disk.ts): `intake.offline` for
 * a folder that cannot be read at all, and readable messages for single entries that cannot be read.
 */
import os from 'node:os';
import { SluiceError } from '../core/errors.ts';

/** Error codes meaning the share itself is failing, not one entry. */
export const OFFLINE_CODES = new Set([
  'EIO',
  'ETIMEDOUT',
  'ENOTCONN',
  'ESTALE',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'ENODEV',
]);

/** Map a failure to read the watch folder to an actionable `intake.offline` error. */
export function offlineError(
  dir: string,
  fault: { code?: string; message?: string },
  cause?: unknown,
): SluiceError {
  const code = fault.code ?? 'EUNKNOWN';
  const [message, hint] = ((): [string, string] => {
    switch (code) {
      case 'ENOENT':
        return [
          `watch folder ${dir} does not exist (is the share mounted?)`,
          'mount the share or fix the path',
        ];
      case 'EACCES':
      case 'EPERM':
        return [
          `watch folder ${dir} is not readable by this process (permission denied)`,
          `grant read access to user ${os.userInfo().username} or run Sluice as a user that can read it`,
        ];
      case 'ENOTDIR':
        return [
          `watch folder ${dir} is not a folder`,
          'set the watch path to the folder the instrument writes its raw data to',
        ];
      case 'ETIMEDOUT':
        return [
          `watch folder ${dir} did not answer in time (${fault.message ?? 'timeout'})`,
          'the network share may be hung; check the mount and the instrument PC',
        ];
      default:
        return [
          `watch folder ${dir} is unreachable (${code}: ${fault.message ?? 'unknown error'})`,
          OFFLINE_CODES.has(code)
            ? 'the network share looks disconnected; check the mount and the instrument PC'
            : 'check that the path is a readable, mounted folder',
        ];
    }
  })();
  return new SluiceError('intake.offline', message, { hint, cause: cause ?? fault, status: 503 });
}

/** A readable message for one entry that could not be read. */
export function describeFault(f: { code: string; message: string; path?: string }): string {
  if (f.code === 'EACCES' || f.code === 'EPERM') {
    return `cannot read ${f.path ?? 'entry'}: permission denied; grant this process read access`;
  }
  return `cannot read ${f.path ?? 'entry'}: ${f.message}`;
}
