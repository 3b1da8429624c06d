/**
 * Opening the database a command or a process works on: the shared PostgreSQL at database.url, or
 * the embedded one in data_dir (started, or joined when running), reachable, with its schema as the
 * caller needs it. Needs only the database settings, so read-only commands open it without loading
 * the whole config (core/config/light.ts); runtime/context.ts builds the full AppContext on it.
 */
import type { DatabaseSettings } from '../core/config/light.ts';
import {
  assertReachable,
  createDb,
  type Db,
  isTransientDbError,
  unreachable,
  waitReachable,
} from '../core/db/db.ts';
import { type EmbeddedServer, startEmbedded } from '../core/db/embedded.ts';
import { checkNotNewer, migrate, recordedVersion, schemaVersion } from '../core/db/migrate.ts';
import { SluiceError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';

export type SchemaMode = 'migrate' | 'current' | 'any';

export type { DatabaseSettings };

export interface OpenDatabase {
  db: Db;
  embedded: EmbeddedServer | undefined;
  close(): Promise<void>;
}

/**
 * Opens the database. Schema modes: `migrate` applies pending migrations, then `afterMigrate`
 * (start, demo, `db migrate`); `current` requires an up-to-date schema (commands never change it
 * behind the operator's back); `any` checks nothing. `waitForDb`: wait while a shared database is
 * not reachable yet (services: `sluice start`).
 */
export async function openDatabase(
  settings: DatabaseSettings,
  log: Logger,
  how: {
    schema?: SchemaMode;
    afterMigrate?: (db: Db) => Promise<void>;
    waitForDb?: (message: string) => void;
  } = {},
): Promise<OpenDatabase> {
  const pool = { max: settings.database.pool_size, log };
  const url = settings.database.url;
  const { db, embedded } = url
    ? { db: createDb(url, pool), embedded: undefined }
    : await embeddedDb(settings, pool);
  // both at once: the embedded server is left (or stopped) while the pool's connections end
  const close = async () => {
    await Promise.all([db.close().catch(() => undefined), embedded?.stop()]);
  };
  const prepare = async (): Promise<void> => {
    const mode = how.schema ?? 'current';
    if (mode === 'migrate') {
      await migrate(db, log);
      await how.afterMigrate?.(db);
    } else if (mode === 'current') {
      const v = await recordedVersion(db);
      checkNotNewer(v);
      if (v < schemaVersion()) {
        throw new SluiceError(
          'db.schema_old',
          `the database schema is at version ${v}; this Sluice needs ${schemaVersion()}`,
          {
            hint: 'run `sluice db migrate` (or start Sluice, which migrates)',
            exitCode: 1,
          },
        );
      }
    }
  };
  try {
    if (how.waitForDb && !embedded) await prepareWaiting(db, log, prepare, how.waitForDb);
    else if ((how.schema ?? 'current') === 'current') {
      // a command's first round trip both reaches the database and reads its schema version
      await prepare().catch((err: unknown) => {
        throw err instanceof SluiceError ? err : unreachable(db, err);
      });
    } else {
      await assertReachable(db);
      await prepare();
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { db, embedded, close };
}

/**
 * A service waits for its shared database, and if the database goes away again while migrations
 * run (PostgreSQL restarted, a failover), waits once more and starts over instead of exiting:
 * each migration is its own transaction under an advisory lock, so a repeat finds applied ones done.
 */
async function prepareWaiting(
  db: Db,
  log: Logger,
  prepare: () => Promise<void>,
  onWait: (message: string) => void,
): Promise<void> {
  for (;;) {
    await waitReachable(db, log, { onWait });
    try {
      await prepare();
      return;
    } catch (err) {
      if (!isTransientDbError(err)) throw err;
      log.warn(
        { err: (err as Error).message },
        'the database went away while preparing it (migrations, pools); waiting for it again',
      );
    }
  }
}

/**
 * The embedded server (started or joined) and a pool on it. Joining a running server, the pool's
 * first connection is opened while the server's users lock is taken (a command's two connections
 * at once instead of one after the other); no statement runs on it before the lock is held.
 */
async function embeddedDb(
  settings: DatabaseSettings,
  pool: { max: number; log: Logger },
): Promise<{ db: Db; embedded: EmbeddedServer }> {
  let early: { db: Db; connected: Promise<void> } | undefined;
  let embedded: EmbeddedServer;
  try {
    embedded = await startEmbedded({
      dataDir: settings.data_dir,
      port: settings.database.embedded_port,
      log: pool.log,
      onServer: (found) => {
        if (early) return;
        const db = createDb(found, pool);
        early = {
          db,
          connected: db.pool.connect().then(
            (c) => c.release(),
            () => undefined,
          ),
        };
      },
    });
  } catch (err) {
    await early?.db.close().catch(() => undefined);
    throw err;
  }
  const warmed = early?.db.url === embedded.url ? early : undefined;
  if (early && !warmed) await early.db.close().catch(() => undefined);
  await warmed?.connected;
  return { db: warmed?.db ?? createDb(embedded.url, pool), embedded };
}
