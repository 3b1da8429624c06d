-- The health page's backup targets at scale (src/files/target-health.ts): per target, when its
-- newest copy was verified and how long ago its copy read longest ago was last read (or verified),
-- and how many copies were found corrupt. It grouped every row of `copies` on each request (1.9 s
-- at 1,000,000 files on two targets); with these indexes each figure is one short index descent
-- per target, whatever the number of copies.
create index copies_target_verified_at on copies (target, verified_at) where state = 'verified';
create index copies_target_read on copies (target, (coalesce(last_fixity_at, verified_at))) where state = 'verified';
create index copies_target_corrupt on copies (target) where state = 'corrupt';
