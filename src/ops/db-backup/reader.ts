/**
 * Reads a backup file (format: ./format.ts) as a sequence of events: the header, each table's data
 * in chunks of whole rows, each table's end, the trailer. Everything is checked on the way: gzip's
 * CRC and length, the header's shape, every table's row count and sha256 and the header's sha256
 * against the trailer, and that nothing follows the trailer. Any mismatch throws `DumpInvalidError`;
 * a consumer that wrote anything must discard it (the restore does so by rolling back).
 */
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import {
  type DumpHeader,
  DumpInvalidError,
  type DumpTrailer,
  FORMAT,
  FORMAT_VERSION,
  headerSchema,
  type TableStats,
  trailerSchema,
} from './format.ts';

export type DumpEvent =
  | { kind: 'header'; header: DumpHeader }
  | { kind: 'data'; table: number; chunk: Buffer }
  | { kind: 'table-end'; table: number; stats: TableStats }
  | { kind: 'trailer'; trailer: DumpTrailer };

/** The header line may not be longer than this (a header is a few kB; this guards against junk). */
const MAX_HEADER = 16 * 1024 * 1024;
const NL = 10;
const BACKSLASH = 0x5c;
const DOT = 0x2e;

function jsonLine(line: Buffer): unknown {
  try {
    return JSON.parse(line.toString('utf8'));
  } catch {
    return undefined;
  }
}

function describeZlibError(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'Z_BUF_ERROR') return 'the file ends early (it was cut short: an interrupted copy or upload?)';
  if (code === 'Z_DATA_ERROR') return `its compressed data is damaged (${(err as Error).message})`;
  return (err as Error).message;
}

type Invalid = (problem: string, cause?: unknown) => DumpInvalidError;

/** Where the lines of a backup parsed so far got to, and the checks along the way. */
class DumpParser {
  header: DumpHeader | undefined;
  /** Index of the table being read. */
  table = 0;
  trailerSeen = false;
  private headerSha = '';
  private hash: Hash | undefined;
  private rows = 0;
  private bytes = 0;
  private readonly stats: TableStats[] = [];

  constructor(private readonly invalid: Invalid) {}

  /** The events of the whole lines in `buf`; returns where its unread rest (an incomplete line) begins. */
  *parse(buf: Buffer): Generator<DumpEvent, number> {
    let pos = 0;
    while (pos < buf.length) {
      if (this.trailerSeen) throw this.invalid('it has data after its end');
      const [next, more] = !this.header
        ? yield* this.parseHeader(buf, pos)
        : this.table < this.header.tables.length
          ? yield* this.parseTable(this.header, buf, pos)
          : yield* this.parseTrailer(buf, pos);
      pos = next;
      if (!more) break;
    }
    return pos;
  }

  private startTable(): void {
    this.hash = createHash('sha256');
    this.rows = 0;
    this.bytes = 0;
  }

  /** The header line at `pos`; `more` false when it is not complete yet. */
  private *parseHeader(buf: Buffer, pos: number): Generator<DumpEvent, [number, boolean]> {
    const nl = buf.indexOf(NL, pos);
    if (nl === -1) {
      if (buf.length > MAX_HEADER || (buf.length > 2 && buf[0] !== 0x7b))
        throw this.invalid('its first line is not a Sluice backup header');
      return [pos, false];
    }
    const line = buf.subarray(pos, nl);
    const raw = jsonLine(line) as { format?: unknown; format_version?: unknown } | undefined;
    if (raw?.format !== FORMAT) throw this.invalid('its first line is not a Sluice backup header');
    if (typeof raw.format_version === 'number' && raw.format_version > FORMAT_VERSION) {
      throw this.invalid(
        `it is in backup format ${raw.format_version}, newer than this Sluice reads (${FORMAT_VERSION}); upgrade Sluice to restore it`,
      );
    }
    const h = headerSchema.safeParse(raw);
    if (!h.success) throw this.invalid('its header is malformed');
    this.header = h.data;
    this.headerSha = createHash('sha256').update(line).digest('hex');
    yield { kind: 'header', header: this.header };
    if (this.header.tables.length) this.startTable();
    return [nl + 1, true];
  }

  /** Whole rows from `pos` on, up to the end-of-table line (`more`) or an incomplete line. */
  private *parseTable(header: DumpHeader, buf: Buffer, at: number): Generator<DumpEvent, [number, boolean]> {
    const table = this.table;
    let pos = at;
    let ended = false;
    for (;;) {
      const nl = buf.indexOf(NL, pos);
      if (nl === -1) break;
      if (nl - pos === 2 && buf[pos] === BACKSLASH && buf[pos + 1] === DOT) {
        ended = true;
        break;
      }
      this.rows++;
      pos = nl + 1;
    }
    if (pos > at) {
      const data = buf.subarray(at, pos);
      this.hash!.update(data);
      this.bytes += data.length;
      yield { kind: 'data', table, chunk: data };
    }
    if (!ended) return [pos, false];
    const s: TableStats = {
      name: header.tables[table]!.name,
      rows: this.rows,
      bytes: this.bytes,
      sha256: this.hash!.digest('hex'),
    };
    this.stats.push(s);
    yield { kind: 'table-end', table, stats: s };
    this.table++;
    if (this.table < header.tables.length) this.startTable();
    return [pos + 3, true];
  }

  /** The end record at `pos`, checked against what was read; `more` false when it is not complete yet. */
  private *parseTrailer(buf: Buffer, pos: number): Generator<DumpEvent, [number, boolean]> {
    const nl = buf.indexOf(NL, pos);
    if (nl === -1) return [pos, false];
    const parsed = trailerSchema.safeParse(jsonLine(buf.subarray(pos, nl)));
    if (!parsed.success)
      throw this.invalid('its end record is missing or malformed (the file may be cut short)');
    checkTrailer(parsed.data, this.stats, this.headerSha, this.invalid);
    this.trailerSeen = true;
    yield { kind: 'trailer', trailer: parsed.data };
    return [nl + 1, true];
  }
}

/**
 * Events of the backup read from `input`. `source` names it in errors. `onBytes` is told how many
 * compressed bytes were read so far.
 */
export async function* readDump(
  input: Readable,
  source: string,
  onBytes?: (n: number) => void,
): AsyncGenerator<DumpEvent> {
  const gunzip = createGunzip();
  let read = 0;
  input.on('data', (c: Buffer) => {
    read += c.length;
    onBytes?.(read);
  });
  input.on('error', (err) => gunzip.destroy(err));
  input.pipe(gunzip);

  const invalid: Invalid = (problem, cause) => new DumpInvalidError(source, problem, cause);
  const parser = new DumpParser(invalid);
  let buf: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      buf = buf.subarray(yield* parser.parse(buf));
    }
  } catch (err) {
    if (err instanceof DumpInvalidError) throw err;
    const code = (err as { code?: string }).code ?? '';
    if (code.startsWith('Z_')) {
      throw invalid(
        code === 'Z_DATA_ERROR' && !parser.header ? 'it is not a gzip file' : describeZlibError(err),
        err,
      );
    }
    throw err;
  } finally {
    input.unpipe(gunzip);
    input.destroy();
    gunzip.destroy();
  }
  const { header, table } = parser;
  if (!header) throw invalid('it is empty or has no header');
  if (!parser.trailerSeen) {
    const where =
      table < header.tables.length
        ? `in the data of table ${header.tables[table]!.name}`
        : 'before its end record';
    throw invalid(`it ends early, ${where} (it was cut short: an interrupted copy or upload?)`);
  }
  if (buf.length) throw invalid('it has data after its end');
}

function checkTrailer(
  trailer: DumpTrailer,
  stats: TableStats[],
  headerSha: string,
  invalid: (p: string) => DumpInvalidError,
): void {
  if (trailer.header_sha256 !== headerSha)
    throw invalid('its header does not match its checksum (the file was changed)');
  if (trailer.tables.length !== stats.length) {
    throw invalid(`its end record lists ${trailer.tables.length} tables, the file holds ${stats.length}`);
  }
  trailer.tables.forEach((want, i) => {
    const got = stats[i]!;
    if (want.name !== got.name)
      throw invalid(`table ${i + 1} is ${got.name}, its end record says ${want.name}`);
    if (want.rows !== got.rows || want.sha256 !== got.sha256 || want.bytes !== got.bytes) {
      throw invalid(
        `the data of table ${got.name} does not match its checksum (${got.rows} rows read, ${want.rows} written): the file was damaged or changed`,
      );
    }
  });
}

/** Reads only the header (the first line) of a backup. */
export async function readHeader(input: Readable, source: string): Promise<DumpHeader> {
  const events = readDump(input, source);
  try {
    const first = await events.next();
    if (first.done || first.value.kind !== 'header') throw new DumpInvalidError(source, 'it has no header');
    return first.value.header;
  } finally {
    await events.return(undefined);
  }
}

/** Reads the whole backup and checks it; returns its header and trailer. */
export async function verifyDump(
  input: Readable,
  source: string,
  onEvent?: (e: DumpEvent, bytesRead: number) => void,
): Promise<{ header: DumpHeader; trailer: DumpTrailer }> {
  let header: DumpHeader | undefined;
  let trailer: DumpTrailer | undefined;
  let bytesRead = 0;
  for await (const e of readDump(input, source, (n) => {
    bytesRead = n;
  })) {
    if (e.kind === 'header') header = e.header;
    if (e.kind === 'trailer') trailer = e.trailer;
    onEvent?.(e, bytesRead);
  }
  return { header: header!, trailer: trailer! };
}
