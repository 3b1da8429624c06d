/**
 * The task kinds this program knows and the periodic work the config asks for. Each stage
 * contributes its handlers and schedules here; `sluice start` runs the ones its role needs.
 */
import type { Config } from '../core/config/index.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import { pruneTasks } from '../engine/status.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import type { AppContext } from './context.ts';

export interface Stage {
  handlers: TaskHandlerDef[];
  schedules: ScheduleSpec[];
}

const maintenance = (): Stage => ({
  handlers: [
    {
      kind: 'engine.prune',
      async run(ctx) {
        const n = await pruneTasks(ctx.db, 14);
        ctx.log.info({ deleted: n }, 'pruned finished tasks older than 14 days');
      },
    },
  ],
  schedules: [{ name: 'engine.prune', kind: 'engine.prune', cron: '17 3 * * *', pool: 'default' }],
});

export function stages(_config: Config): Stage[] {
  return [maintenance()];
}

export function collect(config: Config, _ctx?: AppContext): Stage {
  const all = stages(config);
  return { handlers: all.flatMap((s) => s.handlers), schedules: all.flatMap((s) => s.schedules) };
}
