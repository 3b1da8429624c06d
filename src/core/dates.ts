/** Dates typed by people: the API's `from`/`to` and the CLI's `--since` share this parser. */

const DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Parses `2026-11-01`, `2026-11-01T08:00Z`, `2026-11-01T08:00:00.123+02:00`; rejects impossible dates. */
export function parseIsoDate(s: string): Date | undefined {
  const m = DATE.exec(s);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return undefined;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59))
    return undefined;
  // a date alone means midnight UTC; a time without an offset is UTC too (never the server's zone)
  const text = m[4] === undefined ? `${m[1]}-${m[2]}-${m[3]}T00:00:00Z` : m[7] ? s : `${s}Z`;
  const date = new Date(text.replace(' ', 'T'));
  return Number.isNaN(date.getTime()) ? undefined : date;
}
