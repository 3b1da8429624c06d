-- Backup targets besides the filesystem backup (issue #19): a file has one verified copy per target
-- (`copies.target`: 'backup' for the filesystem, an S3 target's name otherwise; the unique index
-- copies_one_verified already holds one per file and target). The upkeep of a target looks for the
-- files that have a verified filesystem copy but none on the target: this index serves that look-up
-- and the per-target counts of `sluice status`.
create index copies_target_verified on copies (target, file_id) where state = 'verified';
