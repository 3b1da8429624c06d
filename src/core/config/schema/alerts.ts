/**
 * `alerts:` — the periodic alert check (task `ops.alerts`) and where its messages go.
 * See src/ops/alerts/ and docs/configuration.md.
 */
import { z } from 'zod';
import { httpUrlPortValid } from '../limits.ts';
import { always, bool, int, isMapping, num, section, str } from './building-blocks.ts';

export const ALERT_RULES = [
  'stale_worker',
  'instrument_offline',
  'low_free_space',
  'status_pile_up',
  'stuck_file',
  'instrument_stall',
  'file_error',
  'backup_failure',
  'backup_target_unavailable',
  's3_target_failing',
  'qc_rule_violation',
] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const hhmm = z
  .string({ error: "a time of day 'HH:MM', e.g. '08:00'" })
  .regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, { error: "a time of day 'HH:MM', e.g. '08:00'" });

const url = str('an http(s) URL')
  .regex(/^https?:\/\/\S+$/i, { error: 'an http(s) URL' })
  .refine(httpUrlPortValid, { error: 'an http(s) URL with a valid host and a port between 1 and 65535' });

const timeout = num({ gt: 0, lte: 300 }, 'seconds').default(10);

const webhookNotifier = (type: 'slack' | 'teams' | 'webhook') =>
  z.strictObject({
    type: z.literal(type),
    /** Incoming webhook URL (secret: keep it out of the file with `${file:...}` or `${VAR}`). */
    url,
    timeout_seconds: timeout,
  });

const emailNotifier = z.strictObject({
  type: z.literal('email'),
  to: z.array(str('an email address'), { error: 'a list of email addresses' }).min(1, {
    error: 'a list of at least one email address',
  }),
  from: str('an email address'),
  smtp: z.strictObject({
    host: str('a host name'),
    port: int(1, 65535).default(587),
    /** TLS from the start (port 465); otherwise STARTTLS when the server offers it. */
    secure: bool().default(false),
    user: str().optional(),
    password: str().optional(),
  }),
  timeout_seconds: timeout,
});

export const notifierSchema = z.discriminatedUnion(
  'type',
  [webhookNotifier('slack'), webhookNotifier('teams'), webhookNotifier('webhook'), emailNotifier],
  { error: 'a notifier with type slack, teams, webhook or email' },
);
export type NotifierConfig = z.output<typeof notifierSchema>;

const suppressSchema = z
  .strictObject(
    {
      rule: z.enum(ALERT_RULES, { error: `one of ${ALERT_RULES.join(', ')}` }),
      /** Exact subject or a glob (`*`, `?`), e.g. `astral*`; omitted: every subject of the rule. */
      subject: str().optional(),
      /** ISO date/time after which the suppression no longer applies. */
      until: str('an ISO date/time, e.g. 2026-12-31T18:00:00Z').optional(),
    },
    { error: 'a suppression: a mapping with at least rule' },
  )
  .superRefine((s, ctx) => {
    if (!isMapping(s)) return;
    if (s.until !== undefined && Number.isNaN(Date.parse(s.until))) {
      ctx.addIssue({
        code: 'custom',
        path: ['until'],
        message: `expected an ISO date/time, e.g. 2026-12-31T18:00:00Z, found '${s.until}'`,
        params: { full: true },
      });
    }
  }, always);

const rulesSchema = z.strictObject({
  /** A worker (not stopped) without a heartbeat for this long. */
  stale_worker_minutes: num({ gt: 0 }, 'minutes').default(5),
  /** More than this many files in one non-terminal status. */
  pile_up_threshold: int(1).default(100),
  /** No new file on an instrument for this long, checked only within working hours. */
  stall_hours: num({ gt: 0 }, 'hours').default(4),
  /** A copy to an S3 backup target failed this many attempts in a row (and is still retried). */
  s3_failing_attempts: int(1).default(3),
  working_hours: section(
    z.strictObject({
      days: z
        .array(z.enum(WEEKDAYS, { error: 'a weekday: mon, tue, wed, thu, fri, sat or sun' }))
        .default(['mon', 'tue', 'wed', 'thu', 'fri']),
      from: hhmm.default('08:00'),
      to: hhmm.default('20:00'),
      /** IANA time zone, e.g. Europe/Zurich; default the worker's local time. */
      timezone: str('an IANA time zone, e.g. Europe/Zurich').optional(),
    }),
  ),
  /** Free-space thresholds in GB. Instrument default: its `min_free_space_gb`, else the variable. */
  free_space_gb: section(
    z.strictObject({
      instrument: num({ gte: 0 }, 'GB').optional(),
      backup: num({ gte: 0 }, 'GB').optional(),
      output: num({ gte: 0 }, 'GB').optional(),
    }),
  ),
  /** Per-rule cooldown overrides in minutes. */
  cooldown_minutes: z
    .partialRecord(
      z.enum(ALERT_RULES, { error: `one of ${ALERT_RULES.join(', ')}` }),
      num({ gte: 0 }, 'minutes'),
    )
    .default({}),
});

export const alertsSchema = section(
  z
    .strictObject({
      /** Default: true when at least one notifier is configured. */
      enabled: bool().optional(),
      interval_seconds: num({ gte: 5 }, 'seconds').default(60),
      cooldown_minutes: num({ gte: 0 }, 'minutes').default(60),
      notifiers: z.array(notifierSchema, { error: 'a list of notifiers' }).default([]),
      rules: section(rulesSchema),
      suppress: z.array(suppressSchema, { error: 'a list of suppressions' }).default([]),
    })
    .transform((a) => ({ ...a, enabled: a.enabled ?? a.notifiers.length > 0 })),
);

export type AlertsConfig = z.output<typeof alertsSchema>;
export type AlertsInput = z.input<typeof alertsSchema>;
