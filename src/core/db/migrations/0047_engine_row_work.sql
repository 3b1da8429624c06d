-- Less work per task in a claim and a completion (issue 24, item 4).
--
-- 1. The takeover trigger runs only when it has something to do. tasks_takeover (0015) called its
-- function for every change of state or lease owner: every claim from the queue and every
-- completion ran a PL/pgSQL call per row that, almost always, changed nothing. The function acts in two cases only: a running task taken over by another
-- worker (it records `taken_over`), and a task claimed again while `taken_over` still holds an
-- earlier takeover (it clears it). The trigger's condition now says exactly that, so the other
-- updates (a claim of a task never taken over, a completion, a failure, a release) skip the call.
-- The function is unchanged and still checks its own conditions.

drop trigger tasks_takeover on tasks;

create trigger tasks_takeover before update of lease_owner, state on tasks
  for each row when (
    (old.state = 'running' and new.state = 'running' and old.lease_owner is distinct from new.lease_owner)
    or (new.state = 'running' and old.state is distinct from 'running' and old.taken_over is not null))
  execute function sluice_task_takeover();

-- 2. sluice_finish (0018) returned each completed row whole; its caller reads only the id and the
-- state (claim.ts: a task missing lost its lease). Every timestamp, payload and array of those rows
-- was formatted here and parsed again by the worker: as many rows again as it claims. A completed
-- row now comes back with its id and state only, the other columns null (built from the row type,
-- so a column added to tasks later needs no change here). The claimed rows are whole, as before.
create or replace function sluice_finish(p_ids bigint[], p_tokens bigint[], p_worker text, p_kinds text[],
  p_tags text[], p_limit int, p_lease_ms int)
returns setof tasks language plpgsql as $$
begin
  return query
    with done as (
      update tasks t set state = 'succeeded', finished_at = now(), lease_owner = null, lease_expires_at = null,
        last_error = null
      from unnest(p_ids, p_tokens) as x(id, token)
      where t.id = x.id and t.token = x.token and t.state = 'running'
      returning t.id, t.state)
    select r.* from done,
      lateral jsonb_populate_record(null::tasks, jsonb_build_object('id', done.id, 'state', done.state)) r;
  if p_limit > 0 then
    return query select * from sluice_claim(p_worker, p_kinds, p_tags, p_limit, p_lease_ms);
  end if;
end $$;
