/**
 * Exponential backoff with jitter: attempt 1 waits ~base, each further attempt doubles, capped.
 * "Equal jitter": half fixed, half random, so retries of many tasks that failed together spread
 * out but none retries immediately.
 */
export function backoffMs(
  attempt: number,
  baseMs = 1000,
  capMs = 10 * 60_000,
  random: () => number = Math.random,
): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
