-- Fallback and catch-up (docs/fallback.md).

-- The instance mode of each process (`instance.mode` / `sluice start --fallback`), for `sluice status`.
alter table workers add column mode text not null default 'normal' check (mode in ('normal', 'fallback'));

-- A job recorded from an existing, finished output (its manifest names this job's key and settings)
-- instead of being submitted: nothing ran for this row.
alter table jobs add column associated boolean not null default false;
