/**
 * Config schema: `reactions` (issue #21): scheduled reaction units. Each reaction runs by cron or at
 * an interval over a selection of stream items or of files (select → run → record) and does one
 * thing with it: post it to a webhook, tell the alert notifiers, send a QC digest of the files'
 * metrics, or call a reaction unit (a plugin module). Consumed by src/streams/reactions*.ts;
 * documented in docs/configuration.md and docs/streams.md.
 */
import { z } from 'zod';
import { httpUrlPortValid } from '../limits.ts';
import { always, int, isMapping, namedRecord, num, section, str, strList } from './building-blocks.ts';
import { FIELD_OPS } from './streams.ts';

const NAME = {
  pattern: /^[a-z0-9][a-z0-9_-]*$/,
  form: "lowercase letters, digits, '-' and '_', starting with a letter or digit",
};

const fieldCondition = z.strictObject({
  field: str('a field path, e.g. payload.kind'),
  op: z.enum(FIELD_OPS, { error: `one of ${FIELD_OPS.join(', ')}` }),
  value: z.unknown().optional(),
});

/** Stream items stored since the reaction's last run (by item id), narrowed by source, channel, fields. */
const itemsSelection = z.strictObject({
  sources: strList('a stream source name').optional(),
  /** Only items one of these channels accepted. */
  channels: strList('a channel name').optional(),
  where: z.array(fieldCondition, { error: 'a list of field conditions {field, op, value}' }).default([]),
  /** Most items one run takes; the rest are the next run's. */
  limit: int(1, 100_000).default(1000),
  /**
   * Items stored less than this long ago wait for the next run: a batch still committing holds ids
   * below ones committed already, and the cursor must not pass them (a storing transaction takes ms).
   */
  settle_seconds: num({ gte: 0 }, 'seconds').default(5),
});

/** Files first seen in a time window: the day before the run (`yesterday`) or the last `hours`. */
const filesSelection = z.strictObject({
  instruments: strList('an instrument id').optional(),
  window: z.enum(['yesterday', 'hours'], { error: "'yesterday' or 'hours'" }).default('yesterday'),
  /** With window `hours`: how many hours back from the run. */
  hours: num({ gt: 0 }, 'hours').default(24),
  /** IANA time zone whose day `yesterday` means; default UTC. */
  timezone: str('an IANA time zone, e.g. Europe/Zurich').optional(),
  limit: int(1, 100_000).default(5000),
});

const url = str('an http(s) URL')
  .regex(/^https?:\/\/\S+$/i, { error: 'an http(s) URL' })
  .refine(httpUrlPortValid, { error: 'an http(s) URL with a valid host and a port between 1 and 65535' });

const webhookAction = z.strictObject({
  type: z.literal('webhook'),
  /** Receives a JSON POST with the selection; `Idempotency-Key` names the run (a retry repeats it). */
  url,
  headers: z.record(z.string(), z.string(), { error: 'a mapping of header names to values' }).default({}),
  timeout_seconds: num({ gt: 0, lte: 300 }, 'seconds').default(10),
  /** A run with nothing selected posts nothing (default) or an empty selection. */
  send_empty: z.boolean({ error: 'true or false' }).default(false),
});
const notifyAction = z.strictObject({
  type: z.literal('notify'),
  /** The message's title; the text lists the selection. */
  title: str('a title').optional(),
  severity: z.enum(['warning', 'critical'], { error: "'warning' or 'critical'" }).default('warning'),
  send_empty: z.boolean({ error: 'true or false' }).default(false),
});
const qcDigestAction = z.strictObject({
  type: z.literal('qc_digest'),
  /** Metrics to judge (default every metric recorded). */
  metrics: strList('a metric name').optional(),
  /** Outside mean ± k·sd of the `window` values before it: an outlier (Levey-Jennings). */
  k: num({ gt: 0 }, '').default(2),
  window: int(2, 1000).default(20),
  /** How far back the values that set the control limits are read. */
  lookback_days: num({ gt: 0 }, 'days').default(60),
  send_empty: z.boolean({ error: 'true or false' }).default(false),
});
const unitAction = z.strictObject({
  type: z.literal('unit'),
  module: str('the path of the reaction unit module, relative to the config file'),
  export: str('an export name').optional(),
  config: z.record(z.string(), z.unknown(), { error: 'a mapping of the unit settings' }).default({}),
});
const actionSchema = z.discriminatedUnion('type', [webhookAction, notifyAction, qcDigestAction, unitAction], {
  error: 'an action with type webhook, notify, qc_digest or unit',
});

const reactionSchema = z
  .strictObject({
    /** Five-field cron expression (worker's local time), e.g. "0 7 * * *". */
    cron: str('a cron expression, e.g. "0 7 * * *"').optional(),
    /** Or: every so many seconds. */
    every_seconds: num({ gte: 1 }, 'seconds').optional(),
    enabled: z.boolean({ error: 'true or false' }).default(true),
    /** The pool its task runs in. */
    pool: str('a pool name').default('default'),
    select: z.strictObject(
      { items: itemsSelection.optional(), files: filesSelection.optional() },
      { error: 'a mapping with items or files' },
    ),
    action: actionSchema,
  })
  .superRefine((r, ctx) => {
    if (!isMapping(r)) return;
    const add = (path: string[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message, params: { full: true } });
    if ((r.cron === undefined) === (r.every_seconds === undefined))
      add(['cron'], 'expected exactly one of cron and every_seconds');
    const sel = isMapping(r.select) ? r.select : {};
    if ((sel.items === undefined) === (sel.files === undefined))
      add(['select'], 'expected exactly one of select.items and select.files');
    const action: Record<string, unknown> = isMapping(r.action) ? r.action : {};
    if (action.type === 'qc_digest' && sel.files === undefined)
      add(['select'], 'a qc_digest reaction needs select.files (the runs whose metrics it judges)');
  }, always);

export type ReactionConfig = z.output<typeof reactionSchema>;
export type ReactionAction = ReactionConfig['action'];
export type ItemsSelection = z.output<typeof itemsSelection>;
export type FilesSelection = z.output<typeof filesSelection>;

export const reactionsSchema = section(namedRecord(reactionSchema, { ...NAME, noun: 'reaction' }));
export type ReactionsConfig = z.output<typeof reactionsSchema>;
