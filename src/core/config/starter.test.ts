// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write ${...} interpolation on purpose
import { describe, expect, it } from 'vitest';
import { parseConfigText, starterConfig } from './index.ts';

describe('starterConfig', () => {
  it('validates and describes one thermo instrument', () => {
    const { config } = parseConfigText(starterConfig(), '/etc/sluice/sluice.yaml');
    expect(config.instruments.astral1).toMatchObject({ type: 'thermo', watch: '/mnt/instruments/astral1' });
    expect(Object.keys(config.projects).length).toBeGreaterThan(0);
    expect(config.pools.copy).toBeGreaterThan(0);
    expect(Object.keys(config.variables).length).toBeGreaterThan(0);
    expect(config.data_dir).toBe('/etc/sluice/sluice-data');
    expect(config.database.backups).toEqual([
      expect.objectContaining({ name: 'nightly', location: { dir: '/etc/sluice/sluice-db-backups' } }),
    ]);
  });

  it('validates in every environment', () => {
    for (const env of ['local', 'sandbox', 'production']) {
      expect(parseConfigText(starterConfig(), '/x/sluice.yaml', { env }).config.environment).toBe(env);
    }
  });

  it('points to the documentation and explains interpolation', () => {
    const text = starterConfig();
    expect(text).toContain('docs/configuration.md');
    expect(text).toContain('${VAR:-default}');
    expect(text).toContain('${file:/path}');
  });
});
