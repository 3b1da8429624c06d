-- Fixity audits (src/backup/fixity.ts): every backup copy is re-read from storage against its
-- recorded hashes on a rolling schedule. Each re-read is a row in fixity_checks (its history); the
-- copy keeps the latest result, so picking the least recently audited copy stays one index scan.
alter table copies add column last_fixity_at timestamptz;
alter table copies add column last_fixity_ok boolean;

create table fixity_checks (
  id bigserial primary key,
  copy_id bigint not null references copies (id),
  file_id text not null references files (id),
  at timestamptz not null default now(),
  actor text not null,                  -- 'fixity' (the scheduled audit) or 'remover' (before a deletion)
  ok boolean not null,
  read text check (read in ('direct', 'cached')), -- O_DIRECT from storage, the page cache, null: not read (listing or sizes differed)
  bytes bigint not null,
  seconds double precision not null,
  problems jsonb                        -- what differed, when not ok
);
create index fixity_checks_copy on fixity_checks (copy_id, id desc);
create index fixity_checks_problems on fixity_checks (at) where not ok;

-- The audit's pick: verified copies, least recently audited (or verified) first.
create index copies_fixity_due on copies ((coalesce(last_fixity_at, verified_at)), id) where state = 'verified';
