-- Reactions and re-runs (issue #21; src/streams/reactions-repo.ts owns these tables).
-- reaction_runs: one row per run of a scheduled reaction (history kept: a new row per run). `period`
-- is the schedule's period the run belongs to: unique per reaction, so a task retried after a crash
-- records its run once. `cursor_item` is the highest stream item the run covered: the next run of an
-- item reaction selects only items above it.
create table reaction_runs (
  id bigint generated always as identity primary key,
  reaction text not null,
  period text not null,
  unit text not null,
  unit_version text not null,
  config_hash text not null,
  selected integer,
  cursor_item bigint,
  status text not null check (status in ('ok', 'failed')),
  result jsonb,
  error text,
  started_at timestamptz not null,
  finished_at timestamptz not null default now(),
  unique (reaction, period)
);
create index reaction_runs_recent on reaction_runs (reaction, id desc);

-- unit_reruns: a compute unit's current version run again over past items (`sluice units rerun`).
-- The rerun task walks the selected items in id order up to `last_item` (fixed when it is created, so
-- items stored meanwhile are not its business) a batch at a time; `cursor_item` and `done` move in the
-- transaction that stores the batch's results, so a crash repeats at most nothing.
create table unit_reruns (
  id bigint generated always as identity primary key,
  unit text not null,
  unit_version text not null,
  config_hash text not null,
  since timestamptz,
  channel text,
  total integer not null,
  done integer not null default 0,
  last_item bigint not null,
  cursor_item bigint not null default 0,
  status text not null default 'running' check (status in ('running', 'done', 'cancelled', 'failed')),
  requested_by text not null,
  cancelled_by text,
  error text,
  created_at timestamptz not null default now(),
  finished_at timestamptz
);
