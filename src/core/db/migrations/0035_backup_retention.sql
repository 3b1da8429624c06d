-- Retention of the backup area once a set is archived and verified (issue #20 item 6;
-- src/archive/retention.ts). A primary backup copy may become `released`: deliberately removed from
-- the backup area because verified archives hold the file. The row is marked in the transaction
-- that re-checks the archives; the bytes are removed after the commit (`removed_at` records that
-- they are gone, so the next pass finishes a removal a crash cut short). No row is inserted here.
alter table copies drop constraint copies_state_check;
alter table copies add constraint copies_state_check
  check (state in ('verified', 'replaced', 'corrupt', 'released'));
alter table copies add column released_at timestamptz;
alter table copies add column removed_at timestamptz;
create index copies_release_unfinished on copies (id) where state = 'released' and removed_at is null;
