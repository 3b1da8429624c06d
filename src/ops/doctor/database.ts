/**
 * Doctor check `database`: PostgreSQL answers (`database.url`, else the embedded PostgreSQL that
 * doctor starts in `data_dir`). The open handle is passed on to the checks that need the database.
 */
import path from 'node:path';
import type { Config } from '../../core/config/index.ts';
import { assertReachable, createDb, type Db } from '../../core/db/db.ts';
import { startEmbedded } from '../../core/db/embedded.ts';
import { type Logger, silentLogger } from '../../core/log.ts';
import { type CheckResult, failFrom, ok } from './result.ts';

/** An open database for the checks; `target` names it for people (password masked). */
export interface DbHandle {
  db: Db;
  target: string;
  close(): Promise<void>;
}

/** A database URL with its password masked, for rows and logs. */
export function maskUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/** The database as Sluice would open it: `database.url`, else the embedded PostgreSQL. */
export async function openDoctorDb(config: Config, log: Logger = silentLogger): Promise<DbHandle> {
  if (config.database.url) {
    const db = createDb(config.database.url, { max: 2, log, applicationName: 'sluice-doctor' });
    return { db, target: maskUrl(config.database.url), close: () => db.close().catch(() => undefined) };
  }
  const embedded = await startEmbedded({
    dataDir: config.data_dir,
    port: config.database.embedded_port,
    log,
  });
  const db = createDb(embedded.url, { max: 2, log, applicationName: 'sluice-doctor' });
  return {
    db,
    target: `embedded (${path.join(config.data_dir, 'postgres')}, port ${embedded.port})`,
    close: async () => {
      await db.close().catch(() => undefined);
      await embedded.stop();
    },
  };
}

export async function checkDatabase(
  open: () => Promise<DbHandle>,
  describe: string,
): Promise<{ result: CheckResult; handle?: DbHandle }> {
  let handle: DbHandle;
  try {
    handle = await open();
  } catch (err) {
    return { result: failFrom('database', describe, err) };
  }
  try {
    await assertReachable(handle.db);
    const v = await handle.db.one<{ v: string }>(`select current_setting('server_version') as v`);
    return { result: ok('database', handle.target, `reachable (PostgreSQL ${v.v})`), handle };
  } catch (err) {
    await handle.close();
    return { result: failFrom('database', handle.target, err) };
  }
}
