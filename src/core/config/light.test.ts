import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { loadConfig } from './index.ts';
import { readDatabaseSettings } from './light.ts';
import { expectConfigError, type TempDir, tempDir } from './test-helpers.ts';

const INSTRUMENTS = 'instruments:\n  a1: { type: thermo, watch: ./raw }\n';

describe('readDatabaseSettings (the read-only commands’ light path)', () => {
  let t: TempDir;
  beforeEach(async () => {
    t = await tempDir();
  });
  afterEach(() => t.cleanup());

  /** The light settings must be exactly what the full load gives. */
  async function sameAsFull(text: string, opts: { environ?: NodeJS.ProcessEnv; env?: string } = {}) {
    const path = await t.write('sluice.yaml', text);
    const environ = opts.environ ?? {};
    const light = await readDatabaseSettings({ path, environ, env: opts.env });
    const { config } = await loadConfig({ path, environ, env: opts.env });
    expect(light).toEqual({
      data_dir: config.data_dir,
      database: {
        ...(config.database.url === undefined ? {} : { url: config.database.url }),
        embedded_port: config.database.embedded_port,
        pool_size: config.database.pool_size,
      },
    });
    return light!;
  }

  it('gives the defaults, paths and values the full load gives', async () => {
    expect((await sameAsFull(INSTRUMENTS)).data_dir).toBe(`${t.dir}/sluice-data`);
    await sameAsFull(`data_dir: ./d\ndatabase:\n${INSTRUMENTS}`);
    await sameAsFull(`data_dir: /srv/x\ndatabase: { embedded_port: 6000, pool_size: 3 }\n${INSTRUMENTS}`);
    const url = 'postgres://u:p@db.example:5433/sluice';
    expect((await sameAsFull(`database: { url: '${url}' }\n${INSTRUMENTS}`)).database.url).toBe(url);
    // DATABASE_URL and interpolation as the full load applies them
    const fromEnv = await sameAsFull(`database:\n  embedded_port: \${PORT}\n${INSTRUMENTS}`, {
      environ: { DATABASE_URL: url, PORT: '7000' },
    });
    expect(fromEnv.database).toEqual({ url, embedded_port: 7000, pool_size: 10 });
  });

  it('reads the environment overlay', async () => {
    await t.write('sluice.production.yaml', 'database: { pool_size: 42 }\n');
    expect((await sameAsFull(INSTRUMENTS, { env: 'production' })).database.pool_size).toBe(42);
  });

  it('does not look at the other sections', async () => {
    const path = await t.write('sluice.yaml', `${INSTRUMENTS}alerts: { interval_seconds: never }\n`);
    expect(await readDatabaseSettings({ path, environ: {} })).toMatchObject({ database: { pool_size: 10 } });
    await expectConfigError(loadConfig({ path, environ: {} }), ['alerts.interval_seconds']);
  });

  it('gives undefined (the caller loads the whole config) for a database setting not plainly valid', async () => {
    for (const bad of [
      'database: { embedded_port: 80 }',
      "database: { embedded_port: '5432' }",
      'database: { pool_size: 0 }',
      'database: { url: mysql://x/y }',
      'database: { url: "postgres://h:99999/x" }',
      'database: { prot: 1 }',
      'database: [1]',
      'data_dir: 12',
      'data_dir:',
      'environment: local',
    ]) {
      const path = await t.write('sluice.yaml', `${bad}\n${INSTRUMENTS}`);
      expect(await readDatabaseSettings({ path, environ: {} }), bad).toBeUndefined();
      await expect(loadConfig({ path, environ: {} }), bad).rejects.toBeInstanceOf(ConfigError);
    }
  });

  it('fails as the full load does when the file or a variable is missing', async () => {
    const missing = { path: `${t.dir}/nope.yaml`, environ: {} };
    await expect(readDatabaseSettings(missing)).rejects.toThrow(/not found/);
    await expect(loadConfig(missing)).rejects.toThrow(/not found/);
    const path = await t.write('sluice.yaml', `data_dir: \${NOPE}\n${INSTRUMENTS}`);
    await expectConfigError(readDatabaseSettings({ path, environ: {} }), ['NOPE']);
    await expectConfigError(loadConfig({ path, environ: {} }), ['NOPE']);
  });
});
