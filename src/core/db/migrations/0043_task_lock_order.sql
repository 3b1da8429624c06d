-- Marking running tasks to run once more locks them in task id order (issue 24).
--
-- An enqueue whose keys match several running tasks marks them in one update (0040), which locked
-- them in whatever order its plan met them (by key). A worker's batch of completions locks its tasks
-- one after another too. When the two met the same two tasks in opposite orders, each waited for the
-- other and PostgreSQL rolled one back: the enqueue failed, or the batch did (the worker sends that
-- again). Now the marking first locks the running tasks with those keys in id order, and workers send
-- their batches in id order (src/engine/task-state.ts), so a single enqueue and a batch wait for each
-- other at most one way round. A task that stopped running while the lock waited is left alone (the
-- lock re-checks the row), and the insert below adds it again, as before.
create or replace function sluice_enqueue_taken(p_specs jsonb) returns setof bigint language plpgsql as $$
begin
  perform 1 from tasks t
    where t.state = 'running' and t.dedupe_key in (
      select s.dedupe_key from jsonb_to_recordset(p_specs) as s(dedupe_key text) where s.dedupe_key is not null)
    order by t.id
    for update;
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
