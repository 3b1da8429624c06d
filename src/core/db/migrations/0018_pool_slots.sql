-- Claims from several processes no longer wait for each other (issue 24, item 4).
--
-- Until now a claim took a per-pool advisory lock, counted the pool's live leases and claimed up to
-- the pool's size, and held that lock until its commit: claims on one pool from two processes ran
-- one after the other, each waiting for the other's commit to reach the disk. Two worker processes
-- did fewer tasks a second than one.
--
-- Now a pool has one row per slot (pool_slots, slot 0 .. size-1), and a running task holds the slot
-- it was claimed into (tasks.slot). A claim locks free slot rows with SKIP LOCKED (never waiting for
-- another claimer), then, in a statement whose snapshot was taken after those locks were granted,
-- checks which of them are still free: a slot is taken by a task claimed into it whose lease is
-- live. Whoever claimed into a slot held its row lock until its commit, so that check sees every
-- claim into the slots this claim holds; other claimers skip them until this claim commits. Hence
-- at most one live task per slot, at most `size` slots: the pool's size holds across processes,
-- and two claims commit together (one disk flush for both).
--
-- After a pool shrinks (or when tasks still run that were claimed before this migration, slot
-- null) some live tasks sit outside slots 0 .. size-1, and the slot rule alone would let in more than
-- `size`. While the pool has such a task, claims on it take the old way: the per-pool advisory lock
-- until commit, and the count of live leases bounds the claim (as well as the free slots).
-- Drained (size 0): nothing is claimed, as before.

alter table tasks add column slot int;

create table pool_slots (
  pool text not null,
  slot int not null,
  primary key (pool, slot)
);

-- A pool's slot rows follow its largest size ever set (configured or override): rows past the size
-- in force are kept, unused.
create function sluice_pool_slots() returns trigger language plpgsql as $$
begin
  insert into pool_slots (pool, slot)
    select new.name, s from generate_series(0, greatest(new.size, coalesce(new.override_size, 0)) - 1) s
    on conflict do nothing;
  return null;
end $$;

create trigger pools_slots after insert or update of size, override_size on pools
  for each row execute function sluice_pool_slots();

insert into pool_slots (pool, slot)
  select p.name, s from pools p, generate_series(0, greatest(p.size, coalesce(p.override_size, 0)) - 1) s
  on conflict do nothing;

-- A pool's live leases: how many, the slots they hold, and whether any sits outside slots
-- 0 .. p_size-1 (none, or past a shrunk size). Called by sluice_claim as a statement of its own, so
-- under a fresh snapshot (read committed: one per statement; and one per query of a VOLATILE
-- function): it sees every claim committed before it was called, in particular before the slot
-- locks the caller holds were granted.
create function sluice_pool_live(p_pool text, p_size int, out n int, out slots int[], out outside boolean)
language sql volatile as $$
  select count(*)::int, coalesce(array_agg(t.slot) filter (where t.slot is not null), '{}'),
    coalesce(bool_or(t.slot is null or t.slot >= p_size), false)
  from tasks t where t.pool = p_pool and t.state = 'running' and t.lease_expires_at >= clock_timestamp()
$$;

-- Claim up to p_limit runnable tasks for one worker, respecting every pool's size across all
-- processes (see above). Expired leases are taken over first: that is crash recovery. The rows are
-- picked once, in materialized CTEs, so a claim takes exactly what it locked whatever the plan
-- (0010).
create or replace function sluice_claim(p_worker text, p_kinds text[], p_tags text[], p_limit int, p_lease_ms int)
returns setof tasks language plpgsql as $$
declare
  v_pool record;
  v_left int := p_limit;
  v_free int;
  v_slots int[];
  v_got int;
  v_live record;
  v_queued boolean;
  v_expired boolean;
begin
  for v_pool in select name, coalesce(override_size, size) as size from pools order by random() loop
    exit when v_left <= 0;
    continue when v_pool.size <= 0;
    -- cheap test before locking anything: anything runnable for us here? Written as ordered
    -- LIMIT 1 queries so the planner walks the tasks_queued / tasks_running index instead of
    -- scanning finished rows.
    v_queued := (
      select t.id from tasks t where t.pool = v_pool.name and t.state = 'queued' and t.run_after <= now()
        and t.kind = any(p_kinds) and t.tags <@ p_tags
      order by t.priority desc, t.run_after, t.id limit 1) is not null;
    v_expired := (
      select t.id from tasks t where t.pool = v_pool.name and t.state = 'running' and t.lease_expires_at < now()
        and t.kind = any(p_kinds) and t.tags <@ p_tags
      order by t.pool, t.lease_expires_at limit 1) is not null;
    continue when not v_queued and not v_expired;

    select * into v_live from sluice_pool_live(v_pool.name, v_pool.size);
    if v_live.outside then
      -- a task runs outside the slots (pool shrunk, or claimed before 0018): the old way
      perform pg_advisory_xact_lock(378830, hashtext(v_pool.name));
      select * into v_live from sluice_pool_live(v_pool.name, v_pool.size);
    end if;
    continue when v_pool.size - v_live.n <= 0;

    -- lock free slots, never waiting: a slot another claimer holds is skipped
    select array_agg(s.slot) into v_slots from (
      select ps.slot from pool_slots ps
        where ps.pool = v_pool.name and ps.slot < v_pool.size and ps.slot <> all(v_live.slots)
        order by ps.slot limit least(v_left, v_pool.size - v_live.n)
        for update skip locked) s;
    continue when v_slots is null;
    -- a new snapshot, taken after those locks: every claim into them that committed is seen
    select * into v_live from sluice_pool_live(v_pool.name, v_pool.size);
    select array_agg(x) into v_slots from unnest(v_slots) x where x <> all(v_live.slots);
    v_free := least(coalesce(cardinality(v_slots), 0), v_pool.size - v_live.n);
    continue when v_free <= 0;

    if v_expired then -- take over expired leases first: that is crash recovery
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
    end if;
    continue when v_free <= 0 or v_left <= 0 or not v_queued;

    return query
      with picked as materialized (
        select t.id from tasks t where t.pool = v_pool.name and t.state = 'queued' and t.run_after <= now()
          and t.kind = any(p_kinds) and t.tags <@ p_tags
        order by t.priority desc, t.run_after, t.id limit least(v_free, v_left) for update skip locked),
      numbered as (select id, row_number() over (order by id) as n from picked)
      update tasks set state = 'running', lease_owner = p_worker, slot = v_slots[numbered.n],
        lease_expires_at = clock_timestamp() + p_lease_ms * interval '1 millisecond',
        token = tasks.token + 1, attempts = tasks.attempts + 1, started_at = clock_timestamp()
      from numbered where tasks.id = numbered.id
      returning tasks.*;
    get diagnostics v_got = row_count;
    v_left := v_left - v_got;
  end loop;
end $$;

-- A worker's completions without domain writes, and the claim that refills the slots they free, in
-- one statement and one commit (one round trip per batch instead of two). Returns the completed
-- rows (state 'succeeded'; a task missing among them lost its lease) and the claimed ones
-- (state 'running', lease_owner p_worker). The claim runs after the completions in the same
-- transaction, so it sees their slots free.
create function sluice_finish(p_ids bigint[], p_tokens bigint[], p_worker text, p_kinds text[], p_tags text[],
  p_limit int, p_lease_ms int)
returns setof tasks language plpgsql as $$
begin
  return query
    update tasks t set state = 'succeeded', finished_at = now(), lease_owner = null, lease_expires_at = null,
      last_error = null
    from unnest(p_ids, p_tokens) as x(id, token)
    where t.id = x.id and t.token = x.token and t.state = 'running'
    returning t.*;
  if p_limit > 0 then
    return query select * from sluice_claim(p_worker, p_kinds, p_tags, p_limit, p_lease_ms);
  end if;
end $$;
