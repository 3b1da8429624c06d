/**
 * Reactions: scheduled units that select stream items or files, do something with them and record
 * the run (select → run → record; docs/streams.md#reactions). This module holds the decisions, pure:
 * the schedules the config asks for, what a reaction's unit is (built-in action or plugin module,
 * with its version and config hash), the time window of a files selection, and the messages the
 * built-in actions send. The I/O shell is ./reaction-task.ts.
 */
import type { ReactionAction, ReactionConfig, ReactionsConfig } from '../core/config/schema/reactions.ts';
import { PermanentError } from '../core/errors.ts';
import { importPluginModule } from '../core/plugins.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import { Kind, scheduleOf } from '../tasks/catalogue.ts';
import { configHash, fieldFilter } from './decide.ts';

export const REACTION_SCHEDULE_PREFIX = 'reaction:';

/** The version of the built-in actions (bump it when one's output changes). */
export const BUILTIN_REACTION_VERSION = 'builtin-1';

/** One schedule per enabled reaction, in the reaction's pool. */
export function reactionSchedules(reactions: ReactionsConfig): ScheduleSpec[] {
  return Object.entries(reactions)
    .filter(([, r]) => r.enabled)
    .map(([name, r]) => ({
      ...scheduleOf(Kind.streamsReaction, {
        name: `${REACTION_SCHEDULE_PREFIX}${name}`,
        payload: { reaction: name },
        ...(r.cron !== undefined ? { cron: r.cron } : { intervalMs: r.every_seconds! * 1000 }),
        delayFirst: true,
      }),
      pool: r.pool,
    }));
}

/** What a selected stream item looks like to an action. */
export interface SelectedItem {
  id: string;
  source: string;
  subject: string;
  seq: number;
  payload: unknown;
  channels: string[];
  received_at: string;
}
/** What a selected file looks like to an action. */
export interface SelectedFile {
  id: string;
  name: string;
  instrument: string;
  status: string;
  first_seen_at: string;
}
export type Selection = { items: SelectedItem[] } | { files: SelectedFile[]; from: string; to: string };

export function selectionSize(s: Selection): number {
  return 'items' in s ? s.items.length : s.files.length;
}

/** Does an item's payload pass every `where` condition of an items selection? */
export function itemWanted(where: NonNullable<ReactionConfig['select']['items']>['where'], payload: unknown) {
  return where.every((c) => fieldFilter(c, payload).accept);
}

/** The date (YYYY-MM-DD) and the offset from UTC in ms of `at` in time zone `tz`. */
function zoned(at: Date, tz: string): { y: number; m: number; d: number; offsetMs: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(at);
  const n = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const asUtc = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
  return {
    y: n('year'),
    m: n('month'),
    d: n('day'),
    offsetMs: asUtc - Math.floor(at.getTime() / 1000) * 1000,
  };
}

/**
 * The window of a files selection for a run at `at`: the whole day before it in `timezone` (default
 * UTC), or the last `hours`.
 */
export function filesWindow(
  sel: { window: 'yesterday' | 'hours'; hours: number; timezone?: string },
  at: Date,
): { from: Date; to: Date } {
  if (sel.window === 'hours') return { from: new Date(at.getTime() - sel.hours * 3_600_000), to: at };
  const tz = sel.timezone ?? 'UTC';
  const z = zoned(at, tz);
  const midnight = (y: number, m: number, d: number) => {
    const guess = Date.UTC(y, m - 1, d);
    return new Date(guess - zoned(new Date(guess), tz).offsetMs);
  };
  const to = midnight(z.y, z.m, z.d);
  const prev = new Date(Date.UTC(z.y, z.m - 1, z.d - 1));
  return { from: midnight(prev.getUTCFullYear(), prev.getUTCMonth() + 1, prev.getUTCDate()), to };
}

/** A reaction unit module: `react(selection, config)` returns a JSON result (recorded with the run). */
export interface ReactionUnit {
  version: string;
  validate?(config: Record<string, unknown>): string[] | undefined;
  react(
    selection: Selection,
    config: Record<string, unknown>,
    ctx: { reaction: string; period: string },
  ): unknown;
}

/** The unit a reaction runs: its name, version and config hash are recorded with every run. */
export interface ReactionIdentity {
  unit: string;
  version: string;
  hash: string;
}

/** The identity of a built-in action (the action's settings are its config). */
export function builtinIdentity(action: Exclude<ReactionAction, { type: 'unit' }>): ReactionIdentity {
  return { unit: action.type, version: BUILTIN_REACTION_VERSION, hash: configHash(action) };
}

/** Loads the plugin module of a `unit` action and checks its config. */
export async function loadReactionUnit(
  name: string,
  action: Extract<ReactionAction, { type: 'unit' }>,
  baseDir: string,
): Promise<{ unit: ReactionUnit; id: ReactionIdentity }> {
  const { mod, where } = await importPluginModule(action.module, baseDir, 'reactions.bad_unit');
  const names = action.export ? [action.export] : ['default', 'unit'];
  const found = names.map((n) => mod[n]).find((c) => c !== undefined && c !== null) as
    | Partial<ReactionUnit>
    | undefined;
  const fail = (why: string, code = 'reactions.bad_unit'): never => {
    throw new PermanentError(
      code,
      `reactions.${name}.action: ${where} ${why}`,
      'see docs/streams.md#reactions',
    );
  };
  if (!found || typeof found !== 'object') return fail(`exports no unit (looked for: ${names.join(', ')})`);
  if (typeof found.version !== 'string' || found.version === '')
    fail('has no `version` (a non-empty string)');
  if (typeof found.react !== 'function') fail('has no `react(selection, config)` function');
  const problems = found.validate?.(action.config) ?? [];
  if (problems.length > 0) fail(`refuses its config: ${problems.join('; ')}`, 'reactions.bad_unit_config');
  const unit = found as ReactionUnit;
  return {
    unit,
    id: {
      unit: action.module.replace(/^.*\//, '').replace(/\.[^.]+$/, ''),
      version: unit.version,
      hash: configHash(action.config),
    },
  };
}

/** A message the notify and QC digest actions hand to the alert notifiers. */
export interface Notice {
  subject: string;
  severity: 'warning' | 'critical';
  title: string;
  text: string;
}

const MAX_LISTED = 20;

/** The notify action's message: what was selected, the first few listed. */
export function selectionNotice(
  reaction: string,
  title: string | undefined,
  sev: Notice['severity'],
  s: Selection,
): Notice {
  const lines =
    'items' in s
      ? s.items.map((i) => `#${i.id} ${i.source} ${i.subject} ${JSON.stringify(i.payload).slice(0, 120)}`)
      : s.files.map((f) => `${f.instrument}: ${f.name} (${f.status})`);
  const more = lines.length > MAX_LISTED ? [`… and ${lines.length - MAX_LISTED} more`] : [];
  const noun = 'items' in s ? 'item' : 'file';
  return {
    subject: reaction,
    severity: sev,
    title: title ?? `${reaction}: ${lines.length} ${noun}${lines.length === 1 ? '' : 's'}`,
    text: [...lines.slice(0, MAX_LISTED), ...more].join('\n') || `no ${noun}s`,
  };
}
