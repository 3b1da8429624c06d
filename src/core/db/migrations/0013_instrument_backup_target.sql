-- Why an instrument's copies wait (src/backup/target.ts): the backup target is not mounted, or its
-- marker is missing or names another instance. Null when the last check passed. Shown beside the
-- instrument's offline reason (dashboard, `sluice status`, /api/instruments) and alerted on
-- (rule backup_target_unavailable).
alter table instruments add column backup_target_problem text;
alter table instruments add column backup_target_checked_at timestamptz;
