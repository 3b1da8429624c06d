/**
 * Slows down password guessing. Two counters, both consulted before every login:
 * - per user name: after FREE_FAILURES failed logins in a row for one name, each further attempt for
 *   that name must wait 2^(n - FREE_FAILURES) seconds after the last failure (n failures so far), at
 *   most MAX_WAIT_S. A successful login resets the count.
 * - per client address (see client-address.ts): the same after FREE_FAILURES_PER_ADDRESS failures from
 *   one address, whatever the names. This slows down somebody trying one password on many names. A
 *   successful login does not reset it (one valid account must not unlock guessing the others).
 * A count is forgotten FORGET_AFTER_MS after its last failure. The wait applies whatever the password,
 * so a correct guess during the wait is not told apart from a wrong one.
 *
 * Per process and in memory: a restart forgets, and each web process counts for itself (a few
 * processes multiply the attempts an attacker gets by a few, not by thousands). The cap keeps
 * somebody who types a user's name with wrong passwords from locking that user out for long.
 */
export const FREE_FAILURES = 5;
/** Higher than per name: colleagues behind one NAT or proxy share an address. */
export const FREE_FAILURES_PER_ADDRESS = 20;
export const MAX_WAIT_S = 300;
/** A count whose last failure is older than this starts again from 0. */
export const FORGET_AFTER_MS = 60 * 60 * 1000;

interface Entry {
  failures: number;
  lastFailureMs: number;
}

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();

  /** `free`: failures before the first wait. */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly free = FREE_FAILURES,
  ) {}

  /** Seconds to wait before `name` (a user name or an address) may try again (0: now). */
  waitSeconds(name: string): number {
    const e = this.current(key(name), this.now());
    if (!e || e.failures < this.free) return 0;
    const waitMs = Math.min(MAX_WAIT_S, 2 ** (e.failures - this.free)) * 1000;
    return Math.max(0, Math.ceil((e.lastFailureMs + waitMs - this.now()) / 1000));
  }

  failed(name: string): void {
    const now = this.now();
    this.prune(now);
    const e = this.current(key(name), now);
    this.entries.set(key(name), { failures: (e?.failures ?? 0) + 1, lastFailureMs: now });
  }

  succeeded(name: string): void {
    this.entries.delete(key(name));
  }

  private current(k: string, now: number): Entry | undefined {
    const e = this.entries.get(k);
    return e && now - e.lastFailureMs <= FORGET_AFTER_MS ? e : undefined;
  }

  private prune(now: number): void {
    if (this.entries.size < 10_000) return;
    for (const [k, e] of this.entries) if (now - e.lastFailureMs > FORGET_AFTER_MS) this.entries.delete(k);
  }
}

const key = (name: string) => name.trim().toLowerCase();
