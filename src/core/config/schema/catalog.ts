/**
 * Config schema: `catalog` (issue #22): the JSON Schemas that sample attributes are validated
 * against (per sample type and per project), the filename patterns that link raw data to samples at
 * acquisition, and each project's visibility. Consumed by src/catalog/; documented in
 * docs/configuration.md.
 */
import { z } from 'zod';
import { describeFound } from '../describe.ts';
import { always, namedRecord, section, str, strList } from './building-blocks.ts';
import { PROJECT_ID } from './projects.ts';

/**
 * A JSON Schema object. It is compiled (ajv) where samples are validated (src/catalog/attributes.ts),
 * not here: the config loads in every command, and most never touch the catalog.
 */
const jsonSchema = z.record(z.string(), z.unknown(), {
  error: 'a JSON Schema object, e.g. {type: object, properties: {...}}',
});

/** A pattern must compile and capture a group named `sample` (the sample's refcode). */
const linkPattern = z.strictObject({
  pattern: str(
    'a regular expression with a named group (?<sample>...), e.g. (?<sample>S\\d{5})_(?<replicate>\\d+)',
  ).superRefine((p, ctx) => {
    let re: RegExp;
    try {
      re = new RegExp(p);
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a regular expression, found ${describeFound(p)}: ${(err as Error).message}`,
        params: { full: true },
      });
      return;
    }
    if (!/\(\?<sample>/.test(re.source)) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a named group (?<sample>...) that captures the sample's refcode, found ${describeFound(p)}`,
        params: { full: true },
      });
    }
  }, always),
  /** Only files of these instruments; empty: all. */
  instruments: strList('an instrument id').default([]),
});

const projectIds = {
  pattern: PROJECT_ID,
  form: "letters, digits, '-' and '_', starting with a letter or digit",
  noun: 'project id',
};

export const catalogSchema = section(
  z.strictObject({
    /** Attributes of samples of a type must match `by_type[type]`, of a project `by_project[id]` (both when both exist). */
    attribute_schemas: section(
      z.strictObject({
        by_type: namedRecord(jsonSchema, {
          pattern: /^[A-Za-z0-9][A-Za-z0-9_-]*$/,
          form: "letters, digits, '-' and '_'",
          noun: 'sample type',
          values: 'JSON Schemas',
        }).default({}),
        by_project: namedRecord(jsonSchema, { ...projectIds, values: 'JSON Schemas' }).default({}),
      }),
    ),
    /** Raw data whose name matches a pattern is linked (`measured`) to the sample its `sample` group names. */
    link_patterns: z.array(linkPattern, { error: 'a list of {pattern, instruments}' }).default([]),
    /** `members`: only the project's members (and admins) see its samples, files and metrics. */
    project_visibility: namedRecord(z.enum(['all', 'members'], { error: "'all' or 'members'" }), {
      ...projectIds,
      values: "'all' or 'members'",
    }).default({}),
  }),
);

export type CatalogConfig = z.output<typeof catalogSchema>;
