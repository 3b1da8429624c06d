/**
 * Sample attributes checked against JSON Schemas from the config (`catalog.attribute_schemas`, by
 * sample type and by project). ajv compiles each schema once; values from a sheet are text, so numbers
 * and booleans are coerced where the schema asks for them (`"1.5"` → 1.5), and the coerced value is
 * what is stored.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { CatalogConfig } from '../core/config/schema/catalog.ts';
import { ConfigError } from '../core/errors.ts';

export type AttributeCheck = (
  type: string | null,
  project: string,
  attrs: Record<string, unknown>,
) => string[];

function describe(e: ErrorObject): string {
  const where = e.instancePath ? `attribute ${e.instancePath.slice(1).replaceAll('/', '.')}` : 'attributes';
  if (e.keyword === 'required')
    return `attribute '${(e.params as { missingProperty: string }).missingProperty}' is required`;
  if (e.keyword === 'additionalProperties') {
    return `attribute '${(e.params as { additionalProperty: string }).additionalProperty}' is not in the schema`;
  }
  return `${where} ${e.message ?? 'is not valid'}`;
}

/** Checks compiled, by the config's schemas (a config read again is new objects, compiled again). */
const compiled = new WeakMap<CatalogConfig['attribute_schemas'], AttributeCheck>();

/**
 * Every configured schema compiled (a bad one is a config error naming it) into one check, once per
 * config: compiling takes 10-80 ms, which each import would otherwise spend before its first row.
 */
export function attributeChecker(cfg: CatalogConfig): AttributeCheck {
  let check = compiled.get(cfg.attribute_schemas);
  if (!check) {
    check = compileChecker(cfg);
    compiled.set(cfg.attribute_schemas, check);
  }
  return check;
}

function compileChecker(cfg: CatalogConfig): AttributeCheck {
  const ajv = new Ajv({ strict: false, coerceTypes: true, allErrors: true, useDefaults: false });
  const compile = (path: string, schema: unknown): ValidateFunction => {
    try {
      return ajv.compile(schema as object);
    } catch (err) {
      throw new ConfigError(`${path}: expected a valid JSON Schema: ${(err as Error).message}`);
    }
  };
  const byType = new Map(
    Object.entries(cfg.attribute_schemas.by_type).map(([k, s]) => [
      k,
      compile(`catalog.attribute_schemas.by_type.${k}`, s),
    ]),
  );
  const byProject = new Map(
    Object.entries(cfg.attribute_schemas.by_project).map(([k, s]) => [
      k,
      compile(`catalog.attribute_schemas.by_project.${k}`, s),
    ]),
  );
  return (type, project, attrs) => {
    const t = type === null ? undefined : byType.get(type);
    const p = byProject.get(project);
    // the common case (every schema passes) allocates nothing but the empty answer
    const tProblems = t && !t(attrs) ? (t.errors ?? []).map(describe) : [];
    const pProblems = p && !p(attrs) ? (p.errors ?? []).map(describe) : [];
    if (pProblems.length === 0) return tProblems.length < 2 ? tProblems : [...new Set(tProblems)];
    return [...new Set([...tProblems, ...pProblems])];
  };
}
