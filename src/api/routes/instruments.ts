/** One row per instrument: reachability, disk space, last new file, files by status, stuck files. */
import { TERMINAL } from '../../files/lifecycle.ts';
import { listInstruments } from '../../files/repo.ts';
import { type AnyRoute, route } from '../route.ts';

const num = (v: string | null) => (v === null ? null : Number(v));

export const instrumentRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/instruments',
    role: 'viewer',
    tag: 'instruments',
    summary: 'instruments: online, free/total bytes, last new file, counts by status, stuck files',
    description:
      'A file is stuck when it has been in a non-terminal status for longer than the variable `stuck_file_minutes`.',
    handle: async (c, { deps }) => {
      const stuckMinutes = await deps.vars.get('stuck_file_minutes');
      const [instruments, counts] = await Promise.all([
        listInstruments(deps.db),
        deps.db.query<{ instrument_id: string; status: string; n: string; stuck: string }>(
          `select instrument_id, status, count(*) as n,
             count(*) filter (where not (status = any($1)) and updated_at < now() - $2 * interval '1 minute') as stuck
           from files group by instrument_id, status`,
          [[...TERMINAL], stuckMinutes],
        ),
      ]);
      const byInstrument = new Map<string, { counts: Record<string, number>; stuck: number }>();
      for (const r of counts) {
        const e = byInstrument.get(r.instrument_id) ?? { counts: {}, stuck: 0 };
        e.counts[r.status] = Number(r.n);
        e.stuck += Number(r.stuck);
        byInstrument.set(r.instrument_id, e);
      }
      return c.json({
        stuckFileMinutes: stuckMinutes,
        instruments: instruments.map((i) => ({
          id: i.id,
          type: i.type,
          watch_path: i.watch_path,
          online: i.online,
          offline_reason: i.offline_reason,
          checked_at: i.checked_at,
          free_bytes: num(i.free_bytes),
          total_bytes: num(i.total_bytes),
          last_new_file_at: i.last_new_file_at,
          counts: byInstrument.get(i.id)?.counts ?? {},
          stuck: byInstrument.get(i.id)?.stuck ?? 0,
        })),
      });
    },
  }),
];
