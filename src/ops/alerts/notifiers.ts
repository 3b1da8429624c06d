/**
 * Where alerts go: Slack and Microsoft Teams incoming webhooks, a generic JSON webhook, email.
 * Each send has a timeout and throws `NotifierError` naming the notifier (never its URL, which is a
 * secret) and what went wrong.
 */
import nodemailer from 'nodemailer';
import type { NotifierConfig } from '../../core/config/schema/alerts.ts';
import type { Alert } from './rules.ts';

export class NotifierError extends Error {
  constructor(
    readonly notifier: string,
    message: string,
  ) {
    super(`${notifier}: ${message}`);
    this.name = 'NotifierError';
  }
}

export interface Notifier {
  /** A name fit for logs: type and host, without the URL's path or credentials. */
  readonly name: string;
  send(alerts: Alert[]): Promise<void>;
}

const ICON = { warning: '⚠️', critical: '🔴' } as const;

export function slackPayload(alerts: Alert[]): { text: string } {
  return {
    text: alerts.map((a) => `${ICON[a.severity]} *${a.title}*\n${a.text}`).join('\n\n'),
  };
}

/** A legacy Office 365 connector MessageCard (accepted by Teams incoming webhooks and workflows). */
export function teamsPayload(alerts: Alert[]): Record<string, unknown> {
  const critical = alerts.some((a) => a.severity === 'critical');
  return {
    '@type': 'MessageCard',
    '@context': 'https://schema.org/extensions',
    summary: alerts.length === 1 ? alerts[0]!.title : `Sluice: ${alerts.length} alerts`,
    themeColor: critical ? 'D13438' : 'FFB900',
    title: alerts.length === 1 ? `Sluice: ${alerts[0]!.title}` : `Sluice: ${alerts.length} alerts`,
    sections: alerts.map((a) => ({
      activityTitle: `${ICON[a.severity]} ${a.title}`,
      text: a.text,
      facts: [
        { name: 'Rule', value: a.rule },
        { name: 'Subject', value: a.subject },
        { name: 'Severity', value: a.severity },
      ],
    })),
  };
}

export function webhookPayload(alerts: Alert[], now = new Date()): Record<string, unknown> {
  return { source: 'sluice', sent_at: now.toISOString(), alerts };
}

export function emailMessage(alerts: Alert[]): { subject: string; text: string } {
  const subject = alerts.length === 1 ? `[Sluice] ${alerts[0]!.title}` : `[Sluice] ${alerts.length} alerts`;
  const text = alerts
    .map((a) => `[${a.severity.toUpperCase()}] ${a.title}\n${a.text}\n(rule ${a.rule}, subject ${a.subject})`)
    .join('\n\n');
  return { subject, text: `${text}\n` };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '?';
  }
}

async function postJson(name: string, url: string, body: unknown, timeoutMs: number): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError') throw new NotifierError(name, `no answer within ${timeoutMs / 1000} s`);
    const cause = e.cause?.code ?? e.cause?.message ?? e.message;
    throw new NotifierError(name, `could not post: ${cause}`);
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) {
    throw new NotifierError(
      name,
      `HTTP ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`,
    );
  }
}

export function createNotifier(cfg: NotifierConfig): Notifier {
  const timeoutMs = cfg.timeout_seconds * 1000;
  switch (cfg.type) {
    case 'slack':
    case 'teams':
    case 'webhook': {
      const name = `${cfg.type} (${hostOf(cfg.url)})`;
      const payload =
        cfg.type === 'slack' ? slackPayload : cfg.type === 'teams' ? teamsPayload : webhookPayload;
      return { name, send: (alerts) => postJson(name, cfg.url, payload(alerts), timeoutMs) };
    }
    case 'email': {
      const name = `email (${cfg.smtp.host}:${cfg.smtp.port})`;
      return {
        name,
        async send(alerts) {
          const transport = nodemailer.createTransport({
            host: cfg.smtp.host,
            port: cfg.smtp.port,
            secure: cfg.smtp.secure,
            auth: cfg.smtp.user ? { user: cfg.smtp.user, pass: cfg.smtp.password ?? '' } : undefined,
            connectionTimeout: timeoutMs,
            greetingTimeout: timeoutMs,
            socketTimeout: timeoutMs,
          });
          const { subject, text } = emailMessage(alerts);
          try {
            await transport.sendMail({ from: cfg.from, to: cfg.to, subject, text });
          } catch (err) {
            const e = err as Error & { code?: string };
            throw new NotifierError(name, `could not send mail: ${e.code ? `${e.code} ` : ''}${e.message}`);
          } finally {
            transport.close();
          }
        },
      };
    }
  }
}

/**
 * Sends the messages of a reaction (notify, QC digest) to every notifier of `alerts.notifiers`.
 * Throws when there is none, or when none took them (the reaction's task is then retried).
 */
export async function sendReactionNotices(
  notifiers: readonly NotifierConfig[],
  notices: readonly Omit<Alert, 'rule'>[],
): Promise<void> {
  if (notifiers.length === 0) {
    throw new NotifierError('reaction', 'no notifiers configured: add one under alerts.notifiers');
  }
  const alerts: Alert[] = notices.map((n) => ({ ...n, rule: 'reaction' }));
  const failures: string[] = [];
  for (const n of notifiers.map(createNotifier)) {
    try {
      await n.send(alerts);
    } catch (err) {
      failures.push((err as Error).message);
    }
  }
  if (failures.length === notifiers.length) throw new NotifierError('reaction', failures.join('; '));
}
