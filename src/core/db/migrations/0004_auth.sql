-- Local users, browser sessions and API tokens; indexes for the API's file listing.

-- Roles are ordered: viewer < operator < admin. `password_hash` encodes the algorithm, its
-- parameters and the salt (`scrypt$N$r$p$salt$hash`), so parameters can be raised later and old
-- hashes still verify. A generated password is one-time: `must_change_password` is set until the
-- user chooses their own.
create table users (
  id bigserial primary key,
  name text not null unique check (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  password_hash text not null,
  role text not null check (role in ('viewer', 'operator', 'admin')),
  must_change_password boolean not null default false,
  disabled boolean not null default false,
  created_by text not null,
  created_at timestamptz not null default now(),
  password_changed_at timestamptz not null default now()
);

-- A browser session. The cookie carries 32 random bytes (base64url); only their sha256 is stored,
-- so a copy of this table cannot be used to log in. `csrf_token` must come back in the
-- X-CSRF-Token header of every write made with the session.
create table sessions (
  id text primary key,                  -- sha256 (hex) of the cookie value
  user_id bigint not null references users (id) on delete cascade,
  csrf_token text not null,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index sessions_user on sessions (user_id);
create index sessions_expires on sessions (expires_at);

-- A token for scripts (`Authorization: Bearer <token>`). Only the sha256 of the token is stored.
-- Its role is at most its user's role when created; at use the lower of the two applies, so
-- demoting a user demotes their tokens.
create table api_tokens (
  id bigserial primary key,
  user_id bigint not null references users (id) on delete cascade,
  name text not null check (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  token_hash text not null unique,
  role text not null check (role in ('viewer', 'operator', 'admin')),
  created_by text not null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
create unique index api_tokens_active_name on api_tokens (user_id, name) where revoked_at is null;

-- Keyset pagination of files (`GET /api/files`): (sort key, id) in both directions.
create index files_created_id on files (created_at, id);
create index files_name_id on files (name, id);
create index files_size_id on files (size_bytes, id);
create index files_instrument_created_id on files (instrument_id, created_at, id);

-- Substring search on file names (`?q=`) uses a trigram index when pg_trgm can be installed (it
-- ships with PostgreSQL's contrib and with embedded PostgreSQL). Without it the search still works,
-- by scanning.
do $$
begin
  create extension if not exists pg_trgm;
  execute 'create index files_name_trgm on files using gin (name gin_trgm_ops)';
exception when others then
  raise notice 'pg_trgm is not available (%); file name search works without an index', sqlerrm;
end $$;
