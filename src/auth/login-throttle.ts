/**
 * Slows down password guessing: after FREE_FAILURES failed logins in a row for one user name, each
 * further attempt for that name must wait 2^(n - FREE_FAILURES) seconds after the last failure (n
 * failures so far), at most MAX_WAIT_S. A successful login resets the count. The wait applies
 * whatever the password, so a correct guess during the wait is not told apart from a wrong one.
 *
 * Per process and in memory: a restart forgets, and each web process counts for itself (a few
 * processes multiply the attempts an attacker gets by a few, not by thousands). The cap keeps
 * somebody who types a user's name with wrong passwords from locking that user out for long.
 */
export const FREE_FAILURES = 5;
export const MAX_WAIT_S = 300;
/** Counts older than this since their last failure are forgotten. */
const FORGET_AFTER_MS = 60 * 60 * 1000;

interface Entry {
  failures: number;
  lastFailureMs: number;
}

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Seconds to wait before `name` may try again (0: now). */
  waitSeconds(name: string): number {
    const e = this.entries.get(key(name));
    if (!e || e.failures < FREE_FAILURES) return 0;
    const waitMs = Math.min(MAX_WAIT_S, 2 ** (e.failures - FREE_FAILURES)) * 1000;
    return Math.max(0, Math.ceil((e.lastFailureMs + waitMs - this.now()) / 1000));
  }

  failed(name: string): void {
    const now = this.now();
    this.prune(now);
    const e = this.entries.get(key(name));
    this.entries.set(key(name), { failures: (e?.failures ?? 0) + 1, lastFailureMs: now });
  }

  succeeded(name: string): void {
    this.entries.delete(key(name));
  }

  private prune(now: number): void {
    if (this.entries.size < 10_000) return;
    for (const [k, e] of this.entries) if (now - e.lastFailureMs > FORGET_AFTER_MS) this.entries.delete(k);
  }
}

const key = (name: string) => name.trim().toLowerCase();
