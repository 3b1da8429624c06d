/**
 * `sluice retrieve FILE…|--project P|--since …`: asks for archived sets back in the retrieval area
 * (src/archive/retrieve.ts records the request; the workers' `archive.retrieve` tasks restore,
 * download and verify) and, unless `--no-wait`, follows the fetches to the end with a progress bar
 * per archive on a terminal (one line per state change otherwise). `--list` shows recent requests.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { requestRetrieval } from '../archive/retrieve.ts';
import { listRetrievals, type RetrievalRow, retrievalsByIds } from '../archive/retrieve-repo.ts';
import { FETCH_STATES, type FetchState } from '../archive/retrieve-rules.ts';
import type { Db } from '../core/db/db.ts';
import { UsageError } from '../core/errors.ts';
import { parseIntArg } from './args.ts';
import { actor, withContext } from './context.ts';
import { parseSince } from './files.ts';
import { ago, bytes, printJson, printTable } from './output.ts';

const WIDTH = 24;
const POLL_MS = 500;
const FINAL: readonly FetchState[] = ['verified', 'failed', 'expired'];

interface Opts {
  project?: string;
  since?: string;
  target?: string;
  wait: boolean;
  json?: boolean;
  list?: boolean;
  state?: string;
  limit: string;
}

/** Where a request's set is once its fetch verified. */
export function setPath(r: Pick<RetrievalRow, 'path' | 'prefix'>): string | null {
  return r.path ? path.join(r.path, r.prefix) : null;
}

/** One fetch's progress line: `archive 12 [#####-----]  41%  1.2 GB/2.9 GB  downloading  (3 sets)`. */
export function progressLine(rows: readonly RetrievalRow[]): string {
  const r = rows[0]!;
  const total = Number(r.bytes_total);
  const done = r.state === 'verified' ? total : Number(r.bytes_done);
  const f = total > 0 ? Math.min(1, done / total) : r.state === 'verified' ? 1 : 0;
  const filled = Math.round(f * WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
  const why = r.state === 'failed' && r.why ? `: ${r.why}` : '';
  return `archive ${r.archive_id} ${bar}  ${bytes(done)}/${bytes(total)}  ${r.state}${why}  (${rows.length} set${rows.length === 1 ? '' : 's'})`;
}

function byFetch(rows: readonly RetrievalRow[]): RetrievalRow[][] {
  const m = new Map<string, RetrievalRow[]>();
  for (const r of rows) m.set(r.fetch_id, [...(m.get(r.fetch_id) ?? []), r]);
  return [...m.values()];
}

/** Follows the requests until every fetch is verified or failed; returns their last rows. */
async function follow(db: Db, ids: string[], out: NodeJS.WriteStream): Promise<RetrievalRow[]> {
  const tty = Boolean(out.isTTY);
  const seen = new Map<string, string>();
  let drawn = 0;
  for (;;) {
    const rows = await retrievalsByIds(db, ids);
    const groups = byFetch(rows);
    if (tty) {
      if (drawn) out.write(`\x1b[${drawn}A`);
      for (const g of groups)
        out.write(`\r\x1b[K${progressLine(g).slice(0, Math.max(20, (out.columns ?? 100) - 1))}\n`);
      drawn = groups.length;
    } else {
      for (const g of groups) {
        const key = `${g[0]!.state}`;
        if (seen.get(g[0]!.fetch_id) !== key) out.write(`${progressLine(g)}\n`);
        seen.set(g[0]!.fetch_id, key);
      }
    }
    if (rows.every((r) => FINAL.includes(r.state))) return rows;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function table(rows: readonly RetrievalRow[]) {
  return rows.map((r) => ({
    id: r.id,
    file: r.file_id,
    archive: r.archive_id,
    state: r.state,
    by: r.requested_by,
    asked: ago(r.requested_at),
    expires: r.expires_at ? r.expires_at.toISOString() : '-',
    path: setPath(r) ?? (r.why ? `(${r.why})` : '-'),
  }));
}

function parseStates(raw: string | undefined): FetchState[] | undefined {
  if (raw === undefined) return undefined;
  const list = raw.split(',').map((s) => s.trim());
  for (const s of list)
    if (!(FETCH_STATES as readonly string[]).includes(s))
      throw new UsageError(`--state: expected one of ${FETCH_STATES.join(', ')}, got '${s}'`);
  return list as FetchState[];
}

async function run(files: string[], opts: Opts, cmd: Command): Promise<void> {
  await withContext(cmd, async ({ db, config }) => {
    if (opts.list) {
      const rows = await listRetrievals(db, {
        states: parseStates(opts.state),
        limit: parseIntArg('--limit', opts.limit, 1, 10_000),
      });
      if (opts.json) printJson(rows.map((r) => ({ ...r, set_path: setPath(r) })));
      else printTable(table(rows), '(no retrievals)');
      return;
    }
    const since = opts.since ? parseSince(opts.since) : undefined;
    const r = await requestRetrieval(db, config, {
      files,
      project: opts.project,
      since,
      target: opts.target,
      by: actor(),
    });
    for (const f of r.notArchived) process.stderr.write(`${f}: not in a verified archive, skipped\n`);
    const ids = r.retrievals.map((x) => x.id);
    const rows = opts.wait ? await follow(db, ids, process.stderr) : r.retrievals;
    if (opts.json)
      printJson({
        retrievals: rows.map((x) => ({ ...x, set_path: setPath(x) })),
        not_archived: r.notArchived,
      });
    else printTable(table(rows));
    if (rows.some((x) => x.state === 'failed') || r.notArchived.length > 0) process.exitCode = 1;
  });
}

export function registerRetrieveCommand(program: Command): void {
  program
    .command('retrieve')
    .description('bring archived sets back into the retrieval area, restored, downloaded and verified')
    .argument('[files...]', 'file ids to retrieve')
    .option('-p, --project <id>', 'every archived file of this project')
    .option(
      '--since <when>',
      'files discovered since a date (2026-11-01, 2026-11-01T08:00Z) or an age (30m, 24h, 7d)',
    )
    .option('--target <name>', 'only from this archive target')
    .option('--no-wait', 'record the request and return at once (default: follow it to the end)')
    .option('--json', 'machine-readable output')
    .option('--list', 'list recent retrieval requests instead')
    .option('--state <states>', 'with --list: only these states (comma-separated)')
    .option('--limit <n>', 'with --list: at most this many', '50')
    .addHelpText(
      'after',
      `
Each set comes back as a whole, from the verified archive holding it (a filesystem target first,
then S3; a cold S3 class is restored first, which takes hours on AWS). Requests for sets in the
same archive share one restore and one download. Every member is checked against the sha256
recorded when it was archived; a set counts as retrieved only when all of its archive verified.
States: requested → restoring → downloading → verified | failed (with why); a verified copy is
removed after retrieval.expire_after_hours (a new request extends it), state expired.
Exit code 1 when a fetch failed or a requested file is in no verified archive.
Settings: retrieval (area, expire_after_hours, poll_seconds, poll_max_seconds), the S3 archive
target's restore_tier and restore_days, pool archive.read.
See docs/configuration.md ("retrieval").`,
    )
    .action(async (files: string[], opts: Opts, cmd: Command) => run(files, opts, cmd));
}
