/** Doctor check `schema`: the schema is at the version this program needs (pure, given the version). */
import { schemaVersion } from '../../core/db/migrate.ts';
import { type CheckResult, fail, ok } from './result.ts';

export function checkSchema(v: number): CheckResult {
  const want = schemaVersion();
  if (v === want) return ok('schema', 'migrations', `at version ${v}, current`);
  if (v < want) {
    return fail(
      'schema',
      'migrations',
      `at version ${v}${v === 0 ? ' (empty database)' : ''}; this Sluice needs ${want}`,
      'run `sluice db migrate` (or start Sluice, which migrates)',
    );
  }
  return fail(
    'schema',
    'migrations',
    `at version ${v}, newer than this Sluice understands (${want})`,
    'upgrade this machine to the Sluice version the other machines run',
  );
}
