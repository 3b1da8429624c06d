/**
 * Lookups by a name that comes from a person (an API query, body or path, a CLI argument, a token of
 * a file name) in a record built from the config (`instruments`, `projects`, `processing.settings`,
 * `streams.channels` …): only the record's own entries count. A plain `record[name]` or `name in
 * record` answers `constructor`, `toString`, `__proto__` … with what every object inherits, so such a
 * name passed as a known one (and a later read of its fields failed with a 500).
 */

/** The entry of `record` named `key` when `key` is one of its own keys, else undefined. */
export function ownEntry<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
