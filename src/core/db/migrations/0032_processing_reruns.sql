-- processing_reruns: processing settings at their current version run again over past files
-- (`sluice jobs rerun`, issue #21 item 5): the same shape as unit_reruns. `settings` is fixed when the
-- re-run is created ([{name, version, hash}]), and so are `files` and `total` (the files and jobs it
-- planned then). The rerun task walks the selected files in id order up to `last_file` a batch at a
-- time; `cursor_file` and `done` (jobs created) move in the transaction that creates the batch's jobs, so a crash repeats nothing and loses nothing. A cancelled re-run creates
-- no more jobs (jobs already created run on; cancel them with `sluice jobs cancel`).
create table processing_reruns (
  id bigint generated always as identity primary key,
  settings jsonb not null,
  since timestamptz,
  instrument text,
  project text,
  files integer not null,
  total integer not null,
  done integer not null default 0,
  last_file text not null,
  cursor_file text not null default '',
  status text not null default 'running' check (status in ('running', 'done', 'cancelled', 'failed')),
  requested_by text not null,
  cancelled_by text,
  error text,
  created_at timestamptz not null default now(),
  finished_at timestamptz
);

-- Every job records the content hash of its settings version (recorded in processing_settings), and a
-- job made by a re-run names it (the re-run waits while too many of its jobs are unfinished).
alter table jobs add column settings_hash text;
alter table jobs add column rerun_id bigint references processing_reruns (id);
create index jobs_rerun_active on jobs (rerun_id) where rerun_id is not null
  and state in ('new', 'submitting', 'PENDING', 'RUNNING');
