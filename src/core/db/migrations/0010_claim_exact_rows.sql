-- Claims take exactly the rows they locked. 0001 wrote each claim as
--   update tasks ... where id in (select id ... limit n for update skip locked)
-- and PostgreSQL may plan that as a nested-loop semi join that runs the subquery again for every
-- row of tasks. Each run skips the rows this statement has already updated and locks the next ones,
-- so one claim could take every queued task of a pool, far beyond its size (seen in CI: a pool of 2,
-- a worker of concurrency 2, 10 tasks started at once). The locked ids are now computed once, in a
-- materialized CTE, and the update joins them. Same function as in 0001 otherwise.

-- Claim up to p_limit runnable tasks for one worker, respecting every pool's size across all
-- processes. Claims on one pool are serialised by a transaction-scoped advisory lock, so the
-- count of live leases and the claim that follows cannot interleave with another claimer.
-- (plpgsql takes a new snapshot per statement, so the count sees every claim committed
-- before the lock was granted.) Expired leases are taken over first: that is crash recovery.
create or replace function sluice_claim(p_worker text, p_kinds text[], p_tags text[], p_limit int, p_lease_ms int)
returns setof tasks language plpgsql as $$
declare
  v_pool record;
  v_free int;
  v_left int := p_limit;
  v_got int;
begin
  for v_pool in select name, coalesce(override_size, size) as size from pools order by random() loop
    exit when v_left <= 0;
    continue when v_pool.size <= 0;
    -- cheap test before taking the lock: anything runnable for us here? Written as an ordered
    -- LIMIT 1 so the planner walks the tasks_queued index instead of scanning finished rows.
    continue when (
      select t.id from tasks t where t.pool = v_pool.name and t.state = 'queued' and t.run_after <= now()
        and t.kind = any(p_kinds) and t.tags <@ p_tags
      order by t.priority desc, t.run_after, t.id limit 1) is null
      and (
      select t.id from tasks t where t.pool = v_pool.name and t.state = 'running' and t.lease_expires_at < now()
        and t.kind = any(p_kinds) and t.tags <@ p_tags
      order by t.pool, t.lease_expires_at limit 1) is null;
    perform pg_advisory_xact_lock(378830, hashtext(v_pool.name));
    select v_pool.size - count(*) into v_free from tasks
      where pool = v_pool.name and state = 'running' and lease_expires_at >= clock_timestamp();
    continue when v_free <= 0;

    return query
      with picked as materialized (
        select t.id from tasks t where t.pool = v_pool.name and t.state = 'running'
          and t.lease_expires_at < clock_timestamp() and t.kind = any(p_kinds) and t.tags <@ p_tags
        order by t.id limit least(v_free, v_left) for update skip locked)
      update tasks set lease_owner = p_worker,
        lease_expires_at = clock_timestamp() + p_lease_ms * interval '1 millisecond',
        token = tasks.token + 1, attempts = tasks.attempts + 1, started_at = clock_timestamp()
      from picked where tasks.id = picked.id
      returning tasks.*;
    get diagnostics v_got = row_count;
    v_free := v_free - v_got;
    v_left := v_left - v_got;
    continue when v_free <= 0 or v_left <= 0;

    return query
      with picked as materialized (
        select t.id from tasks t where t.pool = v_pool.name and t.state = 'queued' and t.run_after <= now()
          and t.kind = any(p_kinds) and t.tags <@ p_tags
        order by t.priority desc, t.run_after, t.id limit least(v_free, v_left) for update skip locked)
      update tasks set state = 'running', lease_owner = p_worker,
        lease_expires_at = clock_timestamp() + p_lease_ms * interval '1 millisecond',
        token = tasks.token + 1, attempts = tasks.attempts + 1, started_at = clock_timestamp()
      from picked where tasks.id = picked.id
      returning tasks.*;
    get diagnostics v_got = row_count;
    v_left := v_left - v_got;
  end loop;
end $$;
