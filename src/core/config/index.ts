/**
 * Sluice configuration: one YAML file (`sluice.yaml`) plus an optional per-environment overlay
 * (`sluice.<env>.yaml`), `${VAR}` / `${file:...}` interpolation, and strict validation whose errors
 * name the file, line, field, what was expected and what was found. Fields: docs/configuration.md.
 */

export {
  configFilePath,
  type LoadedConfig,
  type LoadOptions,
  loadConfig,
  overlayPath,
  type ParseTextOptions,
  parseConfigText,
  redactedConfig,
  resolveEnvironment,
} from './load.ts';
export { ConfigInvalidError, type ConfigProblem } from './problems.ts';
export { DEFAULT_LAYOUT, LAYOUT_PLACEHOLDERS } from './schema/backup.ts';
export {
  type Config,
  type ConfigInput,
  configSchema,
  ENVIRONMENTS,
  type Environment,
} from './schema/index.ts';
export type { InstrumentType } from './schema/instruments.ts';
export { INSTRUMENT_TYPES } from './schema/instruments.ts';
export { LOG_LEVELS } from './schema/log.ts';
export { DEFAULT_POOLS } from './schema/pools.ts';
export { isSensitivePath, REDACTED } from './secrets.ts';
export { starterConfig } from './starter.ts';

import type { Config } from './schema/index.ts';

export type InstrumentConfig = Config['instruments'][string];
export type ProjectConfig = Config['projects'][string];
