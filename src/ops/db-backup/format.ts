/**
 * The database backup file (`.sluicedump`): one gzip stream holding, line by line,
 *
 *   {header}                 one JSON line: format, versions, migrations, tables and their columns
 *   <rows of table 1>        the table's `COPY ... TO STDOUT` text output, one row per line
 *   \.                       end of table 1 (a line COPY's text format never produces as a row)
 *   ...                      the other tables, in the header's order (a foreign-key-safe load order)
 *   {trailer}                one JSON line: per table its row count, byte count and sha256, and the
 *                            sha256 of the header line
 *
 * The checksums sit at the end because the dump streams: nothing is held in memory or spooled to a
 * temporary file. A restore therefore reads the file twice: once to verify it completely, then to
 * load it (checking again while loading, inside the transaction that commits only when all matched).
 * A file that was cut short has no trailer (and fails gzip's own length check); a changed byte fails
 * gzip's CRC or a table's sha256.
 */
import { z } from 'zod';
import { SluiceError } from '../../core/errors.ts';

export const FORMAT = 'sluice-dump';
export const FORMAT_VERSION = 1;
export const FILE_SUFFIX = '.sluicedump';

const migrationSchema = z.object({
  version: z.number().int(),
  name: z.string(),
  applied_at: z.string().optional(),
});

export const headerSchema = z.object({
  format: z.literal(FORMAT),
  format_version: z.number().int(),
  sluice_version: z.string(),
  created_at: z.string(),
  server_version: z.string(),
  /** The strategy that made it; absent for `sluice db backup --output FILE`. */
  strategy: z.string().optional(),
  migrations: z.array(migrationSchema),
  tables: z.array(z.object({ name: z.string(), columns: z.array(z.string()).min(1) })),
  sequences: z.array(z.object({ table: z.string(), column: z.string(), last_value: z.string().nullable() })),
  excluded: z.array(z.string()),
});
export type DumpHeader = z.infer<typeof headerSchema>;

export const trailerSchema = z.object({
  end: z.literal(FORMAT),
  header_sha256: z.string(),
  tables: z.array(
    z.object({ name: z.string(), rows: z.number().int(), bytes: z.number().int(), sha256: z.string() }),
  ),
});
export type DumpTrailer = z.infer<typeof trailerSchema>;
export type TableStats = DumpTrailer['tables'][number];

/**
 * Session settings under which COPY's text is written and read, whatever the server's or database's
 * defaults (as pg_dump does): ISO dates (a `DMY` setting would swap day and month on a server set to
 * `MDY`), and floats with every digit.
 */
export const SESSION_SETTINGS = [
  `set local datestyle = 'ISO, YMD'`,
  `set local intervalstyle = 'postgres'`,
  'set local extra_float_digits = 3',
  `set local client_encoding = 'UTF8'`,
  'set local statement_timeout = 0',
];

/** The end-of-table line (without its newline): a backslash and a dot. */
export const END_OF_TABLE = Buffer.from('\\.\n');

/** The backup file could not be read as a complete, intact Sluice backup. */
export class DumpInvalidError extends SluiceError {
  constructor(source: string, problem: string, cause?: unknown) {
    super('db_backup.invalid', `${source} is not a usable Sluice database backup: ${problem}`, {
      hint: 'the database was not changed; restore another backup (`sluice db backups` lists them), or copy this one again if it was damaged on the way',
      cause,
    });
    this.name = 'DumpInvalidError';
  }
}

// --- file names -----------------------------------------------------------------------------------

/** `20260304T100000.123Z` for 2026-03-04 10:00:00.123 UTC. */
export function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '');
}

export function parseStamp(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z$/.exec(s);
  if (!m) return undefined;
  const d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The name of a strategy's backup made at `at`: `sluice-<strategy>-<stamp>.sluicedump`. */
export function backupFileName(strategy: string, at: Date): string {
  return `sluice-${strategy}-${stamp(at)}${FILE_SUFFIX}`;
}

/**
 * When `name` is a backup file of `strategy` (and only then: other files, other strategies' files
 * and temporary files do not match), the time it was made.
 */
export function parseBackupFileName(strategy: string, name: string): Date | undefined {
  const prefix = `sluice-${strategy}-`;
  if (!name.startsWith(prefix) || !name.endsWith(FILE_SUFFIX)) return undefined;
  return parseStamp(name.slice(prefix.length, -FILE_SUFFIX.length));
}

/** Where a backup, verify or restore stands; reported often (the receiver throttles). */
export interface Progress {
  phase: 'backup' | 'verify' | 'restore';
  /** The table being read or written, once known. */
  table?: string | undefined;
  /** True on the one report that ends `table`. */
  tableDone?: boolean;
  tablesDone: number;
  tablesTotal: number;
  /** Rows and bytes of table data (uncompressed) so far. */
  rows: number;
  bytes: number;
  /** Bytes of the (compressed) file written or read so far, and its size when known. */
  fileBytes: number;
  fileTotal?: number | undefined;
}

/** Number of newline bytes in `b`. */
export function countLines(b: Buffer): number {
  let n = 0;
  let i = b.indexOf(10);
  while (i !== -1) {
    n++;
    i = b.indexOf(10, i + 1);
  }
  return n;
}
