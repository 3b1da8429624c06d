/**
 * Durations and amounts as people read them in reasons and reports ("45 s", "90 min", "5.5 h"); used
 * by intake's decisions and by `sluice doctor`.
 */
/** "45 s", "10 min", "90 min", "5.5 h", "3.2 d": durations for reasons. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`; // "61 min" reads better than "1 h" near limits
  if (s < 48 * 3600) return `${roundForReading(s / 3600)} h`;
  return `${roundForReading(s / 86400)} d`;
}

/** A number for reading: whole from 10 up, else one decimal ("5.5", "3"). */
export function roundForReading(x: number): string {
  return x >= 10 ? String(Math.round(x)) : x.toFixed(1).replace(/\.0$/, '');
}
