-- File-name search by words (issue #22 bench; src/files/name-words.ts, src/files/catalog-reads.ts).
-- A term is first looked for at the start of a name's words: this index holds each name's words
-- (cut at every ASCII character that is not a letter or digit, lower-cased, the name's first 500
-- characters so that no word exceeds a full-text lexeme's 2047 bytes). Only when no name holds the
-- term at a word's start is it looked for anywhere in names (trigram index files_name_trgm).
-- The expression must stay exactly NAME_WORDS_SQL in src/files/name-words.ts (a test checks the
-- search's plan uses this index). Builds the index over existing files; inserts no rows.
create index files_name_words on files using gin (
  array_to_tsvector(array_remove(regexp_split_to_array(lower(left(name, 500)),
    '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+'), ''))
);
