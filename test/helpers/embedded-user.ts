/**
 * A process that uses the embedded PostgreSQL in DATA_DIR (port PORT) and does nothing else, for
 * lifecycle tests: prints "ready" once it holds the server; SIGTERM leaves it properly (the last
 * user stops it), SIGKILL leaves it as a crashed Sluice process would.
 */
import { startEmbedded } from '../../src/core/db/embedded.ts';
import { silentLogger } from '../../src/core/log.ts';

const server = await startEmbedded({
  dataDir: process.env.DATA_DIR!,
  port: Number(process.env.PORT),
  log: silentLogger,
  settings: { fsync: 'off' },
});
process.stdout.write(`ready started=${server.started}\n`);
process.on('SIGTERM', () => {
  void server.stop().finally(() => process.exit(0));
});
setInterval(() => undefined, 60_000);
