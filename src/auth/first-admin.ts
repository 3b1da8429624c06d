/**
 * The first administrator: created on a fresh install, with a one-time password shown only on a TTY
 * or written to `<data_dir>/first-admin-password` (mode 0600).
 */
import type { Queryable } from '../core/db/db.ts';
import { recordEvent } from '../engine/events.ts';
import { hashPassword } from './password.ts';
import { generatePassword } from './secret.ts';

/**
 * On a database without users: creates `admin` with a generated one-time password and returns it
 * (print it once; it must be changed at the first login). Returns undefined when users exist.
 * Safe when several processes start at once: only one insert succeeds.
 */
export async function ensureFirstAdmin(
  q: Queryable,
  actor = 'sluice:init',
): Promise<{ name: string; password: string } | undefined> {
  if (await q.maybeOne('select 1 from users limit 1')) return undefined;
  const password = generatePassword();
  const row = await q.maybeOne<{ name: string }>(
    `insert into users (name, password_hash, role, must_change_password, created_by)
     select 'admin', $1, 'admin', true, $2 where not exists (select 1 from users)
     on conflict (name) do nothing returning name`,
    [await hashPassword(password), actor],
  );
  if (!row) return undefined;
  await recordEvent(q, {
    subjectType: 'user',
    subjectId: 'admin',
    actor,
    to: 'admin',
    reason: 'first admin created with a one-time password',
  });
  return { name: row.name, password };
}
