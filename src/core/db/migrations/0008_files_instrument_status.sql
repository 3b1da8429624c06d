-- The dashboard's instrument cards count files by instrument and status: an index-only scan of
-- this index instead of a scan of the whole files table.
create index files_instrument_status on files (instrument_id, status);
