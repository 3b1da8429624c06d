-- Retrieval of archived sets (issue #20; src/archive/retrieve-repo.ts owns these tables).
--
-- archive_fetches: one restore + one download of one archive into the retrieval area, shared by every
--   request for a set in it: `requested → restoring → downloading → verified | failed` (why in `why`),
--   then `expired` once the sweep removed the retrieved copy (`expires_at`). At most one live fetch
--   (requested, restoring, downloading, verified) per archive: the partial unique index makes
--   concurrent requests meet on the same row. `path` is the folder the archive was extracted to; it
--   exists under that name only once every member was verified (a fetch still downloading writes to
--   a `.partial-<id>` folder beside it).
-- retrievals: one row per request of one set (file) by someone, pointing at the fetch serving it; the
--   set is at `<fetch path>/<prefix>` once the fetch is verified.
create table archive_fetches (
  id bigserial primary key,
  archive_id bigint not null references archives (id),
  state text not null check (state in ('requested', 'restoring', 'downloading', 'verified', 'failed', 'expired')),
  why text,
  requested_by text not null,
  requested_at timestamptz not null default now(),
  restore_asked_at timestamptz,
  download_started_at timestamptz,
  bytes_total bigint not null,
  bytes_done bigint not null default 0,
  members_done integer not null default 0,
  path text,
  verified_at timestamptz,
  expires_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz not null default now()
);
create unique index archive_fetches_live on archive_fetches (archive_id)
  where state in ('requested', 'restoring', 'downloading', 'verified');
create index archive_fetches_expiry on archive_fetches (expires_at) where state = 'verified';
create index archive_fetches_state on archive_fetches (state, requested_at);

create table retrievals (
  id bigserial primary key,
  file_id text not null references files (id),
  fetch_id bigint not null references archive_fetches (id),
  prefix text not null,                 -- the set's folder inside the fetch's folder (data/<instrument>/<file id>)
  requested_by text not null,
  requested_at timestamptz not null default now()
);
create index retrievals_file on retrievals (file_id, requested_at);
create index retrievals_fetch on retrievals (fetch_id);
