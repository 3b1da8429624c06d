/**
 * Words of file names, for file-name search (src/files/catalog-reads.ts `searchFileNames`): a name
 * is cut into words at every ASCII character that is not a letter or digit (`_ - . / space` and the
 * rest of ASCII punctuation; any non-ASCII character belongs to a word), lower-cased. The index
 * `files_name_words` (migration 0039) holds each name's words; `nameWordsQuery` (pure) turns what a
 * user typed into the query that finds the names holding the term at the start of a word.
 */

/** The same cut as the index expression's regular expression (migration 0039): ASCII but letters and digits. */
export const NAME_WORD_SEPARATORS = /[^0-9A-Za-z\u0080-\u{10FFFF}]+/u;

/** The index expression (migration 0039: `files_name_words`), written exactly as the index has it. */
export const NAME_WORDS_SQL =
  "array_to_tsvector(array_remove(regexp_split_to_array(lower(left(name, 500)), '[\\x01-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7f]+'), ''))";

/** Words longer than this are not in the index (a name is indexed up to its 500th character). */
const MAX_WORD = 500;

/**
 * Pure: the full-text query (tsquery text, lower-cased by the caller in SQL) that finds names in
 * which `term` starts at a word's start, or null when the term has no word (only punctuation) or a
 * word longer than the index keeps. Words the term holds whole (followed by a separator) must be
 * words of the name; a last word the term does not end is a prefix, and is asked only when it is
 * the only word (with a whole word beside it the exact words narrow enough, and the caller's
 * substring check applies it: a prefix of a common word reads a posting list per matching word).
 */
export function nameWordsQuery(term: string): string | null {
  const words = term.split(NAME_WORD_SEPARATORS).filter((w) => w !== '');
  if (words.length === 0 || words.some((w) => w.length > MAX_WORD)) return null;
  const endsWhole = NAME_WORD_SEPARATORS.test(term.at(-1) ?? '');
  const whole = endsWhole ? words : words.slice(0, -1);
  const quote = (w: string) => `'${w}'`;
  if (whole.length > 0) return [...new Set(whole)].map(quote).join(' & ');
  return `${quote(words[0]!)}:*`;
}
