-- The remover marks an instrument copy 'removing' before it deletes it, so a deletion cut short (a
-- killed worker, a folder half gone) is finished by the next pass, and a scan does not take the
-- remnant for a new acquisition.
alter table files drop constraint files_instrument_copy_check;
alter table files add constraint files_instrument_copy_check
  check (instrument_copy in ('present', 'moved', 'purged', 'missing', 'removing'));
