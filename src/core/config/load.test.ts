// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write ${...} interpolation on purpose
import { chmod, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnUnprivileged } from '../../../test/helpers/unprivileged.ts';
import { ConfigError } from '../errors.ts';
import { loadConfig, parseConfigText, redactedConfig } from './index.ts';
import { expectConfigError, type TempDir, tempDir, yaml } from './test-helpers.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');

let t: TempDir;
beforeEach(async () => {
  t = await tempDir();
});
afterEach(async () => {
  await t.cleanup();
});

const BASE = yaml`
  data_dir: data
  database:
    pool_size: 5
  log:
    level: debug
  worker:
    tags: [gpu]
  pools:
    copy: 5
    archive: 2
  projects:
    prot:
      name: Proteomics
      tokens: [PRO]
  instruments:
    astral1:
      type: thermo
      watch: raw/astral1
      project: prot
      acquisition:
        stable_window_seconds: 300
    gen1:
      type: generic
      watch: /data/gen1
      glob: "*.tif"
      entry_kind: folder
      tags: [instrument:gen1, microscope]
`;

const PRODUCTION = yaml`
  log:
    level: warn
  worker:
    tags: [prod]
  pools:
    archive: null
  instruments:
    astral1:
      watch: /mnt/instruments/astral1
      project: null
      acquisition:
        newer_file_means_done: false
    gen1: null
`;

describe('loadConfig: happy path', () => {
  it('applies defaults and resolves paths relative to the config file', async () => {
    const file = await t.write('sluice.yaml', BASE);
    const { config, env, files, secrets } = await loadConfig({ cwd: t.dir, environ: {} });
    expect(env).toBe('local');
    expect(files).toEqual([file]);
    expect(secrets).toEqual([]);
    expect(config.environment).toBe('local');
    expect(config.data_dir).toBe(join(t.dir, 'data'));
    expect(config.backup).toEqual({
      path: join(t.dir, 'data', 'backup'),
      layout: '{instrument}/{yyyy}_{mm}/{file_id}',
      hash: 'sha256',
      require_mount: false,
      target_recheck_seconds: 60,
      fixity: { enabled: true, cycle_days: 30, max_mb_per_second: 50 },
      targets: [],
    });
    expect(config.database).toEqual({ embedded_port: 54329, pool_size: 5, backups: [] });
    expect(config.server).toEqual({ host: '127.0.0.1', port: 8080, trusted_proxies: [] });
    expect(config.worker).toEqual({
      concurrency: 8,
      lease_seconds: 60,
      heartbeat_seconds: 10,
      poll_seconds: 2,
      shutdown_grace_seconds: 30,
      stall_seconds: 300,
      tags: ['gpu'],
    });
    expect(config.pools).toEqual({
      default: 10,
      copy: 5,
      cluster: 30,
      scan: 4,
      cleanup: 1,
      fixity: 1,
      archive: 2,
    });
    expect(config.variables).toEqual({});
    expect(config.projects).toEqual({ prot: { name: 'Proteomics', tokens: ['PRO'] } });
    expect(config.fallback_project).toBe('_unassigned');
    expect(config.cleanup).toEqual({
      allow_outside_production: false,
      require: ['backup'],
      require_storage_read: true,
    });
    const a = config.instruments.astral1!;
    expect(a.watch).toBe(join(t.dir, 'raw/astral1'));
    expect(a.tags).toEqual([]);
    expect(a.entry_kind).toBeUndefined();
    expect(a.scan_interval_seconds).toBe(10);
    expect(a.move_after_backup).toBe(false);
    expect(a.cleanup).toEqual({ enabled: false });
    expect(a.acquisition).toEqual({
      stable_window_seconds: 300,
      newer_file_means_done: true,
      consider_old_files_acquired: true,
      old_file_threshold_hours: 5,
      empty_file_timeout_seconds: 3600,
    });
    const g = config.instruments.gen1!;
    expect(g.entry_kind).toBe('folder');
    expect(g.tags).toEqual(['instrument:gen1', 'microscope']);
  });

  it('fills in main_file_timeout_seconds for Bruker only: config check shows no setting the schema refuses', () => {
    const loaded = parseConfigText(
      'instruments:\n  a1: { type: thermo, watch: /a1 }\n  z1: { type: sciex, watch: /z1 }\n  t1: { type: bruker, watch: /t1 }\n',
      '/etc/sluice/sluice.yaml',
    );
    const printed = redactedConfig(loaded) as { instruments: Record<string, { acquisition: object }> };
    expect(printed.instruments.t1!.acquisition).toHaveProperty('main_file_timeout_seconds', 3600);
    for (const id of ['a1', 'z1']) {
      expect(printed.instruments[id]!.acquisition).not.toHaveProperty('main_file_timeout_seconds');
      expect(printed.instruments[id]!.acquisition).toHaveProperty('empty_file_timeout_seconds', 3600);
    }
  });

  it('merges the environment overlay: mappings merge, lists replace, null deletes', async () => {
    await t.write('sluice.yaml', BASE);
    const overlay = await t.write('sluice.production.yaml', PRODUCTION);
    const { config, env, files } = await loadConfig({ cwd: t.dir, env: 'production', environ: {} });
    expect(env).toBe('production');
    expect(config.environment).toBe('production');
    expect(files).toEqual([join(t.dir, 'sluice.yaml'), overlay]);
    expect(config.log.level).toBe('warn');
    expect(config.database.pool_size).toBe(5);
    expect(config.worker.tags).toEqual(['prod']);
    expect(config.pools).toEqual({ default: 10, copy: 5, cluster: 30, scan: 4, cleanup: 1, fixity: 1 });
    expect(Object.keys(config.instruments)).toEqual(['astral1']);
    const a = config.instruments.astral1!;
    expect(a.watch).toBe('/mnt/instruments/astral1');
    expect(a.project).toBeUndefined();
    expect(a.acquisition.stable_window_seconds).toBe(300);
    expect(a.acquisition.newer_file_means_done).toBe(false);
  });

  it('ignores the overlays of other environments and a missing overlay', async () => {
    await t.write('sluice.yaml', BASE);
    await t.write('sluice.production.yaml', PRODUCTION);
    const sandbox = await loadConfig({ cwd: t.dir, env: 'sandbox', environ: {} });
    expect(sandbox.files).toHaveLength(1);
    expect(sandbox.config.log.level).toBe('debug');
    expect(sandbox.config.environment).toBe('sandbox');
  });

  it('takes the path from opts.path, then SLUICE_CONFIG, and the env from opts.env, then SLUICE_ENV', async () => {
    await mkdir(join(t.dir, 'etc'));
    const custom = await t.write('etc/lab.yaml', 'log: {level: error}\n');
    await t.write('etc/lab.sandbox.yaml', 'log: {level: trace}\n');
    const fromEnv = await loadConfig({ cwd: '/', environ: { SLUICE_CONFIG: custom, SLUICE_ENV: 'sandbox' } });
    expect(fromEnv.files).toEqual([custom, join(t.dir, 'etc/lab.sandbox.yaml')]);
    expect(fromEnv.config.log.level).toBe('trace');
    const fromOpts = await loadConfig({
      cwd: t.dir,
      path: 'etc/lab.yaml',
      env: 'local',
      environ: { SLUICE_CONFIG: '/nope.yaml', SLUICE_ENV: 'sandbox' },
    });
    expect(fromOpts.env).toBe('local');
    expect(fromOpts.config.log.level).toBe('error');
  });

  it('accepts an empty config file (all defaults)', async () => {
    await t.write('sluice.yaml', '# nothing yet\n');
    const { config } = await loadConfig({ cwd: t.dir, environ: {} });
    expect(config.instruments).toEqual({});
    expect(config.data_dir).toBe(join(t.dir, 'sluice-data'));
  });

  it('accepts a file holding only ~ (null)', async () => {
    await t.write('sluice.yaml', '~\n');
    const { config } = await loadConfig({ cwd: t.dir, environ: {} });
    expect(config.instruments).toEqual({});
  });

  it('treats an empty section as all defaults', async () => {
    await t.write('sluice.yaml', 'database:\nworker:\n  # concurrency: 4\npools:\n');
    const { config } = await loadConfig({ cwd: t.dir, environ: {} });
    expect(config.database.embedded_port).toBe(54329);
    expect(config.worker.concurrency).toBe(8);
    expect(config.pools.copy).toBe(3);
  });

  it('supports YAML anchors and merge keys', async () => {
    await t.write(
      'sluice.yaml',
      yaml`
        instruments:
          a1: {type: thermo, watch: /a1, acquisition: &acq {stable_window_seconds: 120}}
          a2:
            type: thermo
            watch: /a2
            acquisition:
              <<: *acq
              old_file_threshold_hours: 2
      `,
    );
    const { config } = await loadConfig({ cwd: t.dir, environ: {} });
    expect(config.instruments.a1!.acquisition.stable_window_seconds).toBe(120);
    expect(config.instruments.a2!.acquisition.stable_window_seconds).toBe(120);
    expect(config.instruments.a2!.acquisition.old_file_threshold_hours).toBe(2);
  });
});

describe('interpolation', () => {
  it('substitutes ${VAR}, ${VAR:-default} and $${ escapes', async () => {
    await t.write(
      'sluice.yaml',
      yaml`
        data_dir: \${DATA}/sluice
        server:
          host: "\${HOST:-0.0.0.0}"
          port: \${PORT:-9090}
        worker:
          tags: ["\${SITE}-gpu", "literal $\${NOT_A_VAR}", "\${EMPTY:-fallback}"]
      `,
    );
    const { config } = await loadConfig({ cwd: t.dir, environ: { DATA: '/srv', SITE: 'bonn', EMPTY: '' } });
    expect(config.data_dir).toBe('/srv/sluice');
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.server.port).toBe(9090);
    expect(config.worker.tags).toEqual(['bonn-gpu', 'literal ${NOT_A_VAR}', 'fallback']);
  });

  it('reads ${file:...} secrets, lists them in secrets and redacts them', async () => {
    const pw = await t.write('db-password', 's3cr3t\n', 0o600);
    const hostFile = await t.write('host', 'db.internal\n', 0o640);
    await t.write(
      'sluice.yaml',
      yaml`
        database:
          url: postgres://sluice:\${file:${pw}}@db:5432/sluice
        server:
          host: \${file:host}
      `,
    );
    const loaded = await loadConfig({ cwd: t.dir, environ: {} });
    expect(loaded.config.database.url).toBe('postgres://sluice:s3cr3t@db:5432/sluice');
    expect(loaded.config.server.host).toBe('db.internal');
    expect(loaded.secrets).toEqual(['database.url', 'server.host']);
    const red = redactedConfig(loaded) as typeof loaded.config;
    expect(red.database.url).toBe('postgres://sluice:***@db:5432/sluice');
    expect(red.server.host).toBe('***');
    expect(JSON.stringify(red)).not.toContain('s3cr3t');
    // the loaded config itself is untouched
    expect(loaded.config.server.host).toBe('db.internal');
    expect(hostFile).toContain('host');
  });

  it('database backup strategies: dir is resolved against the config file, S3 keys are secrets', async () => {
    await t.write(
      'sluice.yaml',
      yaml`
        database:
          backups:
            - name: nightly
              cron: "0 3 * * *"
              location: {dir: ./db-backups}
              retention: {keep_last: 7}
            - name: offsite
              cron: "30 3 * * 0"
              location:
                s3: {bucket: lab, prefix: sluice/, access_key_id: AKIAEXAMPLE, secret_access_key: "\${S3_SECRET}"}
      `,
    );
    const loaded = await loadConfig({ cwd: t.dir, environ: { S3_SECRET: 'wJalr-s3cr3t' } });
    const [nightly, offsite] = loaded.config.database.backups;
    expect(nightly).toEqual({
      name: 'nightly',
      cron: '0 3 * * *',
      location: { dir: join(t.dir, 'db-backups') },
      retention: { keep_last: 7 },
      tags: [],
      enabled: true,
    });
    expect(offsite!.location.s3).toMatchObject({
      bucket: 'lab',
      region: 'us-east-1',
      force_path_style: false,
    });
    expect(offsite!.retention).toEqual({});
    expect(JSON.stringify(redactedConfig(loaded))).not.toContain('wJalr-s3cr3t');
  });

  it('backup targets: an S3 target with its defaults, its own pool, its secret redacted; existing configs unchanged', async () => {
    const secret = await t.write('s3-secret', 'wJalr-s3-target-secret\n', 0o600);
    await t.write('sluice.yaml', 'log: {level: info}\n');
    const plain = await loadConfig({ cwd: t.dir });
    expect(plain.config.backup.targets).toEqual([]);
    expect(plain.config.cleanup.require).toEqual(['backup']);
    await t.write(
      'sluice.yaml',
      yaml`
        backup:
          targets:
            - name: s3
              type: s3
              endpoint: http://minio.lan:9000
              bucket: "raw-{project}"
              prefix: sluice/
              force_path_style: true
              access_key_id: AKIAEXAMPLE
              secret_access_key: \${file:${secret}}
        cleanup:
          require: [backup, s3]
      `,
    );
    const loaded = await loadConfig({ cwd: t.dir });
    expect(loaded.config.backup.targets[0]).toMatchObject({
      name: 's3',
      region: 'us-east-1',
      storage_class: 'STANDARD',
      part_size_mb: 16,
      parts_in_flight: 4,
      backfill: 'oldest_first',
      secret_access_key: 'wJalr-s3-target-secret',
    });
    expect(loaded.config.pools['copy.s3']).toBe(2);
    expect(loaded.config.cleanup.require).toEqual(['backup', 's3']);
    expect(JSON.stringify(redactedConfig(loaded))).not.toContain('wJalr-s3-target-secret');
  });

  it('never shows a secret value in a validation error', async () => {
    const secret = await t.write('port', 'not-a-port-s3cr3t\n', 0o600);
    const file = await t.write('sluice.yaml', `server:\n  port: \${file:${secret}}\n`);
    const err = await expectConfigError(loadConfig({ cwd: t.dir, environ: {} }), [
      `${file}:2:9: server.port: expected a TCP port`,
      "found '***'",
    ]);
    expect(err.message).not.toContain('s3cr3t');
  });

  it('refuses a secret file readable by others', async () => {
    const pw = await t.write('db-password', 's3cr3t\n', 0o644);
    const file = await t.write('sluice.yaml', `database:\n  url: postgres://u:\${file:${pw}}@h/db\n`);
    const err = await expectConfigError(loadConfig({ cwd: t.dir, environ: {} }), [
      `${file}:2:8`,
      'database.url',
      pw,
      'readable by others',
      'found 644',
    ]);
    expect(err.hint).toContain(`chmod 600 ${pw}`);
    expect(err.message).not.toContain('s3cr3t');
  });

  it('refuses a missing secret file', async () => {
    const file = await t.write('sluice.yaml', 'server:\n  host: ${file:/nonexistent/sluice-secret}\n');
    await expectConfigError(loadConfig({ cwd: t.dir, environ: {} }), [
      `${file}:2:9`,
      'server.host',
      '/nonexistent/sluice-secret does not exist',
    ]);
  });

  it('reports every missing environment variable at once', async () => {
    const file = await t.write('sluice.yaml', 'data_dir: ${A}\nserver:\n  host: ${B}\n');
    const err = await expectConfigError(loadConfig({ cwd: t.dir, environ: {} }), [
      `${file}:1:11: data_dir: environment variable A is not set`,
      `${file}:3:9: server.host: environment variable B is not set`,
    ]);
    expect(err.hint).toContain('set A or use ${A:-default}');
  });

  it('lets DATABASE_URL override database.url and treats its password as secret', async () => {
    await t.write('sluice.yaml', 'database:\n  url: postgres://file@h/db\n  pool_size: 3\n');
    const loaded = await loadConfig({
      cwd: t.dir,
      environ: { DATABASE_URL: 'postgresql://u:pw@env-host/db' },
    });
    expect(loaded.config.database.url).toBe('postgresql://u:pw@env-host/db');
    expect(loaded.config.database.pool_size).toBe(3);
    expect(loaded.secrets).toEqual(['database.url']);
    expect((redactedConfig(loaded) as typeof loaded.config).database.url).toBe(
      'postgresql://u:***@env-host/db',
    );
  });

  it('applies DATABASE_URL when the file has no database section', async () => {
    await t.write('sluice.yaml', 'log: {level: info}\n');
    const loaded = await loadConfig({ cwd: t.dir, environ: { DATABASE_URL: 'postgres://h/db' } });
    expect(loaded.config.database).toEqual({
      url: 'postgres://h/db',
      embedded_port: 54329,
      pool_size: 10,
      backups: [],
    });
    expect(loaded.secrets).toEqual([]);
  });
});

describe('parseConfigText', () => {
  it('validates text with an optional overlay and does not read process.env', () => {
    process.env.SLUICE_TEST_SHOULD_NOT_LEAK = 'x';
    const loaded = parseConfigText('log: {level: debug}\n', '/etc/sluice/sluice.yaml', {
      env: 'production',
      overlay: { text: 'log: {level: error}\n', file: '/etc/sluice/sluice.production.yaml' },
    });
    expect(loaded.config.log.level).toBe('error');
    expect(loaded.config.environment).toBe('production');
    expect(loaded.files).toEqual(['/etc/sluice/sluice.yaml', '/etc/sluice/sluice.production.yaml']);
    expect(loaded.config.data_dir).toBe('/etc/sluice/sluice-data');
    expect(() => parseConfigText('data_dir: ${SLUICE_TEST_SHOULD_NOT_LEAK}\n', 'x.yaml')).toThrow(
      ConfigError,
    );
  });
});

describe('missing config file', () => {
  it('says which file and how to create one', async () => {
    const err = await expectConfigError(loadConfig({ cwd: t.dir, environ: {} }), [
      `config file ${join(t.dir, 'sluice.yaml')} not found`,
    ]);
    expect(err.hint).toBe(
      'run `sluice init` to write a starter config, or pass --config PATH / set SLUICE_CONFIG',
    );
  });

  it('names SLUICE_CONFIG when the path came from there', async () => {
    await expectConfigError(loadConfig({ cwd: t.dir, environ: { SLUICE_CONFIG: '/nope/sluice.yaml' } }), [
      'config file /nope/sluice.yaml not found (from SLUICE_CONFIG)',
    ]);
  });

  it('refuses a directory', async () => {
    await mkdir(join(t.dir, 'sluice.yaml'));
    await expectConfigError(loadConfig({ cwd: t.dir, environ: {} }), ['is a directory']);
  });

  it('reports an unreadable overlay instead of ignoring it', async () => {
    await t.write('sluice.yaml', '{}\n');
    const overlay = await t.write('sluice.sandbox.yaml', '{}\n');
    await chmod(overlay, 0o000);
    // root reads anything: the load runs in a child process that obeys permission bits
    const script = await t.write(
      'load.mjs',
      `const { loadConfig } = await import(${JSON.stringify(pathToFileURL(join(here, 'index.ts')).href)});
try {
  await loadConfig({ cwd: process.argv[2], env: 'sandbox', environ: {} });
  console.log(JSON.stringify({ loaded: true }));
} catch (e) {
  console.log(JSON.stringify({ name: e.constructor.name, code: e.code, exitCode: e.exitCode, message: e.message }));
}\n`,
    );
    const r = spawnUnprivileged([process.execPath, '--import', 'tsx', script, t.dir], { cwd: repoRoot });
    expect(r.stderr).toBe('');
    const got = JSON.parse(r.stdout) as { name: string; code: string; exitCode: number; message: string };
    expect(got).toMatchObject({ name: 'ConfigError', code: 'config.invalid', exitCode: 2 });
    expect(got.message).toContain(`cannot read config file ${overlay}`);
  });
});
