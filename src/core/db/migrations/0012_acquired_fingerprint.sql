-- What the scan saw when it declared an acquisition finished (issue #16): total size, newest mtime
-- and, for folders and file sets, every member (rel, size, mtime). The backup copies a record only
-- while its source still matches this; the same-content check compares earlier records against it.
-- Records acquired before this migration have none: readers fall back to size_bytes and mtime.
alter table files add column acquired_fingerprint jsonb;

-- `lost`: the data a record acquired was replaced or changed on the instrument before any copy was
-- made. Terminal; a retry cannot bring the bytes back (what is there now has its own record).
alter table files drop constraint files_status_check;
alter table files add constraint files_status_check
  check (status in ('discovered', 'acquiring', 'acquired', 'backing_up', 'backed_up', 'processing',
    'processed', 'done', 'done_not_processed', 'ignored', 'acquisition_failed', 'processing_failed',
    'error', 'lost'));
