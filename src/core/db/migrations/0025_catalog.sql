-- Catalog (issue #22, src/catalog/ owns these tables): projects, their members, samples, the
-- relations between samples, raw data files and data sets, and the history of every change.

-- Projects: those in the config are created and kept in step at start (`in_config`); more are added
-- through the CLI or API. `visibility` 'members': only the project's members (and admins) see its
-- samples, files and metrics.
create table projects (
  id text primary key,
  name text not null,
  in_config boolean not null default false,
  visibility text not null default 'all' check (visibility in ('all', 'members')),
  created_by text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Members by user name (users are src/auth's; a member row may name a user created later).
create table project_members (
  project_id text not null references projects (id) on delete cascade,
  user_name text not null,
  added_by text not null,
  added_at timestamptz not null default now(),
  primary key (project_id, user_name)
);
create index project_members_user on project_members (user_name);

-- Samples: `refcode` is the stable id labs write on tubes and in sheets; attributes are validated
-- against the project's or the type's JSON Schema (catalog.attribute_schemas in the config).
create table samples (
  id bigint generated always as identity primary key,
  refcode text not null unique,
  name text not null,
  project_id text not null references projects (id),
  type text,
  attributes jsonb not null default '{}',
  created_by text not null,
  created_at timestamptz not null default now(),
  updated_by text not null,
  updated_at timestamptz not null default now()
);
create index samples_project on samples (project_id, refcode);

-- Data sets: named collections (a study, a submission) of samples and raw data files.
create table datasets (
  id bigint generated always as identity primary key,
  name text not null unique,
  description text not null default '',
  project_id text references projects (id),
  created_by text not null,
  created_at timestamptz not null default now()
);

-- The graph: `subject relation object`, e.g. file F measured sample S, sample S part_of data set D,
-- sample A derived_from sample B. Samples are named by refcode, data sets by id, files by id.
-- `via`: how it was made (a filename pattern at acquisition, by hand, an import); `detail` keeps
-- the pattern's named groups (replicate …).
create table catalog_relations (
  subject_kind text not null check (subject_kind in ('file', 'sample', 'dataset')),
  subject_id text not null,
  relation text not null check (relation in ('measured', 'derived_from', 'part_of')),
  object_kind text not null check (object_kind in ('file', 'sample', 'dataset')),
  object_id text not null,
  via text not null check (via in ('pattern', 'manual')),
  detail jsonb not null default '{}',
  created_by text not null,
  created_at timestamptz not null default now(),
  primary key (subject_kind, subject_id, relation, object_kind, object_id)
);
create index catalog_relations_object on catalog_relations (object_kind, object_id, relation);

-- Every change to a project, sample, relation or data set: who, when, before and after.
create table catalog_history (
  id bigint generated always as identity primary key,
  entity text not null check (entity in ('project', 'sample', 'relation', 'dataset')),
  entity_id text not null,
  action text not null check (action in ('create', 'update', 'delete')),
  actor text not null,
  at timestamptz not null default now(),
  before jsonb,
  after jsonb
);
create index catalog_history_entity on catalog_history (entity, entity_id, id);
