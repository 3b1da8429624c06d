-- The engine: leased tasks, pools, periodic schedules, worker processes, the event log,
-- runtime variables with their audit trail.

create table tasks (
  id bigserial primary key,
  kind text not null,
  subject text,                                   -- what the task works on, e.g. a file id
  payload jsonb not null default '{}',
  pool text not null default 'default',
  tags text[] not null default '{}',              -- a worker must have all of these
  state text not null default 'queued'
    check (state in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  priority int not null default 0,                -- higher first
  attempts int not null default 0,
  max_attempts int not null default 10,
  run_after timestamptz not null default now(),
  lease_owner text,
  lease_expires_at timestamptz,
  token bigint not null default 0,                -- fencing token, bumped on every claim
  dedupe_key text,
  last_error text,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz
);
create index tasks_queued on tasks (pool, priority desc, run_after, id) where state = 'queued';
create index tasks_running on tasks (pool, lease_expires_at) where state = 'running';
create index tasks_subject on tasks (subject, kind);
create unique index tasks_dedupe on tasks (dedupe_key) where dedupe_key is not null and state in ('queued', 'running');

-- Named limits on concurrent work across all processes. size comes from config at start;
-- override_size is the operator's runtime setting (null = use size). 0 drains the pool.
create table pools (
  name text primary key,
  size int not null check (size >= 0),
  override_size int check (override_size >= 0),
  updated_by text,
  updated_at timestamptz not null default now()
);

create table pool_audit (
  id bigserial primary key,
  pool text not null,
  old_size int,
  new_size int,
  actor text not null,
  at timestamptz not null default now()
);

-- Periodic work: any worker runs a due schedule, exactly once per period.
create table schedules (
  name text primary key,
  kind text not null,
  payload jsonb not null default '{}',
  pool text not null default 'default',
  tags text[] not null default '{}',
  interval_ms bigint,
  cron text,
  next_run_at timestamptz not null,
  last_run_at timestamptz,
  enabled boolean not null default true,
  check ((interval_ms is null) <> (cron is null))
);

create table workers (
  id text primary key,
  host text not null,
  pid int not null,
  role text not null,
  tags text[] not null default '{}',
  kinds text[] not null default '{}',
  version text not null,
  started_at timestamptz not null default now(),
  last_heartbeat_at timestamptz not null default now(),
  stopped_at timestamptz
);

-- Per-subject event log: every state transition, who, when, from, to, why.
create table events (
  id bigserial primary key,
  subject_type text not null,
  subject_id text not null,
  at timestamptz not null default clock_timestamp(),
  actor text not null,
  from_state text,
  to_state text,
  reason text,
  data jsonb
);
create index events_subject on events (subject_type, subject_id, id);

create table variable_overrides (
  name text primary key,
  value jsonb not null,
  updated_by text not null,
  updated_at timestamptz not null default now()
);

create table variable_audit (
  id bigserial primary key,
  name text not null,
  old_value jsonb,
  new_value jsonb,
  actor text not null,
  at timestamptz not null default now()
);

-- Wake-ups: a new runnable task notifies listeners with its pool name.
create function sluice_notify_task() returns trigger language plpgsql as $$
begin
  if new.state = 'queued' and new.run_after <= now() then
    perform pg_notify('sluice_tasks', new.pool);
  end if;
  return null;
end $$;
create trigger tasks_notify after insert or update of state, run_after on tasks
  for each row when (new.state = 'queued') execute function sluice_notify_task();

-- Claim up to p_limit runnable tasks for one worker, respecting every pool's size across all
-- processes. Claims on one pool are serialised by a transaction-scoped advisory lock, so the
-- count of live leases and the claim that follows cannot interleave with another claimer.
-- (plpgsql takes a new snapshot per statement, so the count sees every claim committed
-- before the lock was granted.) Expired leases are taken over first: that is crash recovery.
create function sluice_claim(p_worker text, p_kinds text[], p_tags text[], p_limit int, p_lease_ms int)
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
      update tasks set lease_owner = p_worker,
        lease_expires_at = clock_timestamp() + p_lease_ms * interval '1 millisecond',
        token = token + 1, attempts = attempts + 1, started_at = clock_timestamp()
      where id in (
        select id from tasks t where t.pool = v_pool.name and t.state = 'running'
          and t.lease_expires_at < clock_timestamp() and t.kind = any(p_kinds) and t.tags <@ p_tags
        order by t.id limit least(v_free, v_left) for update skip locked)
      returning *;
    get diagnostics v_got = row_count;
    v_free := v_free - v_got;
    v_left := v_left - v_got;
    continue when v_free <= 0 or v_left <= 0;

    return query
      update tasks set state = 'running', lease_owner = p_worker,
        lease_expires_at = clock_timestamp() + p_lease_ms * interval '1 millisecond',
        token = token + 1, attempts = attempts + 1, started_at = clock_timestamp()
      where id in (
        select id from tasks t where t.pool = v_pool.name and t.state = 'queued' and t.run_after <= now()
          and t.kind = any(p_kinds) and t.tags <@ p_tags
        order by t.priority desc, t.run_after, t.id limit least(v_free, v_left) for update skip locked)
      returning *;
    get diagnostics v_got = row_count;
    v_left := v_left - v_got;
  end loop;
end $$;
