/**
 * Password hashing with scrypt (node:crypto). A hash is stored as
 * `scrypt$<N>$<r>$<p>$<salt, base64url>$<key, base64url>`, so raising the parameters later leaves
 * old hashes verifiable. N = 2^15, r = 8 costs about 32 MiB and 50–100 ms per hash: cheap for a
 * login, expensive for guessing.
 *
 * scrypt runs in libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise), which
 * also runs the database driver's SCRAM handshake for new connections, DNS look-ups and file I/O.
 * A burst of logins once filled it, new database connections timed out behind the hashes and
 * logins answered 500; so at most half of the pool hashes at a time, and the others wait in line
 * (at most MAX_QUEUED_HASHES of them: beyond that a login is told to come back, 429 `auth.busy`).
 */
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { SluiceError } from '../core/errors.ts';
import { Semaphore } from '../core/semaphore.ts';

const PARAMS = { N: 2 ** 15, r: 8, p: 1 };
const KEY_BYTES = 32;
const MAX_MEM = 256 * 1024 * 1024;

const THREAD_POOL = Number(process.env.UV_THREADPOOL_SIZE) || 4;
/** Hashes running at once: half the thread pool, so the other half stays free for the rest. */
export const HASHES_AT_ONCE = Math.max(1, Math.floor(THREAD_POOL / 2));
export const MAX_QUEUED_HASHES = 200;
const hashing = new Semaphore(HASHES_AT_ONCE);

function scryptAsync(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  if (hashing.queued >= MAX_QUEUED_HASHES)
    throw new SluiceError('auth.busy', `${MAX_QUEUED_HASHES} password checks are waiting already`, {
      status: 429,
      exitCode: 1,
      hint: 'try again in a few seconds',
    });
  return hashing.run(
    () =>
      new Promise((resolve, reject) =>
        scrypt(password.normalize('NFC'), salt, keylen, opts, (err, key) =>
          err ? reject(err) : resolve(key),
        ),
      ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, KEY_BYTES, { ...PARAMS, maxmem: MAX_MEM });
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join(
    '$',
  );
}

/** True when `password` matches `encoded`; false for a wrong password or a malformed hash. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // bounds keep a tampered row from turning a login into a denial of service
  if (!(N >= 2 ** 10 && N <= 2 ** 20 && (N & (N - 1)) === 0 && r >= 1 && r <= 32 && p >= 1 && p <= 4))
    return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const want = Buffer.from(parts[5]!, 'base64url');
  if (salt.length < 8 || want.length < 16) return false;
  const got = await scryptAsync(password, salt, want.length, { N, r, p, maxmem: MAX_MEM });
  return timingSafeEqual(got, want);
}

/** A hash of a random password: verifying against it costs the same as against a real one. */
let dummy: Promise<string> | undefined;
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('hex')).catch((err: unknown) => {
    dummy = undefined; // busy now: the next login tries again
    throw err;
  });
  return dummy;
}

/** Rules for a password a person chooses. Returns what is wrong, or undefined. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < 12) return 'a password needs at least 12 characters';
  if (password.length > 1024) return 'a password may have at most 1024 characters';
  return undefined;
}
