/**
 * Slows down password guessing, in the database (table `login_throttle`, migration 0017) so that
 * every web process of one database shares the counts. Two counters, both consulted before every login:
 * - per user name: after `freePerUser` attempts in a row for one name, each further attempt for that
 *   name must wait firstWaitS · 2^(n - free) seconds after the last one (n counted so far; "the last
 *   one": when it was counted, or when its password turned out wrong), at most `maxWaitS`. A
 *   successful login resets the count.
 * - per client address (see api/client-address.ts): the same after `freePerAddress` attempts from one
 *   address, whatever the names. This slows down somebody trying one password on many names. A
 *   successful login only takes back its own attempt (one valid account must not unlock guessing the
 *   others).
 * An attempt is counted BEFORE its password is checked, by one statement that also tells whether it
 * may go ahead (`beginLogin`), so 30 parallel guesses cannot all pass while none has failed yet. An
 * attempt turned away is not counted (waiting is enough; it does not extend the wait). A count is
 * forgotten `forgetS` after its last attempt. The wait applies whatever the password, so a correct
 * guess during the wait is not told apart from a wrong one. The cap keeps somebody who types a user's
 * name with wrong passwords from locking that user out for long.
 */
import type { Queryable } from '../core/db/db.ts';

export interface ThrottlePolicy {
  /** Attempts per user name before the first wait. */
  freePerUser: number;
  /** Higher than per name: colleagues behind one NAT or proxy share an address. */
  freePerAddress: number;
  /** The first wait; each further attempt doubles it. */
  firstWaitS: number;
  maxWaitS: number;
  /** A count whose last attempt is older than this starts again from 0 (and its row is pruned). */
  forgetS: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = {
  freePerUser: 5,
  freePerAddress: 20,
  firstWaitS: 1,
  maxWaitS: 300,
  forgetS: 3600,
};

export type ThrottleKind = 'user' | 'address';

export interface LoginKey {
  kind: ThrottleKind;
  subject: string;
}

export type Verdict =
  | { allowed: true; counted: LoginKey[] }
  | { allowed: false; by: ThrottleKind; waitS: number; subject: string };

/** The counters one login attempt touches: its user name (case- and space-insensitive), its address. */
export function loginKeys(name: string, address: string | undefined): LoginKey[] {
  const keys: LoginKey[] = [{ kind: 'user', subject: name.trim().toLowerCase() }];
  if (address !== undefined) keys.push({ kind: 'address', subject: address });
  return keys;
}

/**
 * Which counter turns an attempt away: the one with the longest wait (the user name on a tie).
 * `waits`: seconds to wait per counter that did not count the attempt.
 */
export function verdictOf(keys: LoginKey[], waits: Map<ThrottleKind, number>): Verdict {
  let worst: { key: LoginKey; waitS: number } | undefined;
  for (const key of keys) {
    const waitS = waits.get(key.kind);
    if (waitS !== undefined && (!worst || waitS > worst.waitS)) worst = { key, waitS };
  }
  if (!worst) return { allowed: true, counted: keys };
  return { allowed: false, by: worst.key.kind, waitS: Math.max(1, worst.waitS), subject: worst.key.subject };
}

/** SQL: the free attempts of row `t`'s kind ($3 per user, $4 per address). */
const FREE = `(case t.kind when 'user' then $3::int else $4::int end)`;
/** SQL: when row `t` next lets an attempt through ($5 first wait, $6 cap, in seconds). */
const NEXT_AT = `(t.last_attempt_at + least($6::float8, $5::float8 * 2 ^ least(t.attempts - ${FREE}, 30)) * interval '1 second')`;
/** SQL: row `t` lets an attempt through now ($7: forget after, s). */
const ALLOWED = `(t.attempts < ${FREE} or now() >= ${NEXT_AT} or t.last_attempt_at < now() - $7::float8 * interval '1 second')`;

function policyParams(p: ThrottlePolicy): unknown[] {
  return [p.freePerUser, p.freePerAddress, p.firstWaitS, p.maxWaitS, p.forgetS];
}

/**
 * Counts a login attempt on each of `keys` and tells whether it may go ahead, in one statement: each
 * row is locked, tested and incremented together, so concurrent attempts (in any web process) are
 * counted one after another. When one counter turns the attempt away, the others give it back.
 */
export async function beginLogin(q: Queryable, keys: LoginKey[], policy: ThrottlePolicy): Promise<Verdict> {
  const params = [keys.map((k) => k.kind), keys.map((k) => k.subject), ...policyParams(policy)];
  const counted = await q.query<{ kind: ThrottleKind }>(
    // rows in a fixed order (user before address), so two statements never wait on each other
    `insert into login_throttle as t (kind, subject, attempts, last_attempt_at)
     select kind, subject, 1, now() from unnest($1::text[], $2::text[]) as k (kind, subject)
     order by kind desc
     on conflict (kind, subject) do update set
       attempts = case when t.last_attempt_at < now() - $7::float8 * interval '1 second' then 1
                       else t.attempts + 1 end,
       last_attempt_at = now()
     where ${ALLOWED}
     returning kind`,
    params,
  );
  const countedKinds = new Set(counted.map((r) => r.kind));
  if (countedKinds.size === keys.length) return { allowed: true, counted: keys };
  const blocked = keys.filter((k) => !countedKinds.has(k.kind));
  const rows = await q.query<{ kind: ThrottleKind; wait_s: number }>(
    `select t.kind, ceil(extract(epoch from ${NEXT_AT} - now()))::int as wait_s
     from login_throttle t join unnest($1::text[], $2::text[]) as k (kind, subject) using (kind, subject)`,
    [blocked.map((k) => k.kind), blocked.map((k) => k.subject), ...policyParams(policy).slice(0, 4)],
  );
  const waits = new Map<ThrottleKind, number>(blocked.map((k) => [k.kind, 1]));
  for (const r of rows) waits.set(r.kind, Math.max(1, r.wait_s));
  await giveBack(
    q,
    keys.filter((k) => countedKinds.has(k.kind)),
  );
  return verdictOf(keys, waits);
}

/** Takes back the attempt counted on `keys` (it turned out not to be a guess). */
async function giveBack(q: Queryable, keys: LoginKey[]): Promise<void> {
  if (keys.length === 0) return;
  await q.exec(
    `update login_throttle t set attempts = greatest(t.attempts - 1, 0)
     from unnest($1::text[], $2::text[]) as k (kind, subject)
     where t.kind = k.kind and t.subject = k.subject`,
    [keys.map((k) => k.kind), keys.map((k) => k.subject)],
  );
}

/** After the right password: the user's count starts again; the address gets this attempt back. */
export async function loginSucceeded(q: Queryable, keys: LoginKey[]): Promise<void> {
  const user = keys.find((k) => k.kind === 'user');
  if (user) await q.exec(`delete from login_throttle where kind = 'user' and subject = $1`, [user.subject]);
  await giveBack(
    q,
    keys.filter((k) => k.kind !== 'user'),
  );
}

/**
 * After a wrong password: the attempt stays counted, and the wait runs from now, the failure (the
 * check itself may have taken a second on a busy machine). Then housekeeping, a few forgotten rows.
 */
export async function loginFailed(q: Queryable, keys: LoginKey[], policy: ThrottlePolicy): Promise<void> {
  await q.exec(
    `update login_throttle t set last_attempt_at = greatest(t.last_attempt_at, now())
     from unnest($1::text[], $2::text[]) as k (kind, subject)
     where t.kind = k.kind and t.subject = k.subject`,
    [keys.map((k) => k.kind), keys.map((k) => k.subject)],
  );
  await q.exec(
    `delete from login_throttle where (kind, subject) in (
       select kind, subject from login_throttle
       where last_attempt_at < now() - $1::float8 * interval '1 second' limit 100)`,
    [policy.forgetS],
  );
}
