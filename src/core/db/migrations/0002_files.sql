-- Instruments, raw data files and their backup copies.

create table instruments (
  id text primary key,
  type text not null,
  watch_path text not null,
  online boolean,
  offline_reason text,
  checked_at timestamptz,
  free_bytes bigint,
  total_bytes bigint,
  last_new_file_at timestamptz,
  updated_at timestamptz not null default now()
);

-- One row per acquisition (raw data item). `id` is the name as the instrument wrote it, or a
-- timestamp-prefixed collision id when the same name comes back with different content.
create table files (
  id text primary key,
  instrument_id text not null,
  name text not null,
  kind text not null check (kind in ('file', 'folder', 'files')),
  companions text[] not null default '{}',
  source_path text not null,            -- where it was found
  current_path text,                    -- where the instrument copy is now (null once purged)
  project_id text not null,
  status text not null check (status in ('discovered', 'acquiring', 'acquired', 'backing_up', 'backed_up',
    'processing', 'processed', 'done', 'done_not_processed', 'ignored', 'acquisition_failed',
    'processing_failed', 'error')),
  status_reason text,
  size_bytes bigint not null,
  mtime timestamptz not null,
  first_seen_at timestamptz not null default now(),
  last_change_at timestamptz not null default now(), -- last time size or mtime changed
  main_file_present boolean not null default true,
  acquired_at timestamptz,
  hash_algorithm text,
  manifest jsonb,                       -- per contained file: rel, size, mtimeMs, hash (of the verified copy)
  instrument_copy text not null default 'present' check (instrument_copy in ('present', 'moved', 'purged', 'missing')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index files_instrument_name on files (instrument_id, name, created_at desc);
create index files_status on files (status, updated_at);
create index files_created on files (created_at desc, id);
create index files_project on files (project_id, created_at desc);

create table copies (
  id bigserial primary key,
  file_id text not null references files (id),
  target text not null,                 -- e.g. 'backup'
  location text not null,               -- path (or URL) of the copy
  state text not null check (state in ('verified', 'replaced', 'corrupt')),
  hash_algorithm text not null,
  manifest jsonb not null,
  bytes bigint not null,
  seconds double precision,
  associated boolean not null default false, -- an existing identical copy was found, nothing copied
  verified_at timestamptz not null default now(),
  created_at timestamptz not null default now()
);
create index copies_file on copies (file_id);
create unique index copies_one_verified on copies (file_id, target) where state = 'verified';
