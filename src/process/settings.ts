/**
 * Processing settings: versioned definitions from the config, recorded in the database so a job
 * always names the exact definition it ran with. Changing a definition without raising its version
 * is refused (results of one version must mean one thing).
 *
 * Which settings apply to a file: the assignments for its project (or `*`), minus exclusions and
 * filename filters. Among assignments of the same settings, the most specific scope wins
 * (instrument > instrument_type > all) and supplies its `params` overrides. A file may get several
 * settings (one job each); none → the file ends `done_not_processed` with that reason.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Config } from '../core/config/index.ts';
import type { AssignmentConfig, SettingsConfig } from '../core/config/schema/processing.ts';
import type { Queryable } from '../core/db/db.ts';
import { ConfigError } from '../core/errors.ts';
import { ownEntry } from '../core/own.ts';

export interface AppliedSettings {
  name: string;
  settings: SettingsConfig;
  params: Record<string, unknown>;
}

export interface FileFacts {
  name: string;
  project_id: string;
  instrument_id: string;
}

function specificity(a: AssignmentConfig): number {
  if (a.instrument) return 2;
  if (a.instrument_type) return 1;
  return 0;
}

export function applicableSettings(config: Config, file: FileFacts): AppliedSettings[] {
  const inst = ownEntry(config.instruments, file.instrument_id);
  const best = new Map<string, AssignmentConfig>();
  for (const a of config.processing.assignments) {
    if (!a.projects.includes('*') && !a.projects.includes(file.project_id)) continue;
    if (a.instrument && a.instrument !== file.instrument_id) continue;
    if (a.instrument_type && a.instrument_type !== inst?.type) continue;
    if (a.exclude_instruments.includes(file.instrument_id)) continue;
    if (a.filename && !new RegExp(a.filename).test(file.name)) continue;
    if (a.exclude_filename && new RegExp(a.exclude_filename).test(file.name)) continue;
    const prev = best.get(a.settings);
    if (!prev || specificity(a) > specificity(prev)) best.set(a.settings, a);
  }
  const out: AppliedSettings[] = [];
  for (const [name, a] of best) {
    const settings = config.processing.settings[name];
    if (!settings) continue; // validated at start (checkSettingsRefs)
    out.push({ name, settings, params: { ...settings.params, ...a.params } });
  }
  return out.sort((x, y) => x.name.localeCompare(y.name));
}

/** Every assignment must name defined settings. */
export function checkSettingsRefs(config: Config): void {
  const known = Object.keys(config.processing.settings);
  config.processing.assignments.forEach((a, i) => {
    if (!known.includes(a.settings)) {
      throw new ConfigError(
        `processing.assignments[${i}].settings: expected the name of an entry under processing.settings (${known.join(', ') || 'none defined'}), found '${a.settings}'`,
      );
    }
  });
}

export async function templateText(s: SettingsConfig): Promise<string> {
  if (s.template !== undefined) return s.template;
  try {
    return await readFile(s.template_file!, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `cannot read template_file ${s.template_file}: ${(err as Error).message}`,
      'fix the path in processing.settings',
    );
  }
}

/** The definition recorded for a settings entry (the template inlined) and its content hash. */
export async function settingsDefinition(
  s: SettingsConfig,
): Promise<{ definition: Record<string, unknown>; hash: string }> {
  const definition = { ...s, template: await templateText(s), template_file: undefined };
  return { definition, hash: createHash('sha256').update(JSON.stringify(definition)).digest('hex') };
}

/** Records each settings version; refuses a changed definition under an existing version. */
export async function syncSettings(q: Queryable, config: Config): Promise<void> {
  checkSettingsRefs(config);
  for (const [name, s] of Object.entries(config.processing.settings)) {
    const { definition, hash } = await settingsDefinition(s);
    const row = await q.maybeOne<{ content_hash: string }>(
      `insert into processing_settings (name, version, software, software_version, definition, content_hash)
       values ($1, $2, $3, $4, $5::jsonb, $6)
       on conflict (name, version) do update set name = excluded.name
       returning content_hash`,
      [name, s.version, s.software, s.software_version, JSON.stringify(definition), hash],
    );
    if (row && row.content_hash !== hash) {
      throw new ConfigError(
        `processing.settings.${name}: version ${s.version} was recorded with a different definition`,
        `results of one version must mean one thing: raise processing.settings.${name}.version to ${s.version + 1}`,
      );
    }
  }
}

/** The software of recorded settings versions, keyed `name@version` (those that exist). */
export async function settingsSoftware(
  q: Queryable,
  keys: readonly { name: string; version: number }[],
): Promise<Map<string, { software: string; software_version: string }>> {
  const rows = await q.query<{ name: string; version: number; software: string; software_version: string }>(
    `select name, version, software, software_version from processing_settings
      where (name, version) in (select * from unnest($1::text[], $2::int[]))`,
    [keys.map((k) => k.name), keys.map((k) => k.version)],
  );
  return new Map(rows.map((r) => [`${r.name}@${r.version}`, r]));
}
