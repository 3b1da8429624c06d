-- Archives in long-term storage, the WRITE side (issue #20; src/archive/ owns these tables).
--
-- archive_items: one row per file and archive target a policy chose for it: whether it waits to be
--   packed (`due`, from `due_at`), is in an archive being written (`packing`, `archive_id` says which),
--   or is held by an archive that verified (`archived`). The policy pass and `archiveAfterBackup`
--   insert rows; the pack task moves them. A file counts as archived on a target only here.
-- archives: one POSIX (pax) tar per row on one target: `writing` (being packed and written; nothing
--   of it counts), `written` (complete on the target, members recorded, not yet read back),
--   `archived` (read back from the target, every member re-hashed against the manifest), `failed`
--   (given up: why in `reason`; its items went back to `due`). `key` is the object key (s3) or the
--   path under the target's root (filesystem); `location` the full place (path or s3://bucket/key).
-- archive_members: what an archive holds, the BagIt-style manifest in the database: the member's
--   path in the tar (`data/<instrument>/<file id>/<rel>`), its file and path relative to the file's
--   root (`rel`, as in the copy's manifest), size, sha256, and where it sits in the tar (the 512-byte
--   header block(s) start at `header_offset`, the content at `data_offset`), mode and mtime.
create table archives (
  id bigserial primary key,
  target text not null,
  target_kind text not null check (target_kind in ('filesystem', 's3')),
  key text not null,
  location text not null,
  storage_class text,                   -- s3: the class it was written with (e.g. DEEP_ARCHIVE)
  state text not null check (state in ('writing', 'written', 'archived', 'failed')),
  reason text,                          -- why failed / why the last attempt did not verify
  attempts integer not null default 0,  -- writes started
  members integer not null default 0,
  member_bytes bigint not null default 0,
  size_bytes bigint,                    -- of the tar
  sha256 text,                          -- of the tar as written
  manifest_sha256 text,                 -- of manifest-sha256.txt inside it
  created_at timestamptz not null default now(),
  written_at timestamptz,
  verified_at timestamptz,
  last_fixity_at timestamptz,
  last_fixity_ok boolean,
  unique (target, key)
);
create index archives_state on archives (state, created_at);
create index archives_target_archived on archives (target, verified_at) where state = 'archived';

create table archive_members (
  archive_id bigint not null references archives (id) on delete cascade,
  file_id text not null references files (id),
  path text not null,
  rel text not null,
  size bigint not null,
  sha256 text not null,
  header_offset bigint not null,
  data_offset bigint not null,
  mode integer not null,
  mtime timestamptz not null,
  primary key (archive_id, path)
);
create index archive_members_file on archive_members (file_id, archive_id);

create table archive_items (
  file_id text not null references files (id),
  target text not null,
  policy text not null,
  state text not null check (state in ('due', 'packing', 'archived')),
  due_at timestamptz not null,
  bytes bigint not null,                -- the file's size when chosen (packing bounds an archive by it)
  archive_id bigint references archives (id),
  attempts integer not null default 0,  -- archives that held it and did not verify
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  archived_at timestamptz,
  primary key (file_id, target)
);
create index archive_items_due on archive_items (target, due_at) where state = 'due';
create index archive_items_archive on archive_items (archive_id);
