-- Archive policies' `what: [raw, outputs, metrics]` (issue #20 item 2; src/archive/pack-extras.ts).
-- An archive member is now of a kind: `raw` (the raw set, from its verified backup; hashed against the
-- backup's recorded hashes), `output` (a file of a finished job's output folder, hashed at pack time:
-- first sight, verified from the archive on; `job_row_id` names the job) or `metrics` (the file's
-- metric rows written as JSON). `tar_removed_at`: when the tar of a `corrupt` archive was removed from
-- its target, once every member was in a verified archive there again (src/archive/condemned.ts).
alter table archive_members add column kind text not null default 'raw'
  check (kind in ('raw', 'output', 'metrics'));
alter table archive_members add column job_row_id bigint;
alter table archives add column tar_removed_at timestamptz;
