/**
 * The lock that builds take turns on (scripts/build-cli.mjs, scripts/build-web.mjs): a directory,
 * made atomically by mkdir. One older than `staleMs` is a crashed build's and is taken over.
 */
import { mkdir, rm, stat } from 'node:fs/promises';

/** Takes the lock `dir`, waiting (polling every `pollMs`) while another build holds it. */
export async function takeLock(dir, { staleMs, pollMs }) {
  for (;;) {
    try {
      await mkdir(dir);
      return;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    const since = await stat(dir).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (since > staleMs) await rm(dir, { recursive: true, force: true });
    else await new Promise((r) => setTimeout(r, pollMs));
  }
}
