/**
 * `sluice projects`, `sluice samples` and `sluice search` (the catalog, issue #22): projects and their
 * members, samples imported from CSV/XLSX (an upsert by refcode with a per-row report), listed, shown
 * with their raw data and history, linked to files by hand; one search box. The CLI acts with full
 * rights (as the database's owner); the API applies roles and visibility.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Viewer } from '../catalog/projects.ts';
import { UsageError } from '../core/errors.ts';
import { actor, withContext } from './context.ts';
import { printJson, printTable } from './output.ts';

const ADMIN = (): Viewer => ({ user: actor(), role: 'admin' });

function limitOf(s: string | undefined, dflt: number): number {
  const n = s === undefined ? dflt : Number(s);
  if (!Number.isInteger(n) || n < 1 || n > 100_000)
    throw new UsageError(`--limit: expected a whole number from 1 to 100000, found '${s}'`);
  return n;
}

function registerProjects(program: Command): void {
  const projects = program
    .command('projects')
    .description('catalog projects (from the config, or added) and their members');
  projects
    .command('list')
    .description('projects with their visibility and members')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async ({ db, config }) => {
        const { listProjects, syncProjects } = await import('../catalog/projects.ts');
        await syncProjects(db, config);
        const rows = await listProjects(db);
        if (opts.json) return printJson(rows);
        printTable(
          rows.map((p) => ({
            id: p.id,
            name: p.name,
            from: p.in_config ? 'config' : 'added',
            visibility: p.visibility,
            members: p.members.join(' ') || '-',
          })),
        );
      });
    });
  projects
    .command('add <id>')
    .description('add a project that is not in the config')
    .option('--name <name>', 'display name (default: the id)')
    .option('--members-only', 'only its members (and admins) see its samples, files and metrics')
    .action(async (id: string, opts: { name?: string; membersOnly?: boolean }, cmd: Command) => {
      await withContext(cmd, async ({ db }) => {
        const { addProject } = await import('../catalog/projects.ts');
        await db.tx((tx) =>
          addProject(tx, { id, name: opts.name, visibility: opts.membersOnly ? 'members' : 'all' }, actor()),
        );
        process.stdout.write(`project ${id} added\n`);
      });
    });
  for (const [verb, what] of [
    ['add-member', 'add a user (by name) to a project'],
    ['remove-member', 'remove a user from a project'],
  ] as const) {
    projects
      .command(`${verb} <project> <user>`)
      .description(what)
      .action(async (project: string, user: string, _o: unknown, cmd: Command) => {
        await withContext(cmd, async ({ db }) => {
          const p = await import('../catalog/projects.ts');
          await db.tx((tx) =>
            (verb === 'add-member' ? p.addMember : p.removeMember)(tx, project, user, actor()),
          );
          process.stdout.write(
            `${verb === 'add-member' ? 'added' : 'removed'}: ${user} ${verb === 'add-member' ? 'to' : 'from'} ${project}\n`,
          );
        });
      });
  }
}

function printReport(r: import('../catalog/import.ts').ImportReport): void {
  const verb = r.dryRun ? 'would be ' : '';
  process.stdout.write(
    `${r.created.length} ${verb}created, ${r.updated.length} ${verb}updated, ${r.unchanged.length} unchanged, ${r.rejected.length} rejected\n`,
  );
  for (const u of r.updated.slice(0, 50))
    process.stdout.write(`  row ${u.row} ${u.refcode}: ${u.changed.join(', ')}\n`);
  for (const x of r.rejected)
    process.stdout.write(`  row ${x.row}${x.refcode ? ` ${x.refcode}` : ''}: ${x.reasons.join('; ')}\n`);
  if (r.indexing)
    process.stdout.write(
      'search index updating: words, prefixes and substrings find these samples once the catalog.index task has run (`sluice status`); exact refcodes at once\n',
    );
  if (r.dryRun) process.stdout.write('dry run: nothing written\n');
  else if (!r.written)
    process.stdout.write(
      'nothing written: fix the rejected rows, or import the others with --skip-rejected\n',
    );
}

/** `samples import`: the sheet is read before the database is opened (a bad path fails fast). */
function registerImport(samples: Command): void {
  samples
    .command('import <sheet>')
    .description(
      'import a CSV or XLSX sheet as an upsert by refcode (columns refcode, name, project, type, then attributes); all rows or none',
    )
    .option('--format <format>', 'csv or xlsx (default: from the file name)')
    .option('--sheet <name>', 'XLSX: the worksheet (default: the first)')
    .option('--dry-run', 'report what would happen, write nothing')
    .option('--skip-rejected', 'write the valid rows even when others are rejected')
    .option('--json', 'machine-readable report')
    .action(
      async (
        file: string,
        opts: { format?: string; sheet?: string; dryRun?: boolean; skipRejected?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const { formatOf, importSamples } = await import('../catalog/import.ts');
        if (opts.format !== undefined && opts.format !== 'csv' && opts.format !== 'xlsx') {
          throw new UsageError(`--format: expected csv or xlsx, found '${opts.format}'`);
        }
        const format = (opts.format as 'csv' | 'xlsx' | undefined) ?? formatOf(file);
        const buf = await readFile(file).catch((err: NodeJS.ErrnoException) => {
          throw new UsageError(`cannot read ${file}: ${err.code ?? err.message}`);
        });
        await withContext(cmd, async ({ db, config }) => {
          const { syncProjects } = await import('../catalog/projects.ts');
          await syncProjects(db, config);
          const r = await importSamples(db, config.catalog, buf, {
            format,
            sheetName: opts.sheet,
            dryRun: opts.dryRun,
            skipRejected: opts.skipRejected,
            actor: actor(),
            viewer: ADMIN(),
          });
          const { relink } = await import('../catalog/relink.ts');
          const linked = r.written
            ? await relink(db, config.catalog, { refcodes: r.created.map((c) => c.refcode) })
            : 0;
          if (opts.json) printJson({ ...r, linked });
          else {
            printReport(r);
            if (linked > 0) process.stdout.write(`linked ${linked} earlier file(s) to the new samples\n`);
          }
          if (r.rejected.length > 0) process.exitCode = 1;
        });
      },
    );
}

function registerSampleCommands(program: Command): void {
  const samples = program
    .command('samples')
    .description('catalog samples: import from CSV/XLSX, list, show, link to raw data');
  registerImport(samples);
  registerRelink(samples);
  samples
    .command('list')
    .description('samples in refcode order')
    .option('--project <id>', 'only this project')
    .option('--type <type>', 'only this type')
    .option('--limit <n>', 'at most this many (default 100)')
    .option('--csv', 'CSV: refcode, name, project, type and every attribute')
    .option('--json', 'machine-readable output')
    .action(
      async (
        opts: { project?: string; type?: string; limit?: string; csv?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const limit = limitOf(opts.limit, 100);
        await withContext(cmd, async ({ db }) => {
          const { listSamples, samplesCsv } = await import('../catalog/samples.ts');
          const rows = await listSamples(db, { project: opts.project, type: opts.type, hidden: [], limit });
          if (opts.csv) return void process.stdout.write(samplesCsv(rows));
          if (opts.json) return printJson(rows);
          printTable(
            rows.map((s) => ({
              refcode: s.refcode,
              name: s.name,
              project: s.project_id,
              type: s.type ?? '-',
              attributes: Object.keys(s.attributes).length,
            })),
          );
        });
      },
    );
  samples
    .command('show <refcode>')
    .description('a sample: its attributes, the raw data that measured it, its relations and history')
    .option('--json', 'machine-readable output')
    .action(async (refcode: string, opts: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async ({ db }) => {
        const { sampleDetail } = await import('../catalog/detail.ts');
        const d = await sampleDetail(db, refcode, []);
        if (opts.json) return printJson(d);
        const s = d.sample;
        process.stdout.write(`${s.refcode}  ${s.name}\nproject ${s.project_id}, type ${s.type ?? '-'}\n`);
        for (const [k, v] of Object.entries(s.attributes))
          process.stdout.write(`  ${k}: ${JSON.stringify(v)}\n`);
        process.stdout.write(`\nraw data (${d.files.length}):\n`);
        for (const f of d.files)
          process.stdout.write(
            `  ${f.id}  ${f.status}  jobs: ${f.jobs.map((j) => `${j.settings_name} v${j.settings_version} ${j.state}`).join(', ') || '-'}\n`,
          );
        process.stdout.write('\nrelations:\n');
        for (const e of d.relations)
          process.stdout.write(
            `  ${e.subject_kind}:${e.subject_id} ${e.relation} ${e.object_kind}:${e.object_id} (${e.via})\n`,
          );
        process.stdout.write('\nhistory:\n');
        for (const h of d.history) process.stdout.write(`  ${h.at.toISOString()} ${h.actor} ${h.action}\n`);
      });
    });
  samples
    .command('link <file-id> <refcode>')
    .description('link a raw data file to a sample by hand (file measured sample)')
    .action(async (fileId: string, refcode: string, _o: unknown, cmd: Command) => {
      await withContext(cmd, async ({ db }) => {
        const { linkByHand } = await import('../catalog/links.ts');
        const added = await db.tx((tx) => linkByHand(tx, fileId, refcode, actor()));
        process.stdout.write(
          added
            ? `linked: ${fileId} measured ${refcode}\n`
            : `already linked: ${fileId} measured ${refcode}\n`,
        );
      });
    });
}

/** `samples relink`: files acquired before their sample existed, linked by the patterns now. */
function registerRelink(samples: Command): void {
  samples
    .command('relink')
    .description(
      'link files acquired before their sample existed, by catalog.link_patterns (idempotent; prints the count added)',
    )
    .option('--project <id>', "only links to this project's samples")
    .action(async (opts: { project?: string }, cmd: Command) => {
      await withContext(cmd, async ({ db, config }) => {
        const { relink } = await import('../catalog/relink.ts');
        if (opts.project !== undefined) {
          const { requireProject } = await import('../catalog/projects.ts');
          await requireProject(db, opts.project);
        }
        if (!config.catalog.link_patterns.length)
          throw new UsageError(
            'no catalog.link_patterns in the config',
            'add a pattern with a (?<sample>…) group',
          );
        const n = await relink(db, config.catalog, { project: opts.project });
        process.stdout.write(`linked ${n} file(s) to samples\n`);
      });
    });
}

export function registerCatalogCommands(program: Command): void {
  registerProjects(program);
  registerSampleCommands(program);
  program
    .command('search <term>')
    .description('search sample refcodes, names and attributes, file names and projects')
    .option('--project <id>', 'only this project')
    .option('--limit <n>', 'at most this many of each (default 20)')
    .option('--json', 'machine-readable output')
    .action(
      async (term: string, opts: { project?: string; limit?: string; json?: boolean }, cmd: Command) => {
        const limit = limitOf(opts.limit, 20);
        await withContext(cmd, async ({ db }) => {
          const { search } = await import('../catalog/search.ts');
          const r = await search(db, term, { hidden: [], project: opts.project, limit });
          if (opts.json) return printJson(r);
          for (const s of r.samples)
            process.stdout.write(`sample   ${s.refcode}  ${s.name}  (${s.project_id})\n`);
          for (const f of r.files) process.stdout.write(`file     ${f.id}  ${f.status}  (${f.project_id})\n`);
          for (const p of r.projects) process.stdout.write(`project  ${p.id}  ${p.name}\n`);
          if (r.samples.length + r.files.length + r.projects.length === 0)
            process.stdout.write('nothing found\n');
        });
      },
    );
}
