/**
 * `sluice datasets create|add|show|list|export` (the catalog, issue #22): named collections of samples
 * and raw data, exported as an RO-Crate (zip with the files read from their verified backups, or the
 * metadata alone).
 */
import type { Command } from 'commander';
import { actor, withContext } from './context.ts';
import { bytes, printJson, printTable } from './output.ts';

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerDatasetCommands(program: Command): void {
  const datasets = program
    .command('datasets')
    .description('catalog data sets: named collections of samples and raw data, RO-Crate export');
  datasets
    .command('create <name>')
    .description('create an empty data set')
    .option('--description <text>', 'what it is (a study, a submission)')
    .option('--project <id>', 'the project it belongs to (its visibility applies)')
    .action(async (name: string, opts: { description?: string; project?: string }, cmd: Command) => {
      await withContext(cmd, async ({ db }) => {
        const { createDataset } = await import('../catalog/datasets.ts');
        const d = await db.tx((tx) =>
          createDataset(tx, { name, description: opts.description, project: opts.project }, actor()),
        );
        process.stdout.write(`data set ${d.name} created (id ${d.id})\n`);
      });
    });
  datasets
    .command('add <name>')
    .description('add samples (--sample, repeatable) and raw data files (--file, repeatable) to a data set')
    .option('--sample <refcode>', 'a sample', collect, [])
    .option('--file <id>', 'a raw data file', collect, [])
    .action(async (name: string, opts: { sample: string[]; file: string[] }, cmd: Command) => {
      await withContext(cmd, async ({ db }) => {
        const { addToDataset, requireDataset } = await import('../catalog/datasets.ts');
        const n = await db.tx(async (tx) =>
          addToDataset(
            tx,
            await requireDataset(tx, name),
            { samples: opts.sample, files: opts.file },
            actor(),
          ),
        );
        process.stdout.write(`${n} added to ${name}\n`);
      });
    });
  datasets
    .command('list')
    .description('data sets')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async ({ db }) => {
        const { listDatasets } = await import('../catalog/datasets.ts');
        const rows = await listDatasets(db, []);
        if (opts.json) return printJson(rows);
        printTable(
          rows.map((d) => ({
            id: d.id,
            name: d.name,
            project: d.project_id ?? '-',
            description: d.description,
          })),
        );
      });
    });
  registerDatasetReads(datasets);
}

/** `datasets show` and `datasets export`. */
function registerDatasetReads(datasets: Command): void {
  datasets
    .command('show <name>')
    .description('a data set: its samples and raw data (its own files and those that measured its samples)')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async ({ db }) => {
        const { datasetContents, requireDataset } = await import('../catalog/datasets.ts');
        const c = await datasetContents(db, await requireDataset(db, name), []);
        if (opts.json) return printJson({ ...c, measured: Object.fromEntries(c.measured) });
        process.stdout.write(
          `${c.dataset.name} (id ${c.dataset.id}) ${c.dataset.description}\n\nsamples (${c.samples.length}):\n`,
        );
        for (const s of c.samples) process.stdout.write(`  ${s.refcode}  ${s.name}\n`);
        process.stdout.write(`\nraw data (${c.files.length}):\n`);
        for (const f of c.files)
          process.stdout.write(`  ${f.id}  ${f.status}  ${bytes(Number(f.size_bytes))}\n`);
      });
    });
  datasets
    .command('export <name>')
    .description(
      'export as an RO-Crate: a zip with ro-crate-metadata.json and the files (from their verified backups)',
    )
    .requiredOption('-o, --output <path>', 'the zip (or JSON with --metadata-only) to write')
    .option('--metadata-only', 'write ro-crate-metadata.json alone (files still read for their sha256)')
    .action(async (name: string, opts: { output: string; metadataOnly?: boolean }, cmd: Command) => {
      await withContext(cmd, async ({ db }) => {
        const { datasetContents, requireDataset } = await import('../catalog/datasets.ts');
        const { exportDataset } = await import('../catalog/export.ts');
        const c = await datasetContents(db, await requireDataset(db, name), []);
        const r = await exportDataset(db, c, opts.output, opts.metadataOnly ? 'metadata' : 'zip');
        process.stdout.write(`${r.path}: ${r.files} files, ${bytes(r.bytes)}, ${c.samples.length} samples\n`);
      });
    });
}
