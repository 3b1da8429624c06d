/**
 * Working hours of the alert rules that only hold while people are at the instruments (e.g.
 * `instrument_stall`): the day and minute of the day in the configured time zone.
 */
import type { Weekday } from '../../core/config/schema/alerts.ts';

export interface WorkingHours {
  days: Weekday[];
  from: string;
  to: string;
  timezone?: string | undefined;
}

const DAY_INDEX: Record<string, Weekday> = {
  Mon: 'mon',
  Tue: 'tue',
  Wed: 'wed',
  Thu: 'thu',
  Fri: 'fri',
  Sat: 'sat',
  Sun: 'sun',
};

/** Day and minute of the day of `now` in the given time zone (default: local). */
export function localTime(now: Date, timezone?: string): { day: Weekday; minute: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now);
  const get = (t: string) => parts.find((x) => x.type === t)?.value ?? '';
  return {
    day: DAY_INDEX[get('weekday')] ?? 'mon',
    minute: Number(get('hour')) * 60 + Number(get('minute')),
  };
}

const toMinute = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

export function withinWorkingHours(now: Date, wh: WorkingHours): boolean {
  const { day, minute } = localTime(now, wh.timezone);
  if (!wh.days.includes(day)) return false;
  return minute >= toMinute(wh.from) && minute < toMinute(wh.to);
}
