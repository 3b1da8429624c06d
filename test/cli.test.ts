/** The `sluice` command as a person uses it: real processes against a real database. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sluice } from './helpers/cli.ts';
import { createTestDb } from './helpers/db.ts';

let dir: string;
let env: Record<string, string>;
let drop: () => Promise<void>;
let db: Awaited<ReturnType<typeof createTestDb>>['db'];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-cli-'));
  await mkdir(path.join(dir, 'astral1'));
  const t = await createTestDb();
  drop = t.drop;
  db = t.db;
  await writeFile(
    path.join(dir, 'sluice.yaml'),
    `data_dir: ./data\ninstruments:\n  astral1:\n    type: thermo\n    watch: ./astral1\nbackup:\n  path: ./backup\n`,
  );
  env = { DATABASE_URL: t.url, SLUICE_CONFIG: path.join(dir, 'sluice.yaml'), SLUICE_ACTOR: 'tester' };
  expect((await sluice(['db', 'migrate'], { env })).code).toBe(0);
});
afterAll(async () => {
  await drop();
  await rm(dir, { recursive: true, force: true });
});

describe('sluice CLI', () => {
  it('prints help with examples and exits 0', async () => {
    const r = await sluice(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Getting started:/);
    expect(r.stdout).toMatch(/files/);
  });

  it('exits 2 with a clear message for an unknown command, a bad option value and a bad role', async () => {
    const a = await sluice(['frobnicate']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/unknown command 'frobnicate'/);
    const b = await sluice(['pools', 'set', 'copy', 'many'], { env });
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/size must be a whole number ≥ 0, got 'many'/);
    const c = await sluice(['start', '--role', 'boss'], { env });
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/--role must be web, worker or all, got 'boss'/);
    expect(c.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('exits 2 and names the file, line and field for an invalid config', async () => {
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'instruments:\n  astral1:\n    type: thermos\n    watch: /x\n');
    const r = await sluice(['--config', bad, 'config', 'check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:3`);
    expect(r.stderr).toContain('instruments.astral1.type');
    expect(r.stderr).toContain("'thermos'");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 when the config file is missing, and says how to create one', async () => {
    const r = await sluice(['--config', path.join(dir, 'nope.yaml'), 'status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not found/);
    expect(r.stderr).toMatch(/sluice init/);
  });

  it('init writes a starter config that validates, and refuses to overwrite it', async () => {
    const d = await mkdtemp(path.join(os.tmpdir(), 'sluice-init-'));
    expect((await sluice(['init'], { cwd: d })).code).toBe(0);
    expect(await readFile(path.join(d, 'sluice.yaml'), 'utf8')).toMatch(/instruments:/);
    const check = await sluice(['config', 'check', '--json'], { cwd: d, env: { SLUICE_CONFIG: '' } });
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout).environment).toBe('local');
    const again = await sluice(['init'], { cwd: d });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists.*\n.*--force/);
    await rm(d, { recursive: true, force: true });
  });

  it('config check redacts secrets', async () => {
    const f = path.join(dir, 'secret.yaml');
    await writeFile(f, 'database:\n  url: postgres://u:hunter2@db.example:5432/sluice\n');
    const r = await sluice(['--config', f, 'config', 'check'], { env: { DATABASE_URL: '' } });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('hunter2');
    expect(r.stdout).toContain('***');
  });

  it('sets, reads, unsets variables with an audit trail naming the actor', async () => {
    expect((await sluice(['vars', 'set', 'min_free_space_gb', '50'], { env })).code).toBe(0);
    const got = JSON.parse((await sluice(['vars', 'get', 'min_free_space_gb', '--json'], { env })).stdout);
    expect(got).toMatchObject({ value: 50, source: 'override', updatedBy: 'tester' });
    const bad = await sluice(['vars', 'set', 'output_exists_mode', 'explode'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /invalid value "explode" for variable 'output_exists_mode': expected one of raise, overwrite, associate, add, found 'explode'/,
    );
    expect((await sluice(['vars', 'unset', 'min_free_space_gb'], { env })).code).toBe(0);
    const hist = JSON.parse(
      (await sluice(['vars', 'history', 'min_free_space_gb', '--json'], { env })).stdout,
    );
    expect(hist.map((h: { new_value: unknown; actor: string }) => [h.new_value, h.actor])).toEqual([
      [null, 'tester'],
      [50, 'tester'],
    ]);
  });

  it('drains and restores a pool', async () => {
    expect((await sluice(['pools', 'set', 'copy', '0'], { env })).stdout).toMatch(/drained/);
    let pools = JSON.parse((await sluice(['pools', 'list', '--json'], { env })).stdout);
    expect(pools.find((p: { name: string }) => p.name === 'copy')).toMatchObject({
      size: 0,
      configured: 3,
      override: 0,
    });
    expect((await sluice(['pools', 'unset', 'copy'], { env })).code).toBe(0);
    pools = JSON.parse((await sluice(['pools', 'list', '--json'], { env })).stdout);
    expect(pools.find((p: { name: string }) => p.name === 'copy')).toMatchObject({ size: 3, override: null });
    const unknown = await sluice(['pools', 'set', 'nosuch', '1'], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown pool 'nosuch'/);
  });

  it('lists and shows files, and rejects bad filters and unknown ids with exit 2', async () => {
    await db.exec(
      `insert into files (id, instrument_id, name, kind, source_path, current_path, project_id, status, size_bytes, mtime)
       values ('a.raw', 'astral1', 'a.raw', 'file', '/x/a.raw', '/x/a.raw', 'P1', 'error', 10, now())`,
    );
    await db.exec(
      `insert into events (subject_type, subject_id, actor, to_state, reason) values ('file', 'a.raw', 'intake', 'discovered', 'found')`,
    );
    const list = JSON.parse((await sluice(['files', 'list', '--status', 'error', '--json'], { env })).stdout);
    expect(list.map((f: { id: string }) => f.id)).toEqual(['a.raw']);
    const show = await sluice(['files', 'show', 'a.raw'], { env });
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/TIMELINE[\s\S]*discovered/);
    const badStatus = await sluice(['files', 'list', '--status', 'finished'], { env });
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr).toMatch(/unknown status 'finished'/);
    const badSince = await sluice(['files', 'list', '--since', 'yesterdayish'], { env });
    expect(badSince.code).toBe(2);
    expect(badSince.stderr).toMatch(/--since: expected a date/);
    const missing = await sluice(['files', 'show', 'nope.raw'], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no file with id 'nope.raw'/);
    const ignore = await sluice(['files', 'ignore', 'a.raw', '--reason', 'test run'], { env });
    expect(ignore.code).toBe(0);
    expect((await db.one<{ status: string }>(`select status from files where id = 'a.raw'`)).status).toBe(
      'ignored',
    );
    const overwrite = await sluice(['backup', 'accept-overwrite', 'a.raw'], { env });
    expect(overwrite.code).toBe(2);
    expect(overwrite.stderr).toMatch(/no differing backup to overwrite/);
  });

  it('drain sets every pool to 0 and reports; undrain restores the configured sizes', async () => {
    const d = await sluice(['drain', '--json', '--timeout', '5'], { env });
    expect(d.code).toBe(0);
    expect(JSON.parse(d.stdout)).toMatchObject({ running: 0 });
    let pools = JSON.parse((await sluice(['pools', 'list', '--json'], { env })).stdout);
    expect(pools.every((p: { size: number }) => p.size === 0)).toBe(true);
    expect((await sluice(['undrain'], { env })).code).toBe(0);
    pools = JSON.parse((await sluice(['pools', 'list', '--json'], { env })).stdout);
    expect(pools.find((p: { name: string }) => p.name === 'copy')).toMatchObject({ size: 3, override: null });
  });

  it('status --json lists pools and queues', async () => {
    const r = await sluice(['status', '--json'], { env });
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.pools.map((p: { name: string }) => p.name)).toContain('copy');
    expect(Array.isArray(s.processes)).toBe(true);
  });

  it('reports an unreachable database clearly', async () => {
    const r = await sluice(['status'], {
      env: { ...env, DATABASE_URL: 'postgres://u:secretpw@127.0.0.1:1/none' },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot connect to the database at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/none/);
    expect(r.stderr).not.toContain('secretpw');
  });
});
