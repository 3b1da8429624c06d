/**
 * Everything a Sluice process needs, built in one place: the loaded configuration, the database
 * (embedded or external), the logger. Commands and the server receive this `AppContext`.
 */

import { type Config, type LoadedConfig, loadConfig } from '../core/config/index.ts';
import type { Db } from '../core/db/db.ts';
import type { EmbeddedServer } from '../core/db/embedded.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { Variables } from '../core/variables.ts';
import { syncPools } from '../engine/pools.ts';
import { openDatabase, type SchemaMode } from './database.ts';

export { VERSION } from '../core/version.ts';

export interface GlobalOptions {
  config?: string;
  env?: string;
  logLevel?: string;
}

export type { SchemaMode } from './database.ts';

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
 * Opens the context for a command: the config, the logger, the database (./database.ts; schema mode
 * `migrate` also syncs pools from the config: start, demo, `db migrate`).
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
  const { db, embedded, close } = await openDatabase(config, log, {
    schema: how.schema,
    afterMigrate: (db) => syncPools(db, config.pools),
    waitForDb: how.waitForDb,
  });
  return { loaded, config, db, log, vars: new Variables(db, config.variables), embedded, close };
}
