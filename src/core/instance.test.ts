import { describe, expect, it } from 'vitest';
import { parseConfigText } from './config/index.ts';
import { assertSharedLocations, isFallback, withInstanceMode } from './instance.ts';

const cfg = (text: string) => parseConfigText(text, '/srv/sluice/sluice.yaml', {}).config;

describe('instance mode', () => {
  it('is normal unless the config or --fallback says fallback', () => {
    expect(isFallback(cfg(''))).toBe(false);
    expect(isFallback(cfg('instance: { mode: fallback }'))).toBe(true);
    expect(isFallback(withInstanceMode(cfg(''), 'fallback'))).toBe(true);
  });

  it('refuses a fallback whose backup area or output folder is private to its own data_dir', () => {
    const shared = 'backup: { path: /mnt/backup }\nprocessing: { output_path: /mnt/output }\n';
    expect(() => assertSharedLocations(cfg(`instance: { mode: fallback }\n${shared}`))).not.toThrow();
    expect(() =>
      assertSharedLocations(cfg('instance: { mode: fallback }\nprocessing: { output_path: /mnt/output }')),
    ).toThrow(
      /backup\.path: a fallback instance must use the main instance's location, found .*sluice-data\/backup inside its own data_dir/,
    );
    expect(() =>
      assertSharedLocations(cfg('instance: { mode: fallback }\nbackup: { path: /mnt/backup }')),
    ).toThrow(/processing\.output_path/);
    expect(() => assertSharedLocations(cfg(''))).not.toThrow(); // a normal instance may keep the defaults
  });
});
