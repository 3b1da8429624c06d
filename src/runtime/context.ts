/**
 * Everything a Sluice process needs, built in one place: the loaded configuration, the database
 * (embedded or external), the logger. Commands and the server receive this `AppContext`.
 */

import { type Config, type LoadedConfig, loadConfig } from '../core/config/index.ts';
import { assertReachable, createDb, type Db, isTransientDbError, waitReachable } from '../core/db/db.ts';
import { type EmbeddedServer, startEmbedded } from '../core/db/embedded.ts';
import { assertSchemaNotNewer, currentVersion, migrate, schemaVersion } from '../core/db/migrate.ts';
import { SluiceError } from '../core/errors.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { Variables } from '../core/variables.ts';
import { syncPools } from '../engine/pools.ts';

export { VERSION } from '../core/version.ts';

export interface GlobalOptions {
  config?: string;
  env?: string;
  logLevel?: string;
}

export type SchemaMode = 'migrate' | 'current' | 'any';

export interface AppContext {
  loaded: LoadedConfig;
  config: Config;
  db: Db;
  log: Logger;
  vars: Variables;
  embedded: EmbeddedServer | undefined;
  close(): Promise<void>;
}

export async function loadAppConfig(opts: GlobalOptions): Promise<LoadedConfig> {
  return loadConfig({ path: opts.config, env: opts.env });
}

/**
 * Opens the database for a command. Schema modes: `migrate` applies pending migrations and
 * syncs pools from the config (start, demo, `db migrate`); `current` requires an up-to-date
 * schema (commands never change it behind the operator's back); `any` checks nothing.
 */
export async function openContext(
  opts: GlobalOptions,
  how: {
    schema?: SchemaMode;
    loaded?: LoadedConfig;
    log?: Logger;
    quiet?: boolean;
    /** Wait while a shared database is not reachable yet (services: `sluice start`). */
    waitForDb?: (message: string) => void;
  } = {},
): Promise<AppContext> {
  const loaded = how.loaded ?? (await loadAppConfig(opts));
  const config = loaded.config;
  // one-shot commands log warnings only unless asked; long-running ones use the configured level
  const log = how.log ?? createLogger({ level: opts.logLevel ?? (how.quiet ? 'warn' : config.log.level) });
  let embedded: EmbeddedServer | undefined;
  let url = config.database.url;
  if (!url) {
    embedded = await startEmbedded({ dataDir: config.data_dir, port: config.database.embedded_port, log });
    url = embedded.url;
  }
  const db = createDb(url, { max: config.database.pool_size, log });
  const close = async () => {
    await db.close().catch(() => undefined);
    await embedded?.stop();
  };
  const prepare = async (): Promise<void> => {
    const mode = how.schema ?? 'current';
    if (mode === 'migrate') {
      await migrate(db, log);
      await syncPools(db, config.pools);
    } else if (mode === 'current') {
      await assertSchemaNotNewer(db);
      const v = await currentVersion(db);
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
    else {
      await assertReachable(db);
      await prepare();
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { loaded, config, db, log, vars: new Variables(db, config.variables), embedded, close };
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
