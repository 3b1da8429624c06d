/**
 * Named crash points for tests of crash safety: with `SLUICE_CRASH_AT=<name>[,<name>…]` in its
 * environment a process kills itself with SIGKILL when it reaches one of those points, exactly as
 * an operator's `kill -9` or a power cut at that moment would stop it. Unset (always, outside tests
 * and the chaos benchmark) it does nothing.
 */
const points = new Set((process.env.SLUICE_CRASH_AT ?? '').split(',').filter(Boolean));

export function crashPoint(name: string): void {
  if (points.has(name)) process.kill(process.pid, 'SIGKILL');
}
