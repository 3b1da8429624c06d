-- Processing: versioned settings, jobs on an executor (SLURM or local), metrics per file and settings.

create table processing_settings (
  name text not null,
  version int not null,
  software text not null,
  software_version text not null,
  definition jsonb not null,          -- template, params, resources, metrics, known errors
  content_hash text not null,
  created_at timestamptz not null default now(),
  primary key (name, version)
);

-- One row per job (one file × one settings version × attempt). `key` is the job's name at the
-- scheduler, so a job submitted just before a crash is found again instead of submitted twice.
create table jobs (
  id bigserial primary key,
  file_id text not null references files (id),
  settings_name text not null,
  settings_version int not null,
  attempt int not null default 1,
  key text not null unique,
  executor text not null,
  job_id text,                        -- the scheduler's id once submitted
  state text not null default 'new' check (state in ('new', 'submitting', 'PENDING', 'RUNNING', 'COMPLETED', 'FAILED',
    'TIMEOUT', 'OUT_OF_MEMORY', 'CANCELLED', 'NODE_FAIL', 'LOST', 'SKIPPED')),
  output_dir text not null,
  params jsonb not null default '{}',
  unknown_checks int not null default 0,
  exit_code int,
  elapsed_s double precision,
  log_tail text,
  outcome text check (outcome in ('success', 'known_error', 'unknown_error')),
  reason text,
  cancel_requested_by text,
  submitted_at timestamptz,
  finished_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index jobs_file on jobs (file_id);
create index jobs_active on jobs (state) where state in ('new', 'submitting', 'PENDING', 'RUNNING');

create table metrics (
  file_id text not null references files (id),
  settings_name text not null,
  settings_version int not null,
  name text not null,
  value double precision,
  job_row_id bigint references jobs (id),
  created_at timestamptz not null default now(),
  primary key (file_id, settings_name, settings_version, name)
);
create index metrics_name_time on metrics (name, created_at);
