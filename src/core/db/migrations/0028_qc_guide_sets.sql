-- QC guide sets: a baseline period an operator marks per instrument and metric (after a column change,
-- a cleaning). Its mean, sd and mean moving range are computed once from the points of that period and
-- recorded with who and when; it is in force from `from_at` until the next guide set of the same
-- instrument and metric starts. Kept for good (retired ones stay, so old charts can be redrawn).

create table qc_guide_sets (
  id bigserial primary key,
  instrument_id text not null,
  metric text not null,
  from_at timestamptz not null,
  to_at timestamptz not null,
  points integer not null,
  mean double precision not null,
  sd double precision not null,
  mean_mr double precision,
  note text,
  created_by text not null,
  created_at timestamptz not null default now(),
  retired_at timestamptz,
  retired_by text,
  check (to_at > from_at),
  check (points >= 2 and sd >= 0)
);

create index qc_guide_sets_instrument_metric on qc_guide_sets (instrument_id, metric, from_at);
