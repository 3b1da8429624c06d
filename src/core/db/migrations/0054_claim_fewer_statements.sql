-- A claim walks the queue once, and runs fewer statements of its own (issue 24, item 4).
--
-- Two worker processes send twice the finish-and-claim statements of one (a batch holds at most its
-- process's concurrency), so what a claim costs per call, whatever it takes, is paid twice as often.
-- Much of that cost is the queue's head: a claimed task leaves a dead entry at the front of
-- tasks_queued until a vacuum, and sluice_claim (0018) walked those entries twice per claim, once in
-- its probe ("anything queued here?", LIMIT 1) and again in the statement that took the tasks. After
-- 20,000 claims that is ~120 index pages per walk. Now:
--
-- 1. The queued tasks are picked and locked first (FOR UPDATE SKIP LOCKED, at most as many as the
--    pool has free: size minus its live leases), by the one walk that was the probe's: none, and
--    nothing expired, means nothing for us in this pool. Then as many free slots are locked as tasks
--    were; the fresh read of the live leases after those locks decides how many slots are free (as
--    before), and the tasks are started into them by id, in queue order. A task locked beyond the
--    free slots (another claim took one meanwhile) is left queued: its row lock goes with this
--    transaction, and other claims skip it until then, as they skip every task a claim holds.
-- 2. The pool list is one statement with the probe for expired leases in it (a statement each per
--    pool before); the live leases are read by sluice_claim's own statements instead of calls of
--    sluice_pool_live (a function call per read). The snapshot rule is unchanged: in this VOLATILE
--    PL/pgSQL function each statement takes a fresh snapshot (read committed), so the read after the
--    slot locks sees every claim into those slots that committed before the locks were granted. The
--    re-read after the per-pool advisory lock (a task outside the slots: rare) still calls
--    sluice_pool_live.
-- 3. The read after the slot locks also keeps the locked slots no live lease holds, in the same
--    statement (a statement of its own before).
--
-- Everything else is as in 0018: slot rows locked with SKIP LOCKED, at most one live task per slot,
-- at most `size` live tasks per pool across processes, the advisory lock (taken before any task of
-- the pool is locked) and the count while a task runs outside the slots, a drained pool (size 0)
-- never claimed from, expired leases taken over first. Backend CPU per finish-and-claim statement
-- (one connection, 24,000 tasks queued, old and new functions alternating every 50 statements):
-- 12 tasks a statement 925 -> 850 us (mean of 20 rounds each), 1 task 461 -> 431 us.
-- plan_cache_mode as in 0052 (a replaced function keeps no settings: it is repeated here).
create or replace function sluice_claim(p_worker text, p_kinds text[], p_tags text[], p_limit int, p_lease_ms int)
returns setof tasks language plpgsql
set plan_cache_mode = force_generic_plan
as $$
declare
  v_pool record;
  v_left int := p_limit;
  v_free int;
  v_slots int[];
  v_ids bigint[];
  v_got int;
  v_n int;
  v_held int[];
  v_outside boolean;
begin
  for v_pool in
    select p.name, coalesce(p.override_size, p.size) as size,
      (select t.id from tasks t where t.pool = p.name and t.state = 'running' and t.lease_expires_at < now()
          and t.kind = any(p_kinds) and t.tags <@ p_tags
        order by t.pool, t.lease_expires_at limit 1) is not null as expired
    from pools p where coalesce(p.override_size, p.size) > 0
    order by random()
  loop
    exit when v_left <= 0;
    v_ids := null;

    -- the pool's live leases: how many, the slots they hold, any outside slots 0 .. size-1
    select count(*)::int, coalesce(array_agg(t.slot) filter (where t.slot is not null), '{}'),
        coalesce(bool_or(t.slot is null or t.slot >= v_pool.size), false)
      into v_n, v_held, v_outside
      from tasks t where t.pool = v_pool.name and t.state = 'running' and t.lease_expires_at >= clock_timestamp();
    if v_outside then
      -- a task runs outside the slots (pool shrunk, or claimed before 0018): the old way
      perform pg_advisory_xact_lock(378830, hashtext(v_pool.name));
      select l.n, l.slots into v_n, v_held from sluice_pool_live(v_pool.name, v_pool.size) l;
    end if;
    continue when v_pool.size - v_n <= 0;

    -- the queued tasks to start, locked (never waiting: a task another claimer holds is skipped);
    -- none, and no expired lease: nothing for us here
    if not v_pool.expired then
      select array_agg(q.id) into v_ids from (
        select t.id from tasks t where t.pool = v_pool.name and t.state = 'queued' and t.run_after <= now()
          and t.kind = any(p_kinds) and t.tags <@ p_tags
        order by t.priority desc, t.run_after, t.id limit least(v_left, v_pool.size - v_n)
        for update skip locked) q;
      continue when v_ids is null;
    end if;

    -- lock free slots, never waiting: a slot another claimer holds is skipped
    select array_agg(s.slot) into v_slots from (
      select ps.slot from pool_slots ps
        where ps.pool = v_pool.name and ps.slot < v_pool.size and ps.slot <> all(v_held)
        order by ps.slot limit least(v_left, v_pool.size - v_n, coalesce(cardinality(v_ids), v_left))
        for update skip locked) s;
    continue when v_slots is null;
    -- a new snapshot, taken after those locks: every claim into them that committed is seen; keep
    -- the locked slots no live lease holds
    select l.n, array(select x from unnest(v_slots) x where x <> all(l.held))
      into v_n, v_slots
      from (select count(*)::int as n, coalesce(array_agg(t.slot) filter (where t.slot is not null), '{}') as held
        from tasks t where t.pool = v_pool.name and t.state = 'running'
          and t.lease_expires_at >= clock_timestamp()) l;
    v_free := least(cardinality(v_slots), v_pool.size - v_n);
    continue when v_free <= 0;

    if v_pool.expired then -- take over expired leases first: that is crash recovery
      return query
        with picked as materialized (
          select t.id from tasks t where t.pool = v_pool.name and t.state = 'running'
            and t.lease_expires_at < clock_timestamp() and t.kind = any(p_kinds) and t.tags <@ p_tags
          order by t.id limit least(v_free, v_left) for update skip locked),
        numbered as (select id, row_number() over (order by id) as n from picked)
        update tasks set lease_owner = p_worker, slot = v_slots[numbered.n],
          lease_expires_at = clock_timestamp() + p_lease_ms * interval '1 millisecond',
          token = tasks.token + 1, attempts = tasks.attempts + 1, started_at = clock_timestamp()
        from numbered where tasks.id = numbered.id
        returning tasks.*;
      get diagnostics v_got = row_count;
      v_slots := v_slots[v_got + 1:];
      v_free := v_free - v_got;
      v_left := v_left - v_got;
      continue when v_free <= 0 or v_left <= 0;
      select array_agg(q.id) into v_ids from (
        select t.id from tasks t where t.pool = v_pool.name and t.state = 'queued' and t.run_after <= now()
          and t.kind = any(p_kinds) and t.tags <@ p_tags
        order by t.priority desc, t.run_after, t.id limit least(v_free, v_left)
        for update skip locked) q;
      continue when v_ids is null;
    end if;

    -- the locked queued tasks, in queue order, into the free slots; any beyond them stay queued (their
    -- row locks go with this transaction)
    return query
      with numbered as (
        select x.id, x.n from unnest(v_ids) with ordinality as x(id, n) where x.n <= least(v_free, v_left))
      update tasks set state = 'running', lease_owner = p_worker, slot = v_slots[numbered.n],
        lease_expires_at = clock_timestamp() + p_lease_ms * interval '1 millisecond',
        token = tasks.token + 1, attempts = tasks.attempts + 1, started_at = clock_timestamp()
      from numbered where tasks.id = numbered.id
      returning tasks.*;
    get diagnostics v_got = row_count;
    v_left := v_left - v_got;
  end loop;
end $$;
