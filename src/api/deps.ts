/**
 * What the API's routes are given: the database, configuration, variables and logger of the web process.
 */
import type { ThrottlePolicy } from '../auth/login-throttle.ts';
import type { Config } from '../core/config/index.ts';
import type { Db } from '../core/db/db.ts';
import type { Logger } from '../core/log.ts';
import type { Variables } from '../core/variables.ts';

/** What the API needs, built once per process (see `runProcess`). */
export interface ApiDeps {
  db: Db;
  config: Config;
  vars: Variables;
  version: string;
  log?: Logger;
  /** Mark the session cookie `Secure`: always, never, or when the request came over https (default). */
  secureCookies?: boolean | 'auto';
  /** A session ends after this long without use (default 12 h). */
  sessionTtlMs?: number;
  /** How often the event stream looks for new events (default 1000 ms). */
  eventPollMs?: number;
  /** Most rows `GET /api/files.csv` writes (default 100,000). */
  csvMaxRows?: number;
  /** The built dashboard (default: web/dist of this checkout). */
  dashboardDir?: string;
  /** The folder plugin modules (stream units) are found from: the config file's (default: the current one). */
  baseDir?: string;
  /** The login throttle's limits (default DEFAULT_THROTTLE in auth/login-throttle.ts; tests change them). */
  loginThrottle?: Partial<ThrottlePolicy>;
}
