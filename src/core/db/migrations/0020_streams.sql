-- Streams (issue #21, src/streams/repo.ts owns these tables).
-- stream_items: one row per message taken from a JetStream source. Unique on (stream, stream_seq),
-- where `stream` is the JetStream stream's name and creation time (`LIMS@2026-12-07T01:00:00.123Z`):
-- a redelivered message (after a crash before its ack) never makes a second item, and a stream that is
-- recreated (its sequences start again at 1) or a source pointed at another stream cannot collide. `channels` lists
-- the channels that accepted the item; the rejections are in filter_decisions with their reason.
create table stream_items (
  id bigint generated always as identity primary key,
  source text not null,
  stream text not null,
  stream_seq bigint not null,
  msg_id text,
  subject text not null,
  payload jsonb not null,
  channels text[] not null default '{}',
  received_at timestamptz not null default now(),
  unique (stream, stream_seq)
);
create index stream_items_received on stream_items (source, received_at);

-- What a filter said no to, and why (accepted items have no row here: their channel is in
-- stream_items.channels).
create table filter_decisions (
  item_id bigint not null references stream_items (id) on delete cascade,
  channel text not null,
  unit text not null,
  unit_version text not null,
  config_hash text not null,
  reason text not null,
  at timestamptz not null default now(),
  primary key (item_id, channel)
);

-- Results of compute units: a new row per run (history kept); the unit's version and the hash of its
-- config say what made each one.
create table unit_results (
  id bigint generated always as identity primary key,
  item_id bigint not null references stream_items (id) on delete cascade,
  unit text not null,
  unit_version text not null,
  config_hash text not null,
  result jsonb not null,
  at timestamptz not null default now()
);
create index unit_results_item on unit_results (item_id, unit, id);

-- Messages that could not be stored after max_deliveries deliveries (or that can never be: not
-- JSON); the message is terminated on the server once its row is here. Unique per message.
create table stream_dead_letters (
  id bigint generated always as identity primary key,
  source text not null,
  stream text not null,
  stream_seq bigint not null,
  subject text not null,
  data bytea not null,
  deliveries integer not null,
  reason text not null,
  at timestamptz not null default now(),
  unique (stream, stream_seq)
);
