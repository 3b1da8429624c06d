/**
 * The embedded server's supervisor decisions (embedded.ts), pure: what a failed connection means,
 * how long to wait before restarting a server that died, and when it "keeps dying".
 */

/**
 * What a failed connection to the embedded server means: `auth` (28P01 wrong password, 28000 no
 * such role) is a server with another instance's credentials; anything else (refused, "starting
 * up", "shutting down", dropped by a shutdown) is a server not (yet, or no longer) there.
 */
export function reachFailure(err: unknown): 'auth' | 'unavailable' {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '28P01' || code === '28000' ? 'auth' : 'unavailable';
}

/** The delay before restart attempt `attempt` (1, 2, …) of a server that died: 1 s doubling to 30 s. */
export function restartDelayMs(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempt - 1));
}

/** How many restarts in `windowMs` make a server one that "keeps dying" (logged as such). */
export const KEEPS_DYING = { restarts: 3, windowMs: 10 * 60_000 } as const;
