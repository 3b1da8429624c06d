/**
 * The alerts that hold now, for the health page: the rules evaluated on a fresh snapshot (the same
 * reads as the `ops.alerts` task, nothing written: cursors and `alerts_sent` are left alone), each
 * with whether it is suppressed (`alerts.suppress`) and when it was last sent to the notifiers.
 */
import type { Queryable } from '../../core/db/db.ts';
import type { Variables } from '../../core/variables.ts';
import { type Alert, evaluate } from './rules.ts';
import { type AlertsHostConfig, alertsConfigOf, isSuppressed, readSnapshot, ruleParams } from './run.ts';

export interface FiringAlert extends Alert {
  suppressed: boolean;
  last_sent_at: Date | null;
}

export async function firingAlerts(
  db: Queryable,
  config: AlertsHostConfig,
  vars: Variables,
  now = new Date(),
): Promise<FiringAlert[]> {
  const params = await ruleParams(config, vars);
  const { snapshot } = await readSnapshot(db, config, params, now);
  const alerts = evaluate(snapshot, params);
  const sent = await db.query<{ rule: string; subject: string; last_sent_at: Date }>(
    'select rule, subject, last_sent_at from alerts_sent where rule = any($1)',
    [[...new Set(alerts.map((a) => a.rule))]],
  );
  const last = new Map(sent.map((r) => [`${r.rule}\u0000${r.subject}`, r.last_sent_at]));
  const suppress = alertsConfigOf(config).suppress;
  return alerts.map((a) => ({
    ...a,
    suppressed: isSuppressed(a, suppress, now),
    last_sent_at: last.get(`${a.rule}\u0000${a.subject}`) ?? null,
  }));
}
