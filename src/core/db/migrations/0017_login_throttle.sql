-- The login throttle (src/auth/login-throttle.ts), shared by every web process of one database.
-- One row per user name (lower-cased) and per client address: the attempts counted since the count
-- last started, and when the last one was counted. An attempt is counted BEFORE its password is
-- checked, by one statement that also decides whether it may go ahead, so a burst of parallel
-- attempts cannot all pass; a successful login takes its attempt back (and resets its user's row).
-- Rows whose last attempt is older than the forget interval are pruned.
create table login_throttle (
  kind text not null check (kind in ('user', 'address')),
  subject text not null,
  attempts integer not null check (attempts >= 0),
  last_attempt_at timestamptz not null,
  primary key (kind, subject)
);
create index login_throttle_last on login_throttle (last_attempt_at);
