/**
 * The API in-process against a real test database: `app.request()` with no server. Users of each
 * role exist with a password and an API token; `call` sends a request as one of them.
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Hono } from 'hono';
import { createApp } from '../../src/api/app.ts';
import type { ApiDeps } from '../../src/api/deps.ts';
import type { ApiEnv } from '../../src/api/route.ts';
import type { Role } from '../../src/auth/roles.ts';
import { createToken } from '../../src/auth/tokens.ts';
import { createUser } from '../../src/auth/users.ts';
import { parseConfigText } from '../../src/core/config/index.ts';
import type { Db } from '../../src/core/db/db.ts';
import { Variables } from '../../src/core/variables.ts';
import { recordEvent } from '../../src/engine/events.ts';
import { syncPools } from '../../src/engine/pools.ts';
import { syncInstruments } from '../../src/files/repo.ts';
import { type CliResult, sluice } from './cli.ts';
import { createTestDb } from './db.ts';

export const PASSWORD = 'correct horse battery staple';

export interface ApiHarness {
  app: Hono<ApiEnv>;
  deps: ApiDeps;
  db: Db;
  /** API tokens of `viewer`, `operator` and `admin` (users named after their role). */
  tokens: Record<Role, string>;
  /** Environment for running `sluice` against this database and config. */
  cliEnv: Record<string, string>;
  close(): Promise<void>;
}

export async function createApiHarness(opts: Partial<ApiDeps> = {}): Promise<ApiHarness> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'sluice-api-'));
  const { db, url, drop } = await createTestDb();
  const yaml = `data_dir: ${root}/data
backup:
  path: ${root}/backup
projects:
  PRJ1: { tokens: [prj1] }
instruments:
  astral1: { type: thermo, watch: ${root}/astral1 }
  tims1: { type: bruker, watch: ${root}/tims1 }
`;
  await writeFile(path.join(root, 'sluice.yaml'), yaml);
  const config = parseConfigText(yaml, path.join(root, 'sluice.yaml')).config;
  await syncPools(db, config.pools);
  await syncInstruments(db, config.instruments);
  const deps: ApiDeps = {
    db,
    config,
    vars: new Variables(db, config.variables),
    version: 'test',
    eventPollMs: 50,
    ...opts,
  };
  const tokens = {} as Record<Role, string>;
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    await createUser(db, { name: role, role, password: PASSWORD }, 'test');
    tokens[role] = (await createToken(db, { user: role, name: 'script' }, 'test')).token;
  }
  return {
    app: createApp(deps),
    deps,
    db,
    tokens,
    cliEnv: { DATABASE_URL: url, SLUICE_CONFIG: path.join(root, 'sluice.yaml'), SLUICE_ACTOR: 'cli:tester' },
    async close() {
      await drop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export interface CallOptions {
  method?: string;
  token?: string;
  /** A session: the cookie header value and the CSRF token (sent unless `csrf: false`). */
  session?: Session;
  csrf?: boolean;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Session {
  cookie: string;
  csrfToken: string;
  setCookie: string;
}

export async function call(app: Hono<ApiEnv>, url: string, o: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.session) {
    headers.cookie = o.session.cookie;
    if (o.csrf !== false) headers['x-csrf-token'] = o.session.csrfToken;
  }
  let body: string | undefined;
  if (o.body !== undefined) {
    body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    headers['content-type'] ??= 'application/json';
  }
  return app.request(url, { method: o.method ?? (o.body === undefined ? 'GET' : 'POST'), headers, body });
}

export async function login(app: Hono<ApiEnv>, name: string, password = PASSWORD): Promise<Session> {
  const res = await call(app, '/api/login', { body: { name, password } });
  if (res.status !== 200) throw new Error(`login ${name}: ${res.status} ${await res.text()}`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return { cookie: setCookie.split(';')[0]!, csrfToken, setCookie };
}

/** Inserts a file row directly (the API reads what the pipeline writes). */
export async function insertFile(
  db: Db,
  f: { id: string; instrument?: string; status?: string; size?: number; createdAt?: string; name?: string },
): Promise<void> {
  await db.exec(
    `insert into files (id, instrument_id, name, kind, source_path, project_id, status, size_bytes, mtime, created_at)
     values ($1, $2, $3, 'file', $4, 'PRJ1', $5, $6, now(), coalesce($7::timestamptz, now()))`,
    [
      f.id,
      f.instrument ?? 'astral1',
      f.name ?? f.id,
      `/data/${f.id}`,
      f.status ?? 'done',
      f.size ?? 1000,
      f.createdAt ?? null,
    ],
  );
}

/** A file in `error` with one event whose reason quotes its id: `<id> failed`. */
export async function insertFailedFile(db: Db, id: string): Promise<void> {
  await insertFile(db, { id, status: 'error' });
  await recordEvent(db, {
    subjectType: 'file',
    subjectId: id,
    actor: 'test',
    to: 'error',
    reason: `${id} failed`,
  });
}

/** Runs the real `sluice users …` command. */
export function usersCli(
  args: string[],
  opts: { env: Record<string, string>; input?: string },
): Promise<CliResult> {
  return sluice(['users', ...args], opts);
}
