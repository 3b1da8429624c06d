/**
 * The database handle every module receives: a `pg` pool plus small typed helpers.
 * Queries are plain SQL with parameters; each module declares the row type it expects.
 */
import pg from 'pg';
import { SluiceError } from '../errors.ts';
import type { Logger } from '../log.ts';

// bigint columns (ids, sizes) as JS numbers would silently lose precision above 2^53; we keep
// ids as strings and convert sizes explicitly where arithmetic is needed.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

export type Params = readonly unknown[];

export interface Queryable {
  query<R extends object = Record<string, unknown>>(sql: string, params?: Params): Promise<R[]>;
  one<R extends object = Record<string, unknown>>(sql: string, params?: Params): Promise<R>;
  maybeOne<R extends object = Record<string, unknown>>(sql: string, params?: Params): Promise<R | undefined>;
  exec(sql: string, params?: Params): Promise<number>;
}

export type Tx = Queryable;

export interface Db extends Queryable {
  readonly pool: pg.Pool;
  readonly url: string;
  tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

function wrap(run: (sql: string, params?: Params) => Promise<pg.QueryResult>): Queryable {
  return {
    async query<R extends object>(sql: string, params?: Params) {
      return (await run(sql, params)).rows as R[];
    },
    async one<R extends object>(sql: string, params?: Params) {
      const rows = (await run(sql, params)).rows as R[];
      if (rows.length !== 1) throw new Error(`expected one row, got ${rows.length}: ${sql.slice(0, 80)}`);
      return rows[0]!;
    },
    async maybeOne<R extends object>(sql: string, params?: Params) {
      return (await run(sql, params)).rows[0] as R | undefined;
    },
    async exec(sql: string, params?: Params) {
      return (await run(sql, params)).rowCount ?? 0;
    },
  };
}

/** The connection under a transaction's Queryable (for COPY, ./copy.ts). */
const clients = new WeakMap<Queryable, pg.ClientBase>();

export function clientQueryable(client: pg.ClientBase): Queryable {
  const q = wrap((sql, params) => client.query(sql, params as unknown[] | undefined));
  clients.set(q, client);
  return q;
}

/** The one connection `q` runs on, or undefined for a pool (whose statements may each take another). */
export function clientOf(q: Queryable): pg.ClientBase | undefined {
  return clients.get(q);
}

export function createDb(
  url: string,
  opts: { max?: number; log?: Logger; applicationName?: string } = {},
): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'sluice',
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client that loses its connection (database restart) must not crash the process;
  // the pool replaces it on the next checkout.
  pool.on('error', (err) => opts.log?.warn({ err: err.message }, 'idle database connection lost'));
  const base = wrap((sql, params) => pool.query(sql, params as unknown[] | undefined));
  return {
    ...base,
    pool,
    url,
    async tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      // A checked-out client has no error listener in pg-pool: a connection that drops between
      // two statements (database restart) would otherwise crash the process.
      let broken: Error | undefined;
      const onError = (err: Error) => {
        broken = err;
      };
      client.on('error', onError);
      try {
        await client.query('begin');
        const result = await fn(clientQueryable(client));
        await client.query('commit');
        return result;
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        broken ??= isConnectionError(err) ? (err as Error) : undefined;
        throw err;
      } finally {
        client.removeListener('error', onError);
        client.release(broken);
      }
    },
    async close() {
      await pool.end();
    },
  };
}

/**
 * Runs `fn` on a pooled connection of its own (COPY streams, long transactions) and gives it back
 * to the pool, or closes it when `fn` failed: after a connection error, or a COPY abandoned
 * half-way, the connection is not safe to reuse. Closing it also ends any open transaction.
 */
export async function withClient<T>(db: Db, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    return await fn(client);
  } catch (err) {
    broken ??= err as Error;
    throw err;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return (
    code.startsWith('08') || code === '57P01' || /terminat|ECONNRE|EPIPE/i.test((err as Error).message ?? '')
  );
}

/** Fails with a clear message when the database cannot be reached. */
export async function assertReachable(db: Db): Promise<void> {
  try {
    await db.query('select 1');
  } catch (err) {
    throw unreachable(db, err);
  }
}

/** The error of a database that could not be reached (`err`: the first query's failure). */
export function unreachable(db: Db, err: unknown): SluiceError {
  const safeUrl = db.url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  return new SluiceError(
    'db.unreachable',
    `cannot connect to the database at ${safeUrl}: ${(err as Error).message}`,
    {
      hint: 'check that PostgreSQL is running and that DATABASE_URL (host, port, user, password, database) is right; `sluice doctor` checks it',
      cause: err,
      exitCode: 1,
    },
  );
}

/**
 * Errors that mean "the database is not there yet" rather than "the settings are wrong": a server
 * still starting or restarting, a host not reachable yet after a power cut. Wrong credentials, a
 * missing database or a malformed URL are not in this list: waiting would not mend them.
 */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EAI_AGAIN',
  'EPIPE',
  '57P01', // admin_shutdown (the server stops while we connect)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the server is starting up or recovering
  '53300', // too_many_connections
]);

export function isTransientDbError(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
    if (/Connection terminated|timeout expired/i.test(e.message)) return true;
  }
  return false;
}

/**
 * `assertReachable`, but waits while the database is only not there yet (see TRANSIENT_CODES): a
 * service started before its database (both booting after a power cut, PostgreSQL restarting)
 * comes up by itself instead of exiting. Says once, then every few minutes, what it waits for.
 * Settings that cannot work (password, database name) fail at once.
 */
export async function waitReachable(
  db: Db,
  log: Logger,
  opts: { maxDelayMs?: number; onWait?: (message: string) => void } = {},
): Promise<void> {
  const maxDelay = opts.maxDelayMs ?? 10_000;
  let delay = 500;
  let waitingSince: number | undefined;
  let lastSaid = 0;
  for (;;) {
    try {
      await assertReachable(db);
      if (waitingSince !== undefined)
        log.info({ waitedSeconds: Math.round((Date.now() - waitingSince) / 1000) }, 'database reachable');
      return;
    } catch (err) {
      if (!isTransientDbError(err)) throw err;
      const now = Date.now();
      waitingSince ??= now;
      if (now - lastSaid >= 300_000 || lastSaid === 0) {
        lastSaid = now;
        const message = `${(err as Error).message}; waiting for it (retrying every ${Math.round(maxDelay / 1000)} s at most; Ctrl-C stops)`;
        log.warn({ waitedSeconds: Math.round((now - waitingSince) / 1000) }, message);
        opts.onWait?.(message);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(maxDelay, delay * 2);
    }
  }
}

/**
 * Advisory lock keys of the two-int form, in one place (first int: Sluice's namespace). The others:
 * the engine's per-pool claim lock and process/slots.ts (class 378830, hashtext(name)), the
 * embedded server's users' lock (0x5c1ce, 100, in database `postgres`); the one-key locks
 * (hashtext(...): catalog, outbox) are a key space of their own, which never meets this one.
 */
export const DbLock = {
  namespace: 0x5c1ce,
  migrate: 1,
  scheduler: 2,
  /** One fold of the copy counts at a time (files/copy-counts.ts `compactCopyCounts`). */
  copyCountsFold: 3,
} as const;
