-- Copies per (target, state) kept exact by the database (src/files/copy-counts.ts): the Health page,
-- `sluice status` and `GET /api/status` read each target's progress from here in about a
-- millisecond instead of counting the verified copies of every target (full counts over
-- copies_target_verified that grew with the table: ~0.45 s at 1M files and two targets).
--
-- copy_counts holds delta rows. Statement-level triggers with transition tables add one row per
-- statement and (target, state) group: +n for rows inserted (COPY fires them too), -n for rows
-- deleted, both for an update (groups whose +n and -n cancel, an update that changed neither target
-- nor state, write nothing). Only inserts: concurrent backup transactions never wait on one hot row.
-- The counts are sum(n) per (target, state). The reader folds the deltas into one row per group from
-- time to time (delete ... returning, insert the sums: one statement, exact under concurrency).
--
-- A database migrated with copies already in it has no starting point, and a migration must not
-- insert rows: copy_counts_baseline is empty until sluice_copy_counts_baseline() (called by the reader the
-- first time) counts `copies` once under a share lock (writers wait for that one count), replaces
-- every delta with those counts and records the baseline. Until then reads count `copies` in full.
-- Neither table is dumped by `sluice db backup` (src/ops/db-backup/catalog.ts): a restore's COPY
-- into `copies` fires the triggers, and the first read after it takes a new baseline.

create table copy_counts (
  target text not null,
  state text not null,
  n bigint not null
);

create table copy_counts_baseline (
  taken_at timestamptz not null default now()
);

create function sluice_copy_counts_insert() returns trigger language plpgsql as $$
begin
  insert into copy_counts (target, state, n)
    select target, state, count(*) from new_rows group by target, state;
  return null;
end $$;

create function sluice_copy_counts_delete() returns trigger language plpgsql as $$
begin
  insert into copy_counts (target, state, n)
    select target, state, -count(*) from old_rows group by target, state;
  return null;
end $$;

create function sluice_copy_counts_update() returns trigger language plpgsql as $$
begin
  insert into copy_counts (target, state, n)
    select target, state, sum(d) from (
      select target, state, 1 as d from new_rows
      union all
      select target, state, -1 as d from old_rows
    ) c group by target, state having sum(d) <> 0;
  return null;
end $$;

-- A truncate empties `copies`: every count is zero, the baseline (if any) stays valid.
create function sluice_copy_counts_truncate() returns trigger language plpgsql as $$
begin
  delete from copy_counts;
  return null;
end $$;

create trigger copies_count_insert after insert on copies
  referencing new table as new_rows for each statement execute function sluice_copy_counts_insert();
create trigger copies_count_delete after delete on copies
  referencing old table as old_rows for each statement execute function sluice_copy_counts_delete();
create trigger copies_count_update after update on copies
  referencing old table as old_rows new table as new_rows
  for each statement execute function sluice_copy_counts_update();
create trigger copies_count_truncate after truncate on copies
  for each statement execute function sluice_copy_counts_truncate();

-- The baseline: true when one exists (taken now or before), false when `copies` could not be locked
-- within `wait` (a long transaction writes copies; the caller counts in full and tries again later).
-- The share lock on copies waits for every transaction that wrote copies (their deltas are committed
-- or gone) and keeps writers out during the count; the lock on copy_counts keeps a concurrent
-- baseline or compaction out, so the deltas deleted are exactly those the count replaces.
create function sluice_copy_counts_baseline(wait interval) returns boolean language plpgsql as $$
declare
  before text := current_setting('lock_timeout');
begin
  if exists (select 1 from copy_counts_baseline) then
    return true;
  end if;
  perform set_config('lock_timeout', (extract(epoch from wait) * 1000)::bigint::text, true);
  begin
    lock table copies in share mode;
    lock table copy_counts in share row exclusive mode;
    lock table copy_counts_baseline in share row exclusive mode;
  exception when lock_not_available then
    perform set_config('lock_timeout', before, true);
    return false;
  end;
  perform set_config('lock_timeout', before, true);
  if exists (select 1 from copy_counts_baseline) then
    return true;
  end if;
  delete from copy_counts;
  insert into copy_counts (target, state, n) select target, state, count(*) from copies group by target, state;
  insert into copy_counts_baseline (taken_at) values (now());
  return true;
end $$;

-- The Health page's other cost that grew with the catalogue: the alert rules' read of files' events
-- into `error` or `lost` (src/engine/events.ts `fileErrorEvents`) walked every event of every file
-- (~75 ms at 300,000 files, ~0.25 s at 1M). Those events are few: a partial index holds only them,
-- in the id order the read wants. Built once here (a few seconds at millions of events, writers of
-- events wait for it); other events do not enter it.
create index events_file_failures on events (id) where subject_type = 'file' and to_state in ('error', 'lost');
