-- Fixity audits of archived sets (issue #20; src/archive/fixity.ts). An archive whose re-read no
-- longer matches its recorded member hashes becomes `corrupt`: it never counts as archived again
-- (cleanup.require and retrieval only take `archived` ones), its files' items are due again so a
-- new archive is written from their backups, and the `backup_failure` alert names it.
alter table archives drop constraint archives_state_check;
alter table archives add constraint archives_state_check
  check (state in ('writing', 'written', 'archived', 'failed', 'corrupt'));
create index archives_fixity_due on archives (coalesce(last_fixity_at, verified_at)) where state = 'archived';
