/**
 * One embedded PostgreSQL for the whole test run (fsync off: tests don't need durability), with a
 * template database migrated once. Each test file clones it (`createTestDb`), as graphile-worker's
 * and Immich's suites do. `SLUICE_TEST_PG=16` runs it on PostgreSQL 16 instead of the embedded 18
 * (test-postgres.ts); the setup checks the server's major and, when the variable is set, prints it.
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
import { assertMajor, testPostgres } from './test-postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgDataDir: string;
    /** The PostgreSQL major the run talks to (SLUICE_TEST_PG, checked against the server). */
    pgMajor: number;
  }
}

export default async function setup(project: TestProject) {
  const want = testPostgres(process.env.SLUICE_TEST_PG); // an unknown value fails here, before any work
  // tests spawn bin/sluice.js, which runs the compiled sources: compile the current ones once, here,
  // rather than in whichever spawned command comes first (it would print that it is compiling)
  await ensureBuild({ quiet: true });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sluice-test-pg-'));
  const server = await startEmbedded({
    dataDir,
    port: await freePort(),
    log: silentLogger,
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    binariesVia: want.binariesVia,
  });
  const adminUrl = server.url.replace(/\/sluice$/, '/postgres');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const v = (
    await admin.query<{ num: string; version: string }>(
      `select current_setting('server_version_num') as num, version() as version`,
    )
  ).rows[0]!;
  if (process.env.SLUICE_TEST_PG) console.log(`tests run on ${v.version}`);
  try {
    assertMajor(want, v.num, v.version);
  } catch (err) {
    await admin.end();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  await admin.query('drop database if exists sluice_template');
  await admin.query('create database sluice_template');
  await admin.end();
  const db = createDb(server.url.replace(/\/sluice$/, '/sluice_template'));
  await migrate(db);
  await db.close();
  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgDataDir', dataDir);
  project.provide('pgMajor', want.major);
  return async () => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
