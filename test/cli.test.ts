/** The `sluice` command as a person uses it: real processes against a real database. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSince } from '../src/cli/files.ts';
import { sluice, sluiceClosingStdout } from './helpers/cli.ts';
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
    expect(b.stderr).toMatch(/size must be a whole number from 0 to 2147483647, got 'many'/);
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

  it('exits 2 naming the field for an instrument without fields and for a backup path inside a watch folder', async () => {
    const empty = path.join(dir, 'empty-instrument.yaml');
    await writeFile(empty, 'instruments:\n  a1:\n    # type: thermo\n');
    const r = await sluice(['--config', empty, 'config', 'check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${empty}:2:`);
    expect(r.stderr).toContain('instruments.a1: expected a mapping with at least type and watch');
    expect(r.stderr).not.toMatch(/unexpected failure|\n\s+at /);

    const inside = path.join(dir, 'backup-inside.yaml');
    await writeFile(
      inside,
      'instruments:\n  a1: {type: thermo, watch: ./a1}\nbackup:\n  path: ./a1/backup\n',
    );
    const c = await sluice(['--config', inside, 'config', 'check']);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain(`${inside}:4:9: backup.path: expected a folder outside`);
    expect(c.stderr).toContain('which is inside instruments.a1.watch');
    const d = await sluice(['--config', inside, 'doctor', '--json'], { env: { DATABASE_URL: '' } });
    expect(d.code).toBe(1);
    expect(JSON.parse(d.stdout).results.find((x: { check: string }) => x.check === 'config')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('backup.path'),
    });
  });

  it('refuses a bad --log-level and SLUICE_LOG_LEVEL up front with exit 2', async () => {
    for (const args of [
      ['--log-level', 'loud', 'files', 'list'],
      ['--log-level', 'loud', 'config', 'check'],
    ]) {
      const r = await sluice(args, { env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(
        /'--log-level <level>' argument 'loud' is invalid. Allowed choices are fatal, error/,
      );
      expect(r.stderr).not.toMatch(/unexpected failure/);
    }
    const e = await sluice(['config', 'check'], { env: { ...env, SLUICE_LOG_LEVEL: 'loud' } });
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(
      /SLUICE_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, found 'loud'/,
    );
  });

  it('init creates missing folders, writes to --config or SLUICE_CONFIG, and names the file in the next steps', async () => {
    const d = await mkdtemp(path.join(os.tmpdir(), 'sluice-init-'));
    const nested = await sluice(['init', '-o', 'sub/dir/x.yaml'], { cwd: d });
    expect(nested.code, nested.stderr).toBe(0);
    const x = path.join(d, 'sub/dir/x.yaml');
    expect(await readFile(x, 'utf8')).toMatch(/instruments:/);
    expect(nested.stdout).toContain(`\`sluice --config ${x} config check\``);

    const viaConfig = await sluice(['--config', 'etc/sluice.yaml', 'init'], { cwd: d });
    expect(viaConfig.code, viaConfig.stderr).toBe(0);
    expect(viaConfig.stdout).toContain(`wrote ${path.join(d, 'etc/sluice.yaml')}`);
    expect(viaConfig.stdout).toContain(`sluice --config ${path.join(d, 'etc/sluice.yaml')} start`);

    const envFile = path.join(d, 'env dir/sluice.yaml');
    const viaEnv = await sluice(['init'], { cwd: d, env: { SLUICE_CONFIG: envFile } });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(viaEnv.stdout).toContain(`wrote ${envFile}`);
    expect(viaEnv.stdout).toContain('`sluice config check`'); // config check finds it through SLUICE_CONFIG
    const check = await sluice(['config', 'check'], { cwd: d, env: { SLUICE_CONFIG: envFile } });
    expect(check.code, check.stderr).toBe(0);

    await writeFile(path.join(d, 'plain-file'), 'x');
    const blocked = await sluice(['init', '-o', 'plain-file/sluice.yaml'], { cwd: d });
    expect(blocked.code).toBe(2);
    expect(blocked.stderr).toContain(
      `cannot write ${path.join(d, 'plain-file/sluice.yaml')} (from --output)`,
    );
    expect(blocked.stderr).not.toMatch(/unexpected failure|\n\s+at /);
    await rm(d, { recursive: true, force: true });
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
    const badProject = await sluice(['files', 'list', '--project', 'p1'], { env });
    expect(badProject.code).toBe(2);
    expect(badProject.stderr).toMatch(/--project: no project 'p1' in the config or the records/);
    // an instrument no longer in the config: its files are still listed by it
    await db.exec(
      `insert into files (id, instrument_id, name, kind, source_path, current_path, project_id, status, size_bytes, mtime)
       values ('old.raw', 'retired1', 'old.raw', 'file', '/x/old.raw', '/x/old.raw', 'P1', 'done', 10, now())`,
    );
    const retired = await sluice(['files', 'list', '-i', 'retired1', '--json'], { env });
    expect(retired.code).toBe(0);
    expect(JSON.parse(retired.stdout).map((f: { id: string }) => f.id)).toEqual(['old.raw']);
    const unknown = await sluice(['files', 'list', '-i', 'nope1'], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--instrument: no instrument 'nope1' in the config or the records/);
    // names every object inherits are unknown names too (`config.instruments[name]` took them for one)
    for (const name of ['constructor', '__proto__']) {
      const inherited = await sluice(['files', 'list', '-i', name], { env });
      expect(inherited.code, name).toBe(2);
      expect(inherited.stderr).toContain(
        `--instrument: no instrument '${name}' in the config or the records`,
      );
    }
    const inheritedProject = await sluice(['files', 'list', '--project', 'toString'], { env });
    expect(inheritedProject.code).toBe(2);
    expect(inheritedProject.stderr).toContain(
      "--project: no project 'toString' in the config or the records",
    );
    const reconcile = await sluice(['reconcile', '-i', 'constructor'], { env });
    expect(reconcile.code).toBe(2);
    expect(reconcile.stderr).toContain("no instrument 'constructor' in the config");
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

    // retry: a file processed before, with its verified backup, runs again; its earlier output
    // folders would stop the new jobs under output_exists_mode raise, and the command says so
    await db.exec(
      `insert into copies (file_id, target, location, state, hash_algorithm, manifest, bytes)
       values ('a.raw', 'backup', '/b/a.raw', 'verified', 'sha256', '{}', 10)`,
    );
    await db.exec(
      `insert into jobs (file_id, settings_name, settings_version, attempt, key, executor, output_dir, params)
       values ('a.raw', 'qc', 1, 1, 'k-a', 'local', '/out/a', '{}')`,
    );
    const badMode = await sluice(['files', 'retry', 'a.raw', '--output-exists', 'replace'], { env });
    expect(badMode.code).toBe(2);
    expect(badMode.stderr).toMatch(/Allowed choices are raise, overwrite, associate, add/);
    const retry = await sluice(['files', 'retry', 'a.raw'], { env });
    expect(retry.code).toBe(0);
    expect(retry.stdout).toMatch(/a\.raw: backed_up; the workers take it from here/);
    expect(retry.stderr).toMatch(
      /a\.raw was processed before; output_exists_mode is raise.*Use --output-exists overwrite/,
    );
    await db.exec(`update files set status = 'done' where id = 'a.raw'`);
    const chosen = await sluice(['files', 'retry', 'a.raw', '--output-exists', 'add'], { env });
    expect(chosen.code).toBe(0);
    expect(chosen.stderr).toBe('');
  });

  it('refuses nonsense --since, --limit and --status values with exit 2', async () => {
    for (const [opt, value, message] of [
      ['--since', '5', /--since: expected a date/],
      ['--since', '12', /--since: expected a date/],
      ['--since', '1 2', /--since: expected a date/],
      ['--since', '2026-02-30', /--since: expected a date/],
      [
        '--limit',
        '100000000000000000000',
        /--limit must be a whole number from 1 to 100000, got '100000000000000000000'/,
      ],
      ['--limit', '1e20', /--limit must be a whole number from 1 to 100000, got '1e20'/],
      ['--limit', '100001', /--limit must be a whole number from 1 to 100000/],
      ['--status', '', /--status: expected one or more statuses/],
    ] as const) {
      const r = await sluice(['files', 'list', opt, value], { env });
      expect(r.code, `${opt} ${value}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/unexpected failure/);
    }
    const hist = await sluice(['vars', 'history', '--limit', '1e20'], { env });
    expect(hist.code).toBe(2);
    expect(hist.stderr).toMatch(/--limit must be a whole number from 1 to 100000/);
    const ok = await sluice(['files', 'list', '--since', '2026-01-01T08:00Z', '--limit', '100000'], { env });
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('reads --since as an ISO 8601 date or time (UTC unless an offset is given) or an age', () => {
    const now = Date.parse('2026-11-02T12:00:00Z');
    expect(parseSince('2026-11-01').toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(parseSince('2026-11-01T08:00').toISOString()).toBe('2026-11-01T08:00:00.000Z');
    expect(parseSince('2026-11-01T08:00:30.5+02:00').toISOString()).toBe('2026-11-01T06:00:30.500Z');
    expect(parseSince('24h', now).toISOString()).toBe('2026-11-01T12:00:00.000Z');
    expect(parseSince('30 m', now).toISOString()).toBe('2026-11-02T11:30:00.000Z');
    for (const bad of ['5', '12', '1 2', '2026-02-30', '2026-11-01T25:00', 'Nov 1 2026', '7w', ''])
      expect(() => parseSince(bad), bad).toThrow(/--since: expected a date/);
  });

  it('exits quietly when the reader of its output stops early (| head)', async () => {
    await db.exec(
      `insert into files (id, instrument_id, name, kind, source_path, current_path, project_id, status, size_bytes, mtime)
       select 'bulk-' || i || '.raw', 'astral1', 'bulk-' || i || '.raw', 'file', '/x/bulk.raw', '/x/bulk.raw', 'P1', 'done', i, now()
       from generate_series(1, 3000) i`,
    );
    await db.exec(
      `insert into events (subject_type, subject_id, actor, to_state, reason)
       select 'file', 'bulk-1.raw', 'intake', 'discovered', 'event number ' || i from generate_series(1, 3000) i`,
    );
    for (const args of [
      ['files', 'list', '--limit', '5000'],
      ['files', 'list', '--json', '--limit', '5000'],
      ['files', 'show', 'bulk-1.raw'],
    ]) {
      const r = await sluiceClosingStdout(args, { env });
      expect(r.stdout.length, args.join(' ')).toBeGreaterThan(0);
      expect(r.stderr, args.join(' ')).not.toMatch(/EPIPE|\n\s+at |unexpected failure/);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
  });

  it('says on stderr when --limit cut the list', async () => {
    const cut = await sluice(['files', 'list', '--status', 'done', '--limit', '2', '--json'], { env });
    expect(cut.code).toBe(0);
    expect(JSON.parse(cut.stdout)).toHaveLength(2);
    expect(cut.stderr).toMatch(/^2 files shown, newest first; more match \(use --limit to see more/);
    const all = await sluice(['files', 'list', '--status', 'error,ignored', '--limit', '1'], { env });
    expect(all.code).toBe(0);
    expect(all.stderr).toBe('');
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
