-- Fast, clean recovery (issue 16, item 6).
--
-- workers: what a process on the same host needs to tell, for certain, that a registered worker is
-- gone: the start time of its process (/proc/<pid>/stat field 22, clock ticks since boot, so a
-- recycled pid is not mistaken for it), the kernel's boot id and the pid namespace it ran in (two
-- containers may share a host name; a pid means the same process only within one boot and one pid
-- namespace). died_at/death: when and why it was found dead (by a worker on its host, or after
-- several lease periods without a heartbeat); `sluice status` shows it as dead, then forgets it.
alter table workers
  add column proc_start text,
  add column boot_id text,
  add column pid_ns text,
  add column died_at timestamptz,
  add column death text;

-- tasks.taken_over: set when a claim takes a running task over from another worker (its lease
-- expired, or its worker was found dead): which attempt on which worker was cut short, and why.
-- The new attempt writes it into the subject's timeline as it starts; a claim from the queue
-- clears it. A trigger (not sluice_claim itself) records it, so any claim function gets it.
alter table tasks add column taken_over jsonb;

create function sluice_task_takeover() returns trigger language plpgsql as $$
declare
  v_worker record;
begin
  if old.state = 'running' and new.state = 'running' and new.lease_owner is not null
     and old.lease_owner is not null and new.lease_owner <> old.lease_owner then
    select died_at, death, last_heartbeat_at, stopped_at into v_worker from workers where id = old.lease_owner;
    new.taken_over := jsonb_build_object(
      'attempt', old.attempts,
      'worker', old.lease_owner,
      'by', new.lease_owner,
      'lease_expired_at', old.lease_expires_at,
      'cause', case
        when v_worker.died_at is not null then 'worker_died'
        when v_worker.last_heartbeat_at is not null
          and v_worker.last_heartbeat_at < old.lease_expires_at - interval '1 second' then 'no_heartbeat'
        else 'lease_expired' end,
      'death', v_worker.death,
      'last_heartbeat_at', v_worker.last_heartbeat_at);
  elsif new.state = 'running' and old.state is distinct from 'running' then
    new.taken_over := null;
  end if;
  return new;
end $$;

create trigger tasks_takeover before update of lease_owner, state on tasks
  for each row when (old.lease_owner is distinct from new.lease_owner or old.state is distinct from new.state)
  execute function sluice_task_takeover();
