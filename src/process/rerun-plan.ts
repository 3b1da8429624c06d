/**
 * Processing re-runs, the decisions (pure): which settings versions a re-run runs (`--settings NAME`
 * or `--current`), and which jobs one file gets — the chosen settings that apply to it (the same
 * assignments as a new file's, settings.ts) and that it has no unfinished or successful job at yet.
 */
import type { Config } from '../core/config/index.ts';
import { UsageError } from '../core/errors.ts';
import { ownEntry } from '../core/own.ts';
import { applicableSettings, type FileFacts } from './settings.ts';

export interface RerunChoice {
  /** `NAME` or `NAME@VERSION` (the version must be the current one in the config). */
  settings?: string;
  /** Every settings entry at its current version. */
  current?: boolean;
}

/** The settings a re-run runs, each at the version in the config (sorted by name). */
export function chooseRerunSettings(config: Config, c: RerunChoice): { name: string; version: number }[] {
  const all = config.processing.settings;
  const known = Object.keys(all).sort();
  if ((c.settings === undefined) === !c.current) {
    throw new UsageError(
      'settings: give exactly one of --settings NAME and --current',
      `settings defined: ${known.join(', ') || 'none'}`,
    );
  }
  if (c.current) return known.map((name) => ({ name, version: all[name]!.version }));
  const m = /^([^@]+)(?:@v?(\d+))?$/.exec(c.settings!.trim());
  // own entries only: a name such as __proto__ or toString is not a settings entry
  const s = m ? ownEntry(all, m[1]!) : undefined;
  if (!m || !s) {
    throw new UsageError(
      `settings: unknown processing settings '${c.settings}': expected one of ${known.join(', ') || 'none defined'}`,
      'give the name of an entry under processing.settings, optionally @VERSION',
    );
  }
  if (m[2] !== undefined && Number(m[2]) !== s.version) {
    throw new UsageError(
      `settings: ${m[1]} is at version ${s.version} in the config, not ${m[2]}`,
      `only the version in the config can run: set processing.settings.${m[1]}.version (and its definition) first`,
    );
  }
  return [{ name: m[1]!, version: s.version }];
}

/** The jobs one file gets: chosen settings that apply to it and that it has no job at (`has`). */
export function jobsForFile(
  config: Config,
  chosen: readonly { name: string; version: number }[],
  file: FileFacts & { id: string },
  has: ReadonlySet<string>,
): { name: string; version: number; params: Record<string, unknown> }[] {
  const out = [];
  for (const a of applicableSettings(config, file)) {
    const c = chosen.find((x) => x.name === a.name);
    if (!c || c.version !== a.settings.version) continue;
    if (has.has(`${file.id}/${a.name}/${a.settings.version}`)) continue;
    out.push({ name: a.name, version: a.settings.version, params: a.params });
  }
  return out;
}

/** Why a running re-run cannot go on: one of its settings left the config or changed version. */
export function settingsDrift(
  config: Config,
  recorded: readonly { name: string; version: number }[],
): string | undefined {
  for (const r of recorded) {
    const now = config.processing.settings[r.name];
    if (!now) return `processing settings ${r.name} are no longer in the config`;
    if (now.version !== r.version)
      return `processing settings ${r.name} changed from version ${r.version} to ${now.version} since the re-run started`;
  }
  return undefined;
}
