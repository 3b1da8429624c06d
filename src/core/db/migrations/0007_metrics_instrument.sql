-- QC charts are drawn per instrument: metrics carry their file's instrument (set by a trigger, so
-- every writer gets it) and are indexed by (instrument, name, time, file). A series of 100,000
-- points of one instrument is then one index range scan in time order (no sort, no lookup of each
-- point's file, and no visit of the table: the value is in the index); the file id breaks ties
-- between points of the same time.

alter table metrics add column instrument_id text;

update metrics m set instrument_id = f.instrument_id from files f where f.id = m.file_id;

create function sluice_metrics_instrument() returns trigger language plpgsql as $$
begin
  if new.instrument_id is null then
    select f.instrument_id into new.instrument_id from files f where f.id = new.file_id;
  end if;
  return new;
end $$;

create trigger metrics_instrument before insert on metrics
  for each row execute function sluice_metrics_instrument();

drop index metrics_name_time;
create index metrics_name_time_file on metrics (name, created_at, file_id) include (value);
create index metrics_instrument_name_time_file on metrics (instrument_id, name, created_at, file_id) include (value);
