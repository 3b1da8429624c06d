-- Every remover pass looks for deletions cut short (instrument_copy 'removing'); this index holds
-- only those rows, so the lookup stays cheap however many files an instrument has.
create index files_removing on files (instrument_id) where instrument_copy = 'removing';
