/**
 * Config schema: `processing` (executor, poll interval, settings per job type, metrics extractors).
 */
import { z } from 'zod';
import { isHostPort } from '../limits.ts';
import { always, int, isMapping, namedRecord, num, section, str, strList } from './building-blocks.ts';

/** A processing settings name: used in folder names and job keys. */
export const SETTINGS_NAME = /^[a-z0-9][a-z0-9_-]*$/;

const regex = (what: string) =>
  str(`a regular expression ${what}`).superRefine((s, ctx) => {
    try {
      new RegExp(s);
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a valid regular expression, found '${s}' (${(err as Error).message})`,
        params: { full: true },
      });
    }
  }, always);

const resourcesSchema = section(
  z.strictObject({
    cpus: int(1).default(4),
    memory_mb: int(64).default(8000),
    time_minutes: int(1).default(120),
    partition: str('a SLURM partition name').optional(),
  }),
);

const metricsSchema = z
  .strictObject({
    type: str('an extractor type: alphadia, diann, msqc, tsv, json or custom'),
    module: str('a module path (for type custom)').optional(),
    options: z.record(z.string(), z.unknown()).default({}),
  })
  .optional();

const knownErrorSchema = z.strictObject({
  pattern: regex('matched against the job log'),
  reason: str('a reason a person can act on'),
});

export const settingsSchema = z
  .strictObject(
    {
      version: int(1),
      software: str('the analysis software, e.g. alphadia'),
      software_version: str('a version, e.g. 1.10.0'),
      /** Job script template; `{{name}}` placeholders are filled and shell-quoted. */
      template: str('a job script template').optional(),
      template_file: str('a path to a job script template').optional(),
      params: z.record(z.string(), z.unknown()).default({}),
      resources: resourcesSchema,
      metrics: metricsSchema,
      known_errors: z.array(knownErrorSchema).default([]),
    },
    { error: 'a mapping with at least version, software, software_version and template or template_file' },
  )
  .superRefine((s, ctx) => {
    if (!isMapping(s)) return;
    const v = s as { template?: unknown; template_file?: unknown };
    if ((v.template === undefined) === (v.template_file === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['template'],
        message:
          'expected exactly one of template (the script text) and template_file (a path), found ' +
          (v.template === undefined ? 'neither' : 'both'),
        params: { full: true },
      });
    }
  }, always);

const assignmentSchema = z.strictObject({
  settings: str('the name of a processing settings entry'),
  /** Project ids this applies to; `['*']` for every project. */
  projects: strList('a project id or *').default(['*']),
  /** Most specific wins among assignments of the same settings: instrument > instrument_type > all. */
  instrument: str('an instrument id').optional(),
  instrument_type: z.enum(['thermo', 'bruker', 'sciex', 'generic']).optional(),
  exclude_instruments: strList('an instrument id').default([]),
  filename: regex('that file names must match').optional(),
  exclude_filename: regex('that excludes matching file names').optional(),
  /** Overrides of the settings' params for this assignment (per-project settings). */
  params: z.record(z.string(), z.unknown()).default({}),
});

const sshSchema = z.strictObject({
  hosts: z
    .array(
      str('host or host:port').refine(isHostPort, {
        error: 'host or host:port with a port between 1 and 65535',
      }),
      {
        error: 'a list of strings, e.g. [a, b]',
      },
    )
    .min(1, { error: 'at least one host' }),
  user: str('a user name'),
  key_file: str('a private key file path'),
  known_hosts: str('a known_hosts file path'),
  connect_timeout_seconds: num({ gt: 0 }, 'seconds').default(15),
});

export const processingSchema = section(
  z.strictObject({
    executor: z.enum(['local', 'slurm']).default('local'),
    slurm: section(
      z.strictObject({
        ssh: sshSchema.optional(),
        partition: str('a SLURM partition name').optional(),
      }),
    ),
    /** Where outputs go, as Sluice sees it. Default `<data_dir>/output`. */
    output_path: str('a directory path').optional(),
    /** Prefix rewrites from Sluice's view to the cluster's view of paths (backup, output). */
    path_map: z.record(z.string(), z.string()).default({}),
    poll_seconds: num({ gt: 0 }, 'seconds').default(10),
    /** A job the scheduler no longer knows, without an exit file, is re-checked this often, then lost. */
    lost_after_checks: int(1).default(3),
    /** What happens to a lost job: resubmit once, or end the file in error. */
    lost_job_policy: z.enum(['resubmit', 'error']).default('error'),
    /** Environment activation line for templates (`{{env}}`); `{{software}}`/`{{software_version}}` are filled. */
    environment: z.string().default('conda activate {{software}}-{{software_version}}'),
    settings: namedRecord(settingsSchema, {
      pattern: SETTINGS_NAME,
      form: "lowercase letters, digits, '-' and '_'",
      noun: 'processing settings name',
    }).default({}),
    assignments: z.array(assignmentSchema).default([]),
  }),
);

export type ProcessingConfig = z.output<typeof processingSchema>;
export type SettingsConfig = z.output<typeof settingsSchema>;
export type AssignmentConfig = z.output<typeof assignmentSchema>;
