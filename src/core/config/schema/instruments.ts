/**
 * Config schema: `instruments` (watch folders, types, tags, acquisition rules).
 */
import { z } from 'zod';
import { ConfigError } from '../../errors.ts';
import { globToRegExp } from '../../glob.ts';
import { describeFound } from '../describe.ts';
import { acquisitionDoneSchema } from './acquisition-done.ts';
import { always, bool, isMapping, namedRecord, num, section, str, strList } from './building-blocks.ts';

export const INSTRUMENT_TYPES = ['thermo', 'bruker', 'sciex', 'generic'] as const;
export type InstrumentType = (typeof INSTRUMENT_TYPES)[number];
export const ENTRY_KINDS = ['file', 'folder'] as const;
export const INSTRUMENT_ID = /^[a-z0-9][a-z0-9_-]*$/;

export const acquisitionSchema = section(
  z.strictObject({
    /** A file whose size and mtime did not change for this long counts as acquired. */
    stable_window_seconds: num({ gt: 0 }, 'seconds').default(600),
    /** A newer raw file on the same instrument means the previous one is done. */
    newer_file_means_done: bool().default(true),
    /** A file older than the newest other raw file by old_file_threshold_hours counts as acquired. */
    consider_old_files_acquired: bool().default(true),
    old_file_threshold_hours: num({ gt: 0 }, 'hours').default(5),
    /**
     * Bruker only: give up waiting for a folder's main file this long after it was first seen.
     * Refused for other types (no main file to wait for); the default is filled in below.
     */
    main_file_timeout_seconds: num({ gt: 0 }, 'seconds').optional(),
    /**
     * A candidate still empty (0 bytes), unchanged for this long, ends `acquisition_failed`. Bytes
     * that arrive later make a new record (the name reappeared with other content).
     */
    empty_file_timeout_seconds: num({ gt: 0 }, 'seconds').default(3600),
  }),
);

export const instrumentCleanupSchema = section(
  z.strictObject({
    enabled: bool().default(false),
    min_free_space_gb: num({ gte: 0 }, 'GB').optional(),
    min_file_age_days: num({ gte: 0 }, 'days').optional(),
  }),
);

/** Why `glob` cannot select entries of a watch folder (core/glob.ts), or undefined when it can. */
function globProblem(glob: string): string | undefined {
  if (glob.includes('/')) {
    return (
      `expected a pattern for the names of entries directly in the watch folder, such as "*.tif", ` +
      `found ${describeFound(glob)}, which contains "/"; point watch at the folder that holds the data`
    );
  }
  try {
    globToRegExp(glob);
    return undefined;
  } catch (err) {
    return `expected a name pattern such as "*.tif", found ${describeFound(glob)}: ${err instanceof ConfigError ? err.message : String(err)}`;
  }
}

/** Default of `acquisition.main_file_timeout_seconds` (Bruker). */
export const MAIN_FILE_TIMEOUT_SECONDS = 3600;

const instrumentObject = z
  .strictObject(
    {
      type: z.enum(INSTRUMENT_TYPES),
      watch: str('a directory path (absolute, or relative to the config file)'),
      glob: str('a name pattern such as "*.tif"').optional(),
      entry_kind: z.enum(ENTRY_KINDS).optional(),
      scan_interval_seconds: num({ gt: 0, lte: 3600 }, 'seconds').default(10),
      tags: strList('a tag').optional(),
      require_mount: bool().default(false),
      project: str('a project id').optional(),
      acquisition: acquisitionSchema,
      /** Acquisition signals in: events of a stream source that say an acquisition finished. */
      acquisition_done: acquisitionDoneSchema.optional(),
      move_after_backup: bool().default(false),
      cleanup: instrumentCleanupSchema,
    },
    { error: 'a mapping with at least type and watch' },
  )
  .superRefine((inst, ctx) => {
    if (!isMapping(inst)) return;
    const i = inst as { type?: unknown; glob?: unknown; entry_kind?: unknown; acquisition?: unknown };
    if (!(INSTRUMENT_TYPES as readonly unknown[]).includes(i.type)) return;
    if (i.type === 'generic' && i.glob === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['glob'],
        message:
          'required for type \'generic\': expected a name pattern selecting the raw data (e.g. "*.tif"), found nothing',
        params: { full: true },
      });
    }
    if (i.type === 'generic' && typeof i.glob === 'string' && i.glob !== '') {
      const problem = globProblem(i.glob);
      if (problem) ctx.addIssue({ code: 'custom', path: ['glob'], message: problem, params: { full: true } });
    }
    if (i.type !== 'generic' && i.glob !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['glob'],
        message: `only allowed for type 'generic': expected no glob for type '${String(i.type)}' (its raw file layout is built in), found ${describeFound(i.glob)}`,
        params: { full: true },
      });
    }
    if (i.type !== 'generic' && i.entry_kind !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['entry_kind'],
        message: `only allowed for type 'generic': expected no entry_kind for type '${String(i.type)}', found ${describeFound(i.entry_kind)}`,
        params: { full: true },
      });
    }
    const timeout = isMapping(i.acquisition) ? i.acquisition.main_file_timeout_seconds : undefined;
    if (i.type !== 'bruker' && timeout !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['acquisition', 'main_file_timeout_seconds'],
        message: `only allowed for type 'bruker': expected no main_file_timeout_seconds for type '${String(i.type)}' (only Bruker .d folders wait for a main file), found ${describeFound(timeout)}; remove it`,
        params: { full: true },
      });
    }
  }, always);

export type InstrumentParsed = z.output<typeof instrumentObject>;

export type Instrument = Omit<InstrumentParsed, 'tags' | 'entry_kind'> & {
  /** Worker tags needed to scan, copy and clean this instrument (default none: any worker). */
  tags: string[];
  /** `file` or `folder` for type generic (default `file`); undefined for vendor types. */
  entry_kind: (typeof ENTRY_KINDS)[number] | undefined;
};

export const instrumentsSchema = section(
  namedRecord(instrumentObject, {
    pattern: INSTRUMENT_ID,
    form: "lowercase letters, digits, '-' and '_', starting with a letter or digit (e.g. astral1, timstof-2)",
    noun: 'instrument id',
  }).transform(
    (rec): Record<string, Instrument> =>
      Object.fromEntries(
        Object.entries(rec).map(([id, inst]) => [
          id,
          {
            ...inst,
            // Bruker only: other types have no main file, and `config check` must not show a
            // setting the schema refuses for them
            acquisition:
              inst.type === 'bruker'
                ? {
                    ...inst.acquisition,
                    main_file_timeout_seconds:
                      inst.acquisition.main_file_timeout_seconds ?? MAIN_FILE_TIMEOUT_SECONDS,
                  }
                : inst.acquisition,
            tags: inst.tags ?? [],
            entry_kind: inst.type === 'generic' ? (inst.entry_kind ?? 'file') : undefined,
          },
        ]),
      ),
  ),
);
