/**
 * New files and bytes per UTC day and instrument, for the dashboard's files/day and GB/day plots.
 * The range is bounded (at most 366 days, ending today), so the query reads one range of the
 * `files_created_id` index however large the table grows; days without files are zeros.
 */
import { z } from 'zod';
import { ownEntry } from '../../core/own.ts';
import { filesPerDay, instrumentRecorded } from '../../files/repo.ts';
import { badInput } from '../errors.ts';
import { idFilter, intParam } from '../params.ts';
import { type AnyRoute, route } from '../route.ts';

const DAY_MS = 86_400_000;

export interface ThroughputAnswer {
  /** Start of each UTC day, epoch milliseconds, oldest first. */
  days: number[];
  /** Per instrument, one number per day. */
  instruments: Record<string, { files: number[]; bytes: number[] }>;
}

export const throughputRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/throughput',
    role: 'viewer',
    tag: 'instruments',
    summary: 'new files and bytes per UTC day and instrument over the last days (default 30)',
    query: z.strictObject({
      days: intParam(1, 366, 'a number of days')
        .optional()
        .meta({ description: 'how many days, ending today (1–366, default 30)' }),
      instrument: idFilter.optional().meta({ description: 'only this instrument' }),
    }),
    handle: async (c, { query, deps }) => {
      if (query.instrument !== undefined && !ownEntry(deps.config.instruments, query.instrument)) {
        if (!(await instrumentRecorded(deps.db, query.instrument)))
          throw badInput('instrument', `no instrument '${query.instrument}'`);
      }
      const n = query.days ?? 30;
      const today = Math.floor(Date.now() / DAY_MS);
      const first = today - n + 1;
      const rows = await filesPerDay(deps.db, {
        from: new Date(first * DAY_MS),
        to: new Date((today + 1) * DAY_MS),
        instrument: query.instrument,
      });
      const days = Array.from({ length: n }, (_, i) => (first + i) * DAY_MS);
      // a Map, not `{}`: an instrument may be named `constructor`, which a plain object already has
      const instruments = new Map<string, { files: number[]; bytes: number[] }>();
      const ids = query.instrument ? [query.instrument] : Object.keys(deps.config.instruments);
      for (const id of [...ids, ...rows.map((r) => r.instrument_id)])
        if (!instruments.has(id))
          instruments.set(id, { files: new Array(n).fill(0), bytes: new Array(n).fill(0) });
      for (const r of rows) {
        const s = instruments.get(r.instrument_id)!;
        s.files[r.day - first] = r.files;
        s.bytes[r.day - first] = r.bytes;
      }
      const answer: ThroughputAnswer = { days, instruments: Object.fromEntries(instruments) };
      return c.json(answer);
    },
  }),
];
