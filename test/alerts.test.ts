/**
 * Alerts: every rule on injected database state, cooldown, suppression, and the four notifiers
 * against a local HTTP receiver and a local SMTP server (real PostgreSQL).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../src/core/config/index.ts';
import { type AlertsInput, alertsSchema } from '../src/core/config/schema/alerts.ts';
import type { Db } from '../src/core/db/db.ts';
import { silentLogger } from '../src/core/log.ts';
import { Variables } from '../src/core/variables.ts';
import type { Notifier } from '../src/ops/alerts/notifiers.ts';
import type { Alert } from '../src/ops/alerts/rules.ts';
import { type AlertsHostConfig, alertsSchedule, globMatch, runAlerts } from '../src/ops/alerts/run.ts';
import { withinWorkingHours } from '../src/ops/alerts/working-hours.ts';
import { createTestDb } from './helpers/db.ts';

const NOW = new Date('2026-03-04T10:00:00Z'); // a Wednesday
const MIN = 60_000;
const ago = (ms: number) => new Date(NOW.getTime() - ms);

function makeConfig(alerts: AlertsInput = {}): AlertsHostConfig {
  const base = configSchema.parse({
    environment: 'local',
    data_dir: '/tmp/sluice-alerts-test',
    instruments: {
      astral1: { type: 'thermo', watch: '/tmp/sluice-alerts-test/astral1' },
      astral2: {
        type: 'thermo',
        watch: '/tmp/sluice-alerts-test/astral2',
        cleanup: { min_free_space_gb: 10 },
      },
    },
  });
  return { ...base, backup: { ...base.backup, path: '/tmp' }, alerts: alertsSchema.parse(alerts) };
}

/** A notifier that keeps what it was sent. */
function capture(): Notifier & { got: Alert[][] } {
  const got: Alert[][] = [];
  return {
    name: 'capture',
    got,
    async send(alerts) {
      got.push(alerts);
    },
  };
}

// --- local receivers --------------------------------------------------------------------------

interface Received {
  path: string;
  body: unknown;
}
let http: Server;
let httpUrl: string;
const posts: Received[] = [];
let smtp: SMTPServer;
let smtpPort: number;
const mails: { from: string; to: string[]; raw: string }[] = [];

beforeAll(async () => {
  http = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => {
      data += c;
    });
    req.on('end', () => {
      posts.push({ path: req.url ?? '', body: JSON.parse(data) });
      if (req.url === '/fail') {
        res.writeHead(500).end('boom');
        return;
      }
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, cb) {
      let raw = '';
      stream.on('data', (c: Buffer) => {
        raw += c.toString();
      });
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
        });
        cb();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  smtpPort = (smtp.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((r) => http.close(() => r()));
  await new Promise<void>((r) => smtp.close(() => r()));
});

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

// --- database -----------------------------------------------------------------------------------

let db: Db;
let drop: () => Promise<void>;
let vars: Variables;

beforeEach(async () => {
  ({ db, drop } = await createTestDb());
  vars = new Variables(db, { stuck_file_minutes: 30, min_free_space_gb: 100 });
  posts.length = 0;
  mails.length = 0;
  // a healthy baseline: both instruments online, plenty of space, fresh data
  for (const id of ['astral1', 'astral2']) {
    await db.exec(
      `insert into instruments (id, type, watch_path, online, free_bytes, last_new_file_at)
       values ($1, 'thermo', '/x', true, $2, $3)`,
      [id, 10_000 * 1024 ** 3, ago(5 * MIN)],
    );
  }
});
afterEach(async () => {
  await drop();
});

async function worker(id: string, heartbeat: Date, stopped: Date | null = null) {
  await db.exec(
    `insert into workers (id, host, pid, role, version, last_heartbeat_at, stopped_at)
     values ($1, 'host1', 1, 'worker', '0.1.0', $2, $3)`,
    [id, heartbeat, stopped],
  );
}

async function file(id: string, status: string, updatedAt = NOW) {
  await db.exec(
    `insert into files (id, instrument_id, name, kind, source_path, project_id, status, size_bytes, mtime, updated_at)
     values ($1, 'astral1', $2, 'file', '/x/' || $2, 'p', $3, 1, $4, $4)`,
    [id, `${id}.raw`, status, updatedAt],
  );
}

const rulesOf = (alerts: Alert[]) => [...new Set(alerts.map((a) => `${a.rule}:${a.subject}`))].sort();

describe('alert rules', () => {
  it('a healthy system raises nothing', async () => {
    await worker('w-ok', ago(1 * MIN));
    await file('f1', 'acquired', ago(5 * MIN));
    const r = await runAlerts(db, makeConfig(), vars, silentLogger, NOW, { notifiers: [capture()] });
    expect(r.evaluated).toEqual([]);
  });

  it('every rule fires on injected state', async () => {
    await worker('w-stale', ago(10 * MIN));
    await worker('w-stopped', ago(60 * MIN), ago(59 * MIN)); // stopped cleanly: no alert
    await db.exec(
      `update instruments set online = false, offline_reason = 'mount gone' where id = 'astral2'`,
    );
    await db.exec(`update instruments set free_bytes = $1, last_new_file_at = $2 where id = 'astral1'`, [
      50 * 1024 ** 3,
      ago(5 * 3_600_000),
    ]);
    for (let i = 0; i < 3; i++) await file(`pile${i}`, 'backed_up', ago(1 * MIN));
    await file('stuck1', 'backing_up', ago(45 * MIN));
    await file('err1', 'error', ago(1 * MIN));
    await db.exec(
      `insert into events (subject_type, subject_id, actor, from_state, to_state, reason, at)
       values ('file', 'err1', 'backup', 'backing_up', 'error', 'checksum mismatch', $1)`,
      [ago(1 * MIN)],
    );
    await file('bad1', 'done_not_processed', ago(1 * MIN));
    await db.exec(
      `insert into copies (file_id, target, location, state, hash_algorithm, manifest, bytes)
       values ('bad1', 'backup', '/b/bad1.raw', 'corrupt', 'xxh3', '[]', 1)`,
    );
    await db.exec(
      `insert into tasks (kind, subject, state, last_error, finished_at) values ('backup.copy', 'f9', 'failed', 'disk full', $1)`,
      [ago(2 * MIN)],
    );
    const config = makeConfig({ rules: { pile_up_threshold: 2, free_space_gb: { backup: 1e12 } } });
    const n = capture();
    const r = await runAlerts(db, config, vars, silentLogger, NOW, { notifiers: [n] });
    expect(rulesOf(r.sent)).toEqual([
      'backup_failure:copy:bad1:backup',
      'backup_failure:task:backup.copy:f9',
      'file_error:err1',
      'instrument_offline:astral2',
      'instrument_stall:astral1',
      'low_free_space:backup',
      'low_free_space:instrument:astral1',
      'stale_worker:w-stale',
      'status_pile_up:backed_up',
      'stuck_file:stuck1',
    ]);
    expect(n.got).toHaveLength(1);
    const err = r.sent.find((a) => a.rule === 'file_error')!;
    expect(err).toMatchObject({ severity: 'critical', title: 'File err1.raw entered error' });
    expect(err.text).toMatch(/checksum mismatch/);

    // "since last run" rules do not repeat once their cursor moved, even after the cooldown
    const later = new Date(NOW.getTime() + 2 * 3_600_000);
    const r2 = await runAlerts(db, config, vars, silentLogger, later, { notifiers: [capture()] });
    expect(r2.evaluated.filter((a) => a.rule === 'file_error' || a.subject.startsWith('task:'))).toEqual([]);
  });

  it('instrument stall only within working hours', async () => {
    await db.exec(`update instruments set last_new_file_at = $1 where id = 'astral1'`, [ago(10 * 3_600_000)]);
    const wh = { days: ['mon', 'tue'] as ('mon' | 'tue')[], from: '08:00', to: '20:00', timezone: 'UTC' };
    const r = await runAlerts(db, makeConfig({ rules: { working_hours: wh } }), vars, silentLogger, NOW, {
      notifiers: [capture()],
    });
    expect(r.evaluated.filter((a) => a.rule === 'instrument_stall')).toEqual([]);
    expect(withinWorkingHours(NOW, { ...wh, days: ['wed'] })).toBe(true);
    expect(withinWorkingHours(NOW, { ...wh, days: ['wed'], from: '11:00' })).toBe(false);
    expect(withinWorkingHours(NOW, { ...wh, days: ['wed'], timezone: 'Pacific/Kiritimati' })).toBe(false); // 00:00 Thu
  });
});

describe('cooldown and suppression', () => {
  it('does not repeat an alert within the cooldown and repeats it after', async () => {
    await worker('w1', ago(10 * MIN));
    const config = makeConfig({ cooldown_minutes: 60 });
    const at = (m: number) => new Date(NOW.getTime() + m * MIN);
    const run = (m: number) => runAlerts(db, config, vars, silentLogger, at(m), { notifiers: [capture()] });
    expect(rulesOf((await run(0)).sent)).toEqual(['stale_worker:w1']);
    const r2 = await run(30);
    expect(r2.sent).toEqual([]);
    expect(rulesOf(r2.coolingDown)).toEqual(['stale_worker:w1']);
    expect(rulesOf((await run(61)).sent)).toEqual(['stale_worker:w1']);
    const row = await db.one<{ count: number }>(`select count from alerts_sent where rule = 'stale_worker'`);
    expect(row.count).toBe(2);
  });

  it('per-rule cooldown overrides the default', async () => {
    await worker('w1', ago(10 * MIN));
    const config = makeConfig({ cooldown_minutes: 60, rules: { cooldown_minutes: { stale_worker: 5 } } });
    await runAlerts(db, config, vars, silentLogger, NOW, { notifiers: [capture()] });
    const r = await runAlerts(db, config, vars, silentLogger, new Date(NOW.getTime() + 6 * MIN), {
      notifiers: [capture()],
    });
    expect(rulesOf(r.sent)).toEqual(['stale_worker:w1']);
  });

  it('drops suppressed alerts (glob subject, expiring)', async () => {
    await worker('w-lab1', ago(10 * MIN));
    await worker('w-lab2', ago(10 * MIN));
    await worker('x-other', ago(10 * MIN));
    await db.exec(`update instruments set online = false where id = 'astral1'`);
    const config = makeConfig({
      suppress: [
        { rule: 'stale_worker', subject: 'w-*' },
        { rule: 'instrument_offline', until: '2026-03-01T00:00:00Z' }, // expired
      ],
    });
    const r = await runAlerts(db, config, vars, silentLogger, NOW, { notifiers: [capture()] });
    expect(rulesOf(r.suppressed)).toEqual(['stale_worker:w-lab1', 'stale_worker:w-lab2']);
    expect(rulesOf(r.sent)).toEqual(['instrument_offline:astral1', 'stale_worker:x-other']);
    expect(globMatch('astral?', 'astral1')).toBe(true);
    expect(globMatch('astral', 'astral1')).toBe(false);
  });
});

describe('notifiers', () => {
  it('posts to Slack, Teams and a generic webhook, and sends an email', async () => {
    await worker('w1', ago(10 * MIN));
    const config = makeConfig({
      notifiers: [
        { type: 'slack', url: `${httpUrl}/slack` },
        { type: 'teams', url: `${httpUrl}/teams` },
        { type: 'webhook', url: `${httpUrl}/hook` },
        {
          type: 'email',
          to: ['ops@example.org'],
          from: 'sluice@example.org',
          smtp: { host: '127.0.0.1', port: smtpPort },
        },
      ],
    });
    expect(config.alerts!.enabled).toBe(true);
    const r = await runAlerts(db, config, vars, silentLogger, NOW);
    expect(r.failures).toEqual([]);
    expect(rulesOf(r.sent)).toEqual(['stale_worker:w1']);
    const by = (p: string) => posts.find((x) => x.path === p)?.body as Record<string, unknown>;
    expect(by('/slack').text).toMatch(/Worker w1 stopped sending heartbeats/);
    expect(by('/teams')).toMatchObject({
      '@type': 'MessageCard',
      title: 'Sluice: Worker w1 stopped sending heartbeats',
    });
    expect(by('/hook')).toMatchObject({
      source: 'sluice',
      alerts: [{ rule: 'stale_worker', subject: 'w1', severity: 'critical' }],
    });
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ from: 'sluice@example.org', to: ['ops@example.org'] });
    expect(mails[0]!.raw).toMatch(/Subject: \[Sluice\] Worker w1 stopped sending heartbeats/);
    expect(mails[0]!.raw).toMatch(/\[CRITICAL\]/);
  });

  it('reports a failing notifier without stopping the others', async () => {
    await worker('w1', ago(10 * MIN));
    const dead = await closedPort();
    const config = makeConfig({
      notifiers: [
        { type: 'webhook', url: `http://127.0.0.1:${dead}/hook` },
        { type: 'slack', url: `${httpUrl}/fail` },
        {
          type: 'email',
          to: ['a@b.c'],
          from: 'x@b.c',
          smtp: { host: '127.0.0.1', port: dead },
          timeout_seconds: 2,
        },
        { type: 'slack', url: `${httpUrl}/slack` },
      ],
    });
    const r = await runAlerts(db, config, vars, silentLogger, NOW);
    expect(r.failures.map((f) => f.notifier)).toEqual([
      'webhook (127.0.0.1:' + dead + ')',
      `slack (${httpUrl.slice(7)})`,
      `email (127.0.0.1:${dead})`,
    ]);
    expect(r.failures[0]!.error).toMatch(/could not post: ECONNREFUSED/);
    expect(r.failures[1]!.error).toMatch(/HTTP 500.*boom/);
    expect(r.failures[2]!.error).toMatch(/could not send mail/);
    expect(posts.filter((p) => p.path === '/slack')).toHaveLength(1);
    expect(rulesOf(r.sent)).toEqual(['stale_worker:w1']); // recorded: one notifier delivered it
  });

  it('keeps alerts due when every notifier failed', async () => {
    await worker('w1', ago(10 * MIN));
    const config = makeConfig({ notifiers: [{ type: 'slack', url: `${httpUrl}/fail` }] });
    const r = await runAlerts(db, config, vars, silentLogger, NOW);
    expect(r.sent).toEqual([]);
    expect(r.failures).toHaveLength(1);
    const r2 = await runAlerts(
      db,
      makeConfig({ notifiers: [{ type: 'slack', url: `${httpUrl}/slack` }] }),
      vars,
      silentLogger,
      new Date(NOW.getTime() + MIN),
    );
    expect(rulesOf(r2.sent)).toEqual(['stale_worker:w1']);
  });
});

describe('alerts config', () => {
  it('is disabled without notifiers and schedules at interval_seconds', () => {
    expect(alertsSchema.parse(undefined)).toMatchObject({
      enabled: false,
      interval_seconds: 60,
      cooldown_minutes: 60,
    });
    const s = alertsSchedule(
      makeConfig({ interval_seconds: 30, notifiers: [{ type: 'slack', url: 'https://h/x' }] }),
    );
    expect(s).toMatchObject({ name: 'ops.alerts', kind: 'ops.alerts', intervalMs: 30_000, enabled: true });
    expect(alertsSchedule(makeConfig()).enabled).toBe(false);
  });

  it('rejects a notifier without its settings and unknown rules', () => {
    expect(alertsSchema.safeParse({ notifiers: [{ type: 'slack' }] }).success).toBe(false);
    expect(alertsSchema.safeParse({ notifiers: [{ type: 'email', to: ['a@b'] }] }).success).toBe(false);
    expect(alertsSchema.safeParse({ suppress: [{ rule: 'nope' }] }).success).toBe(false);
    expect(alertsSchema.safeParse({ suppress: [{ rule: 'stuck_file', until: 'soon' }] }).success).toBe(false);
    expect(alertsSchema.safeParse({ rules: { working_hours: { from: '8am' } } }).success).toBe(false);
    expect(alertsSchema.safeParse({ extra: 1 }).success).toBe(false);
  });
});
