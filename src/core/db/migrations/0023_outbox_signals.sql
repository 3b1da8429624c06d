-- Sluice's own events out, and acquisition signals in (issue #21; src/streams/outbox-repo.ts and
-- src/streams/signals-repo.ts own these tables).
--
-- outbox: one row per file timeline event (events with subject_type 'file'), written by the trigger
-- below in the transaction that records the event, so a change and its outbox row commit (or vanish)
-- together, whichever code path wrote the event. The publisher (src/streams/outbox.ts) sends each row
-- to JetStream after the commit with Nats-Msg-Id = '<subject prefix>.<event id>', marks it published,
-- and prunes published rows after `streams.publish.keep_published_hours`.
-- outbox_switch: at most one row, written at start by every Sluice process from its config
-- (`streams.publish` present or not); the trigger writes nothing unless it says `enabled`. No row (a
-- fresh database, one being restored) counts as off. Not seeded here, so that a restore, which loads
-- a backup's rows into freshly migrated tables, finds it empty like every other table.
create table outbox_switch (
  one boolean primary key default true check (one),
  enabled boolean not null default false
);

create table outbox (
  event_id bigint primary key,
  instrument text,
  kind text not null,
  payload jsonb not null,
  created_at timestamptz not null default now(),
  published_at timestamptz
);
create index outbox_unpublished on outbox (event_id) where published_at is null;
create index outbox_published on outbox (published_at) where published_at is not null;

-- One statement-level trigger (a transition table, one insert … select per statement): a bulk insert
-- of 10,000 discovery events costs one extra statement, and nothing but a one-row look-up when off.
create function outbox_file_events() returns trigger language plpgsql as $$
begin
  if not coalesce((select enabled from outbox_switch), false) then
    return null;
  end if;
  insert into outbox (event_id, instrument, kind, payload)
  select n.id, f.instrument_id, coalesce(n.to_state, 'timeline'),
    jsonb_build_object(
      'event_id', n.id, 'at', n.at, 'file', n.subject_id, 'instrument', f.instrument_id,
      'name', f.name, 'source_path', f.source_path, 'project', f.project_id,
      'from', n.from_state, 'to', n.to_state, 'actor', n.actor, 'reason', n.reason, 'data', n.data)
  from new_events n left join files f on f.id = n.subject_id
  where n.subject_type = 'file'
  order by n.id;
  return null;
end
$$;
create trigger events_outbox after insert on events
  referencing new table as new_events
  for each statement execute function outbox_file_events();

-- acquisition_signals: "acquisition finished" events taken from a stream (an instrument's
-- `acquisition_done.stream`), per instrument and entry name in its watch folder. The scan reads them
-- as an acquisition-done rule (src/intake/rules.ts) and deletes the ones it used; unused ones are
-- pruned after a day.
create table acquisition_signals (
  instrument text not null,
  name text not null,
  source text not null,
  stream_seq bigint not null,
  received_at timestamptz not null default now(),
  primary key (instrument, name)
);
