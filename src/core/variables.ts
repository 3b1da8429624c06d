/**
 * Runtime variables: typed settings an operator may change while Sluice runs.
 *
 * Value resolution: database override (set with `sluice vars set`) > `variables:` in the config
 * file > the built-in default below. Every change is written to `variable_audit` (who, when,
 * old, new) in the same transaction as the override.
 */
import { z } from 'zod';
import { describeFound } from './config/describe.ts';
import { DEFAULT_MESSAGE, expectedOf } from './config/issues.ts';
import type { Queryable } from './db/db.ts';

import { OUTPUT_EXISTS_MODES, type OutputExistsMode } from './output-exists.ts';

export { OUTPUT_EXISTS_MODES, type OutputExistsMode } from './output-exists.ts';

import { UsageError } from './errors.ts';

export interface VariableDef<T = unknown> {
  name: string;
  description: string;
  schema: z.ZodType<T>;
  default: T;
}

function def<T>(name: string, description: string, schema: z.ZodType<T>, dflt: T): VariableDef<T> {
  return { name, description, schema, default: dflt };
}

/**
 * Numbers are bounded to what anyone could mean (a century of days or hours, ten years of minutes,
 * a zettabyte): beyond that, date arithmetic in JavaScript or PostgreSQL overflows.
 */
export const variableDefs = {
  output_exists_mode: def(
    'output_exists_mode',
    'What processing does when the output folder already exists: raise, overwrite, associate, add.',
    z.enum(OUTPUT_EXISTS_MODES),
    'raise' as OutputExistsMode,
  ),
  min_free_space_gb: def(
    'min_free_space_gb',
    'The remover frees instrument disks until at least this many GB are free (per-instrument override in config).',
    z.number().nonnegative().max(1e12),
    200,
  ),
  min_file_age_days: def(
    'min_file_age_days',
    'The remover never deletes an instrument file younger than this many days.',
    z.number().nonnegative().max(36_500),
    14,
  ),
  max_file_age_hours: def(
    'max_file_age_hours',
    'Raw data whose mtime is older than this is ignored while it is still being acquired (null = never ignore).',
    z.number().positive().max(876_000).nullable(),
    null as number | null,
  ),
  cleanup_dry_run: def(
    'cleanup_dry_run',
    'When true the remover deletes nothing: it re-verifies both copies and logs what it would delete.',
    z.boolean(),
    true,
  ),
  stuck_file_minutes: def(
    'stuck_file_minutes',
    'A file in a non-terminal status for longer than this is reported as stuck.',
    z.number().positive().max(5_256_000),
    240,
  ),
} as const;

export type VariableName = keyof typeof variableDefs;
export type VariableValue<N extends VariableName> = (typeof variableDefs)[N]['default'];

export function isVariableName(name: string): name is VariableName {
  return Object.hasOwn(variableDefs, name);
}

export function variableDef(name: string): VariableDef {
  if (!isVariableName(name)) {
    throw new UsageError(
      `unknown variable '${name}'`,
      `known variables: ${Object.keys(variableDefs).join(', ')} (see \`sluice vars list\`)`,
    );
  }
  return variableDefs[name] as VariableDef;
}

/** Parses a value typed on the command line (JSON when it parses, else a string) and validates it. */
export function parseVariableInput(name: string, raw: string): unknown {
  const d = variableDef(name);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // not JSON: keep the raw string (e.g. `raise`)
  }
  const r = checkVariableValue(d, value);
  if (!r.ok) {
    throw new UsageError(
      `invalid value ${JSON.stringify(raw)} for variable '${name}': ${r.problem}`,
      `${name}: ${d.description}`,
    );
  }
  return r.value;
}

/** Validates a value for `d`; the problem reads "expected a number > 0, found -2". */
export function checkVariableValue(
  d: VariableDef,
  value: unknown,
): { ok: true; value: unknown } | { ok: false; problem: string } {
  const r = d.schema.safeParse(value, { error: () => DEFAULT_MESSAGE });
  if (r.success) return { ok: true, value: r.data };
  const expected = [...new Set(r.error.issues.map(expectedOf))].join(' and ');
  return { ok: false, problem: `expected ${expected}, found ${describeFound(value)}` };
}

export interface VariableState {
  name: string;
  value: unknown;
  source: 'override' | 'config' | 'default';
  default: unknown;
  description: string;
  updatedBy?: string;
  updatedAt?: string;
}

interface OverrideRow {
  name: string;
  value: unknown;
  updated_by: string;
  updated_at: Date;
}

export class Variables {
  constructor(
    private readonly db: Queryable,
    private readonly fromConfig: Record<string, unknown>,
  ) {}

  async list(): Promise<VariableState[]> {
    const rows = await this.db.query<OverrideRow>(
      'select name, value, updated_by, updated_at from variable_overrides',
    );
    const byName = new Map(rows.map((r) => [r.name, r]));
    return Object.values(variableDefs).map((d) => {
      const o = byName.get(d.name);
      const base = {
        name: d.name,
        default: Object.hasOwn(this.fromConfig, d.name) ? this.fromConfig[d.name] : d.default,
        description: d.description,
      };
      if (o)
        return {
          ...base,
          value: o.value,
          source: 'override',
          updatedBy: o.updated_by,
          updatedAt: o.updated_at.toISOString(),
        };
      if (Object.hasOwn(this.fromConfig, d.name))
        return { ...base, value: this.fromConfig[d.name], source: 'config' };
      return { ...base, value: d.default, source: 'default' };
    });
  }

  async get<N extends VariableName>(name: N): Promise<VariableValue<N>> {
    const o = await this.db.maybeOne<{ value: unknown }>(
      'select value from variable_overrides where name = $1',
      [name],
    );
    if (o) {
      const r = variableDefs[name].schema.safeParse(o.value);
      if (r.success) return r.data as VariableValue<N>;
    }
    if (Object.hasOwn(this.fromConfig, name)) return this.fromConfig[name] as VariableValue<N>;
    return variableDefs[name].default as VariableValue<N>;
  }

  async set(name: string, value: unknown, actor: string, tx: Queryable = this.db): Promise<void> {
    const d = variableDef(name);
    const parsed = d.schema.parse(value);
    const old = await tx.maybeOne<{ value: unknown }>(
      'select value from variable_overrides where name = $1 for update',
      [name],
    );
    await tx.exec(
      `insert into variable_overrides(name, value, updated_by, updated_at) values ($1, $2::jsonb, $3, now())
       on conflict (name) do update set value = excluded.value, updated_by = excluded.updated_by, updated_at = now()`,
      [name, JSON.stringify(parsed), actor],
    );
    await tx.exec(
      'insert into variable_audit(name, old_value, new_value, actor) values ($1, $2::jsonb, $3::jsonb, $4)',
      [name, old ? JSON.stringify(old.value) : null, JSON.stringify(parsed), actor],
    );
  }

  async unset(name: string, actor: string, tx: Queryable = this.db): Promise<boolean> {
    variableDef(name);
    const old = await tx.maybeOne<{ value: unknown }>(
      'delete from variable_overrides where name = $1 returning value',
      [name],
    );
    if (!old) return false;
    await tx.exec(
      'insert into variable_audit(name, old_value, new_value, actor) values ($1, $2::jsonb, null, $3)',
      [name, JSON.stringify(old.value), actor],
    );
    return true;
  }

  async audit(
    name?: string,
    limit = 50,
  ): Promise<{ name: string; old_value: unknown; new_value: unknown; actor: string; at: Date }[]> {
    return this.db.query(
      `select name, old_value, new_value, actor, at from variable_audit where ($1::text is null or name = $1) order by id desc limit $2`,
      [name ?? null, limit],
    );
  }
}
