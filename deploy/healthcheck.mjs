#!/usr/bin/env node
/**
 * Container health check for Sluice (plain JavaScript: no tsx start-up, no curl in the slim image).
 *
 *   node deploy/healthcheck.mjs [web|worker|all]
 *
 * Without an argument the role is read from the command line of the Sluice process (PID 1, or the
 * PID in SLUICE_HEALTH_PID): `start --role web|worker|all`, default `all`. Any other command (a
 * one-shot `config check`, `db migrate`) counts as healthy.
 *
 *   web     GET /healthz answers 200. URL: SLUICE_HEALTH_URL, default
 *           http://127.0.0.1:<--port or 8080>/healthz (server.host must be 0.0.0.0 or 127.0.0.1).
 *   worker  a worker process on this host (same hostname) heartbeated in the `workers` table within
 *           SLUICE_HEALTH_MAX_AGE_SECONDS (default 60) and has not stopped. Needs DATABASE_URL.
 *           A worker serves no HTTP, so its heartbeat is the only sign that it still works.
 *   all     both.
 *
 * Exit 0 healthy, 1 unhealthy; one line on stdout says why (`docker inspect` shows it).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import pg from 'pg';

const TIMEOUT_MS = 5000;

/** The argv of a process, from /proc (Linux). */
function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** `start --role X` / `--role=X` / `-r X` → X; `start` alone → all; not `start` → undefined. */
function roleFromArgv(argv) {
  if (!argv.includes('start')) return undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if ((a === '--role' || a === '-r') && i + 1 < argv.length) return argv[i + 1];
    if (a.startsWith('--role=')) return a.slice('--role='.length);
  }
  return 'all';
}

function portFromArgv(argv) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if ((a === '--port' || a === '-p') && i + 1 < argv.length) return argv[i + 1];
    if (a.startsWith('--port=')) return a.slice('--port='.length);
  }
  return undefined;
}

async function checkWeb(argv) {
  const url = process.env.SLUICE_HEALTH_URL || `http://127.0.0.1:${portFromArgv(argv) ?? '8080'}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (res.status !== 200) return `web: ${url} answered ${res.status}`;
    return undefined;
  } catch (err) {
    return `web: ${url} unreachable: ${err.cause?.message ?? err.message}`;
  }
}

async function checkWorker() {
  const url = process.env.DATABASE_URL;
  if (!url) return 'worker: DATABASE_URL is not set, so the heartbeat cannot be checked';
  const maxAge = Number(process.env.SLUICE_HEALTH_MAX_AGE_SECONDS || 60);
  const host = hostname();
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: TIMEOUT_MS,
    statement_timeout: TIMEOUT_MS,
    application_name: 'sluice-healthcheck',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query(
      `select count(*)::int as n from workers
       where host = $1 and stopped_at is null
         and last_heartbeat_at > now() - $2 * interval '1 second'`,
      [host, maxAge],
    );
    if (rows[0].n === 0) return `worker: no live worker on host ${host} heartbeated in the last ${maxAge} s`;
    return undefined;
  } catch (err) {
    return `worker: cannot check the heartbeat: ${err.message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function main() {
  const argv = cmdline(process.env.SLUICE_HEALTH_PID || 1);
  const role = process.argv[2] ?? roleFromArgv(argv);
  if (role === undefined) {
    process.stdout.write('ok: not a long-running `start` process\n');
    return 0;
  }
  if (!['web', 'worker', 'all'].includes(role)) {
    process.stdout.write(`unknown role '${role}': expected web, worker or all\n`);
    return 1;
  }
  const problems = [];
  if (role === 'web' || role === 'all') problems.push(await checkWeb(argv));
  if (role === 'worker' || role === 'all') problems.push(await checkWorker());
  const bad = problems.filter(Boolean);
  if (bad.length > 0) {
    process.stdout.write(`unhealthy (${role}): ${bad.join('; ')}\n`);
    return 1;
  }
  process.stdout.write(`ok (${role})\n`);
  return 0;
}

process.exitCode = await main();
