-- Alerts: cooldown bookkeeping per (rule, subject) and small cursors for "since the last run" rules.
create table alerts_sent (
  rule text not null,
  subject text not null,
  last_sent_at timestamptz not null,
  count int not null default 1,          -- notifications sent for this (rule, subject)
  last_title text,
  primary key (rule, subject)
);

create table alerts_state (
  key text primary key,                  -- e.g. 'error_event_cursor', 'last_run_at'
  value jsonb not null,
  updated_at timestamptz not null default now()
);
