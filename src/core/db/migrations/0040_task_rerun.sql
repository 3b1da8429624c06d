-- A task asked to run once more while it runs (issue 24).
--
-- An enqueue whose de-duplication key matches a queued task adds nothing: that task has not started,
-- it will see whatever the enqueuer wrote. One that matches a RUNNING task used to add nothing as
-- well, and the work that fell due while the task ran waited for the next schedule (a lost
-- wake-up). Now such an enqueue marks the running task (rerun_payload: the payload of the first
-- enqueue that asked; rerun_after: the earliest time asked for), and the completion that finds the
-- mark queues the task again, once, with that payload and a fresh budget of attempts, instead of
-- finishing it: in the same update, so atomically with the completion (a trigger, so every way a
-- task completes does it). Two enqueues during one run ask for one more run, not two.
--
-- The mark is an update of the running row by the enqueuer's transaction: the completion's fenced
-- update waits for that transaction and then sees the mark, so the next run starts after the
-- enqueuer committed, and sees what it wrote. A run that fails for good with a mark leaves its
-- failed row as it is (the record of that attempt) and a new task is queued with the mark's payload:
-- what an enqueue after the failure would have done. A cancelled task drops its mark.

alter table tasks add column rerun_payload jsonb, add column rerun_after timestamptz;

create function sluice_task_rerun() returns trigger language plpgsql as $$
begin
  if new.state = 'succeeded' then
    new.state := 'queued';
    new.payload := old.rerun_payload;
    new.run_after := greatest(now(), coalesce(old.rerun_after, now()));
    new.attempts := 0;
    new.finished_at := null;
    new.last_error := null;
  end if;
  new.rerun_payload := null;
  new.rerun_after := null;
  return new;
end $$;

create trigger tasks_rerun before update of state on tasks
  for each row when (old.state = 'running' and old.rerun_payload is not null and new.state <> 'running')
  execute function sluice_task_rerun();

-- Failed for good with a mark: the run asked for is a task of its own (the failed row stays).
create function sluice_task_rerun_failed() returns trigger language plpgsql as $$
begin
  insert into tasks (kind, subject, payload, pool, tags, priority, max_attempts, run_after, dedupe_key)
    values (old.kind, old.subject, old.rerun_payload, old.pool, old.tags, old.priority, old.max_attempts,
      greatest(now(), coalesce(old.rerun_after, now())), old.dedupe_key)
    on conflict (dedupe_key) where dedupe_key is not null and state in ('queued', 'running') do nothing;
  return null;
end $$;

create trigger tasks_rerun_failed after update of state on tasks
  for each row when (old.state = 'running' and old.rerun_payload is not null and new.state = 'failed')
  execute function sluice_task_rerun_failed();

-- The enqueues whose insert found their key taken (enqueue.ts inserts first, then sends here the
-- keyed specs of a call that did not add them all), set-wise: a running task with the key is marked to
-- run once more (the first spec's payload per key, the earliest run_after); a queued one needs nothing;
-- a key with neither any more (its running task finished meanwhile) is inserted after all, and those
-- ids returned. The two statements each take a fresh snapshot; the update waits for a completion in
-- progress and re-checks the row after it.
create function sluice_enqueue_taken(p_specs jsonb) returns setof bigint language plpgsql as $$
begin
  update tasks t set rerun_payload = coalesce(t.rerun_payload, x.payload),
      rerun_after = least(t.rerun_after, coalesce(x.run_after, now()))
    from (select distinct on (s.dedupe_key) s.dedupe_key, s.payload, s.run_after
          from jsonb_to_recordset(p_specs) as s(dedupe_key text, payload jsonb, run_after timestamptz, ord int)
          where s.dedupe_key is not null order by s.dedupe_key, s.ord) x
    where t.dedupe_key = x.dedupe_key and t.state = 'running';
  return query
    insert into tasks (kind, subject, payload, pool, tags, priority, max_attempts, run_after, dedupe_key)
      select x.kind, x.subject, x.payload, x.pool, x.tags, x.priority, x.max_attempts,
        coalesce(x.run_after, now()), x.dedupe_key
      from jsonb_to_recordset(p_specs) as x(kind text, subject text, payload jsonb, pool text, tags text[],
        priority int, max_attempts int, run_after timestamptz, dedupe_key text, ord int)
      where x.dedupe_key is not null and not exists (
        select 1 from tasks t where t.dedupe_key = x.dedupe_key and t.state in ('queued', 'running'))
      order by x.ord
      on conflict (dedupe_key) where dedupe_key is not null and state in ('queued', 'running') do nothing
      returning id;
end $$;
