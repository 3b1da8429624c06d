/** Doctor check `config`: the configuration loads and validates (nothing else runs without it). */
import type { LoadedConfig } from '../../core/config/index.ts';
import { errorMessage, SluiceError } from '../../core/errors.ts';
import { type CheckResult, fail, ok } from './result.ts';

export async function checkConfig(
  load: () => Promise<LoadedConfig>,
): Promise<{ result: CheckResult; loaded?: LoadedConfig }> {
  try {
    const loaded = await load();
    const n = Object.keys(loaded.config.instruments).length;
    return {
      loaded,
      result: ok(
        'config',
        loaded.files.join(' + '),
        `valid (environment ${loaded.env}, ${n} instrument${n === 1 ? '' : 's'})`,
      ),
    };
  } catch (err) {
    const hint = err instanceof SluiceError ? err.hint : undefined;
    return {
      result: fail(
        'config',
        'configuration',
        errorMessage(err),
        `${hint ? `${hint}; ` : ''}the other checks need a valid configuration and were skipped`,
      ),
    };
  }
}
