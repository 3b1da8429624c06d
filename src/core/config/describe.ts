/** How values read in messages. */

/** How a found value reads in a message: 'text' (quoted), 3, true, a list (2 items), nothing. */
export function describeFound(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value (null)';
  if (typeof v === 'string') {
    if (v === '') return "'' (an empty string)";
    const s = v.length > 80 ? `${v.slice(0, 77)}...` : v;
    return /^[\x20-\x7e]*$/.test(s) && !s.includes("'") ? `'${s}'` : JSON.stringify(s);
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `a list (${v.length} item${v.length === 1 ? '' : 's'})`;
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}
