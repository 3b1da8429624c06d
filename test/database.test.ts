/** The database layer: embedded PostgreSQL start-up errors, adoption after a crash, migrations. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDb } from '../src/core/db/db.ts';
import { freePort, startEmbedded } from '../src/core/db/embedded.ts';
import {
  assertSchemaNotNewer,
  currentVersion,
  loadMigrations,
  migrate,
  recordedVersion,
  schemaVersion,
} from '../src/core/db/migrate.ts';
import { SluiceError } from '../src/core/errors.ts';
import { silentLogger } from '../src/core/log.ts';
import { SLUICE_BIN, sluice } from './helpers/cli.ts';
import { waitExit, waitFor } from './helpers/spawn.ts';

const dirs: string[] = [];
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const s of stops) await s();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tmp() {
  const d = await mkdtemp(path.join(os.tmpdir(), 'sluice-db-'));
  dirs.push(d);
  return d;
}

/** `sluice start --role worker` against `url` (config: a data_dir only); its stderr so far by `err()`. */
async function startWorker(url: string): Promise<{ child: ChildProcess; err: () => string }> {
  const cfgDir = await tmp();
  await writeFile(path.join(cfgDir, 'sluice.yaml'), 'data_dir: ./data\n');
  const child = spawn(process.execPath, [SLUICE_BIN, 'start', '--role', 'worker'], {
    env: { ...process.env, DATABASE_URL: url, SLUICE_CONFIG: path.join(cfgDir, 'sluice.yaml') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return { child, err: () => err };
}

describe('embedded PostgreSQL', () => {
  it('refuses a busy port with a message naming the port and what to change', async () => {
    const port = await freePort();
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    try {
      const err = await startEmbedded({ dataDir: await tmp(), port, log: silentLogger }).catch((e) => e);
      expect(err).toBeInstanceOf(SluiceError);
      expect(err.code).toBe('db.port_busy');
      expect(err.message).toContain(`port ${port}`);
      expect(err.hint).toMatch(/database\.embedded_port/);
      expect(err.exitCode).toBe(2);
    } finally {
      blocker.close();
    }
  });

  it('adopts the server a killed Sluice left running, and refuses one that is not its own', async () => {
    const dir = await tmp();
    const port = await freePort();
    const first = await startEmbedded({ dataDir: dir, port, log: silentLogger, settings: { fsync: 'off' } });
    stops.push(first.stop);
    expect(first.started).toBe(true);
    // a second process on the same data dir (e.g. after the first was killed with SIGKILL) adopts it
    const again = await startEmbedded({ dataDir: dir, port: await freePort(), log: silentLogger });
    stops.push(again.stop); // the last of the two to leave stops the server
    expect(again.started).toBe(false);
    expect(again.port).toBe(port);
    const c = new pg.Client({ connectionString: again.url });
    await c.connect();
    await c.end();
    // credentials that do not open it: the directory belongs to another instance
    const credFile = path.join(dir, 'postgres.credentials.json');
    const creds = JSON.parse(await readFile(credFile, 'utf8'));
    await writeFile(credFile, JSON.stringify({ ...creds, password: 'not-the-password' }));
    const err = await startEmbedded({ dataDir: dir, port: await freePort(), log: silentLogger }).catch(
      (e) => e,
    );
    expect(err.code).toBe('db.data_dir_locked');
    expect(err.message).toContain(path.join(dir, 'postgres'));
    expect(err.message).toMatch(/in use by another PostgreSQL \(pid \d+, port \d+\)/);
    await writeFile(credFile, JSON.stringify(creds));
  });

  // only root switches to the postgres user, so only root can meet this error
  it.skipIf(process.getuid?.() !== 0)(
    'explains a data dir the postgres user cannot reach (running as root)',
    async () => {
      const parent = await tmp();
      const { chmod } = await import('node:fs/promises');
      await chmod(parent, 0o700);
      const err = await startEmbedded({
        dataDir: path.join(parent, 'inner', 'data'),
        port: await freePort(),
        log: silentLogger,
      }).catch((e) => e);
      expect(err.code).toBe('db.embedded_permissions');
      expect(err.message).toContain(parent);
      expect(err.hint).toMatch(/chmod o\+x/);
    },
  );
});

describe.skipIf(process.getuid?.() !== 0)('where the embedded database can live (as root)', () => {
  it('knows which directories the postgres user can reach, so the demo can avoid the others', async () => {
    const { chmod, mkdir } = await import('node:fs/promises');
    const { embeddedCanReach } = await import('../src/core/db/embedded.ts');
    const open = await tmp();
    await chmod(open, 0o755);
    await mkdir(path.join(open, 'demo'));
    expect(await embeddedCanReach(path.join(open, 'demo'))).toBe(true);
    const closed = await tmp();
    await chmod(closed, 0o700);
    await mkdir(path.join(closed, 'demo'));
    expect(await embeddedCanReach(path.join(closed, 'demo'))).toBe(false);
  });
});

describe('migrations', () => {
  async function emptyDb() {
    const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await admin.connect();
    const name = `m_${Math.random().toString(36).slice(2, 10)}`;
    await admin.query(`create database ${name}`);
    await admin.end();
    return inject('pgAdminUrl').replace(/\/postgres$/, `/${name}`);
  }

  it('applies every migration once when several processes start at the same moment', async () => {
    const url = await emptyDb();
    const results = await Promise.all(
      [1, 2, 3].map(async () => {
        const db = createDb(url, { max: 2 });
        try {
          return await migrate(db);
        } finally {
          await db.close();
        }
      }),
    );
    const applied = results.flatMap((r) => r.applied.map((m) => m.version));
    expect(applied.sort()).toEqual([...new Set(applied)].sort()); // nobody applied one twice
    // every migration file once (numbers may have gaps: branches reserve theirs)
    expect(applied.length).toBe(loadMigrations().length);
    const db = createDb(url);
    expect(await currentVersion(db)).toBe(schemaVersion());
    await db.close();
  });

  it('refuses to run against a schema newer than this program, in code and from the CLI', async () => {
    const url = await emptyDb();
    const db = createDb(url);
    await migrate(db);
    await db.exec(`insert into sluice_migrations (version, name) values (9999, 'from_the_future')`);
    const err = await assertSchemaNotNewer(db).catch((e) => e);
    expect(err.code).toBe('db.schema_newer');
    expect(err.message).toMatch(/version 9999, newer than this Sluice understands/);
    const cfgDir = await tmp();
    await writeFile(path.join(cfgDir, 'sluice.yaml'), 'data_dir: ./data\n');
    const r = await sluice(['start', '--role', 'worker'], {
      env: { DATABASE_URL: url, SLUICE_CONFIG: path.join(cfgDir, 'sluice.yaml') },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/newer than this Sluice understands/);
    expect(r.stderr).toMatch(/upgrade this machine/);
    await db.close();
  });

  it('a read-only command checks the schema in its first query: none yet, older, newer', async () => {
    const url = await emptyDb();
    const db = createDb(url);
    expect(await recordedVersion(db)).toBe(0); // no sluice_migrations table yet
    expect(schemaVersion()).toBe(Math.max(...loadMigrations().map((m) => m.version)));
    const cfgDir = await tmp();
    const cfg = path.join(cfgDir, 'sluice.yaml');
    await writeFile(cfg, 'data_dir: ./data\n');
    const list = () => sluice(['files', 'list'], { env: { DATABASE_URL: url, SLUICE_CONFIG: cfg } });
    let r = await list();
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/schema is at version 0; this Sluice needs \d+/);
    expect(r.stderr).toMatch(/sluice db migrate/);
    await migrate(db);
    expect(await recordedVersion(db)).toBe(schemaVersion());
    r = await list();
    expect(r.code, r.stderr).toBe(0);
    await db.exec(`insert into sluice_migrations (version, name) values (9999, 'from_the_future')`);
    r = await list();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/version 9999, newer than this Sluice understands/);
    await db.close();
  });

  it('a worker started before its shared database waits for it, and runs once it answers', async () => {
    const url = new URL(await emptyDb());
    const real = { host: url.hostname, port: Number(url.port) };
    const port = await freePort(); // nothing listens here yet: connections are refused
    url.port = String(port);
    const { child, err } = await startWorker(url.href);
    let proxy: net.Server | undefined;
    try {
      await waitFor(
        'the worker to say it waits for the database',
        () => /waiting for it/.test(err()) || child.exitCode !== null,
      );
      expect(child.exitCode, err()).toBeNull();
      expect(err()).toMatch(new RegExp(`cannot connect to the database at .*:${port}/`));
      // the database "comes up": a TCP relay to the real server starts listening on that port
      proxy = net.createServer((c) => {
        const s = net.connect(real.port, real.host);
        c.pipe(s).pipe(c);
        c.on('error', () => s.destroy());
        s.on('error', () => c.destroy());
      });
      await new Promise<void>((r) => proxy!.listen(port, '127.0.0.1', () => r()));
      await waitFor('the worker to run', () => /running \(worker /.test(err()) || child.exitCode !== null);
      expect(child.exitCode, err()).toBeNull();
      child.kill('SIGTERM');
      expect(await waitExit(child)).toBe(0);
    } finally {
      child.kill('SIGKILL');
      proxy?.close();
    }
  });

  it('a worker whose database goes away while it migrates waits again instead of exiting', async () => {
    const url = new URL(await emptyDb());
    const real = { host: url.hostname, port: Number(url.port) };
    const port = await freePort();
    url.port = String(port);
    // a relay to the real server that cuts every connection once, when the migrations start
    // (the first statement that takes the migration lock): PostgreSQL "went away" mid-migrate
    let cut = false;
    const proxy = net.createServer((c) => {
      const s = net.connect(real.port, real.host);
      c.on('data', (d: Buffer) => {
        if (!cut && d.includes('pg_advisory_lock')) {
          cut = true;
          c.destroy();
          s.destroy();
          return;
        }
        s.write(d);
      });
      s.pipe(c);
      c.on('error', () => s.destroy());
      s.on('error', () => c.destroy());
    });
    await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', () => r()));
    const { child, err } = await startWorker(url.href);
    try {
      await waitFor('the worker to run', () => /running \(worker /.test(err()) || child.exitCode !== null);
      expect(child.exitCode, err()).toBeNull();
      expect(cut).toBe(true);
      expect(err()).toMatch(/went away while preparing it/);
      child.kill('SIGTERM');
      expect(await waitExit(child)).toBe(0);
    } finally {
      child.kill('SIGKILL');
      proxy.close();
    }
  });
});
