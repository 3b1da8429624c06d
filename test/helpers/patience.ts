/**
 * How long a test waits before it calls something a hang. Tests wait on conditions, never on time:
 * a limit only turns a hang into a failure that names what it waited for. The limits written in
 * tests are generous for a quiet machine; every wait helper multiplies them by `PATIENCE`, so the
 * same test holds on a machine whose two cores are busy with other work (CI runs the suite with a
 * CPU hog beside it; there a CLI call took 4–6 s instead of 1.5 s, and steps up to ~8× longer).
 * `SLUICE_TEST_PATIENCE` sets the factor (default 5).
 */
export const PATIENCE = Math.max(1, Number(process.env.SLUICE_TEST_PATIENCE) || 5);

/** `ms` of a quiet machine, as a hang limit on this one. */
export function patient(ms: number): number {
  return ms * PATIENCE;
}
