/**
 * One embedded PostgreSQL for the whole test run (fsync off: tests don't need durability), with a
 * template database migrated once. Each test file clones it (`createTestDb`), as graphile-worker's
 * and Immich's suites do.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { ensureBuild } from '../../scripts/build-cli.mjs';
import { createDb } from '../../src/core/db/db.ts';
import { freePort, startEmbedded } from '../../src/core/db/embedded.ts';
import { migrate } from '../../src/core/db/migrate.ts';
import { silentLogger } from '../../src/core/log.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgDataDir: string;
  }
}

export default async function setup(project: TestProject) {
  // tests spawn bin/sluice.js, which runs the compiled sources: compile the current ones once, here,
  // rather than in whichever spawned command comes first (it would print that it is compiling)
  await ensureBuild({ quiet: true });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sluice-test-pg-'));
  const server = await startEmbedded({
    dataDir,
    port: await freePort(),
    log: silentLogger,
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
  });
  const adminUrl = server.url.replace(/\/sluice$/, '/postgres');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query('drop database if exists sluice_template');
  await admin.query('create database sluice_template');
  await admin.end();
  const db = createDb(server.url.replace(/\/sluice$/, '/sluice_template'));
  await migrate(db);
  await db.close();
  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgDataDir', dataDir);
  return async () => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
