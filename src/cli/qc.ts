/**
 * `sluice qc export`: the QC metrics of files, of an instrument or of a date range as an mzQC
 * document (HUPO-PSI, schema 1.0.0) on stdout or into a file. Metrics without a PSI-MS term are left
 * out and named on stderr (docs/qc.md lists the mapped ones).
 */
import { rename, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseIsoDate } from '../core/dates.ts';
import { UsageError } from '../core/errors.ts';
import { withContext } from './context.ts';
import { resolveFileId } from './names.ts';

interface ExportOpts {
  instrument?: string;
  from?: string;
  to?: string;
  output?: string;
}

function dateOption(name: string, raw: string | undefined): Date | undefined {
  if (raw === undefined) return undefined;
  const d = parseIsoDate(raw.trim());
  if (!d)
    throw new UsageError(
      `--${name}: expected a date (2026-11-01, 2026-11-01T08:00Z), got '${raw}'`,
      'dates are ISO 8601, UTC unless an offset is given',
    );
  return d;
}

export function registerQcCommands(program: Command): void {
  const qc = program.command('qc').description('QC metrics: export as mzQC');
  qc.command('export [files...]')
    .description(
      'the QC metrics of files (ids or names), or of an instrument and/or date range, as an mzQC document (HUPO-PSI 1.0.0)',
    )
    .option('--instrument <id>', 'files of this instrument')
    .option('--from <date>', 'metrics recorded from this time (ISO 8601)')
    .option('--to <date>', 'metrics recorded before this time (ISO 8601)')
    .option('-o, --output <path>', 'write the document here (default: standard output)')
    .addHelpText(
      'after',
      '\nOne runQuality per file and processing settings (newest version). Only metrics with a PSI-MS term are\n' +
        'exported; the others are named on stderr. At most 2000 files (the newest) per document.\n\n' +
        'Examples:\n  sluice qc export 20261201_QC_01.raw -o qc.mzQC\n  sluice qc export --instrument astral1 --from 2026-11-01 --to 2026-12-01 > nov.mzQC\n',
    )
    .action(async (files: string[], opts: ExportOpts, cmd: Command) => {
      const from = dateOption('from', opts.from);
      const to = dateOption('to', opts.to);
      if (files.length === 0 && !opts.instrument && !from)
        throw new UsageError(
          'qc export: choose files, --instrument or --from',
          'e.g. sluice qc export --instrument astral1 --from 2026-11-01',
        );
      if (from && to && from >= to) throw new UsageError('--to: must be later than --from');
      await withContext(cmd, async ({ db }) => {
        const { exportMzqc } = await import('../views/mzqc.ts');
        const ids = await Promise.all(files.map((f) => resolveFileId(db, f)));
        const x = await exportMzqc(db, {
          files: ids.length > 0 ? ids : undefined,
          instrument: opts.instrument,
          from,
          to,
        });
        const text = `${JSON.stringify(x.document, null, 2)}\n`;
        if (opts.output) {
          const tmp = `${opts.output}.partial-${process.pid}`;
          await writeFile(tmp, text);
          await rename(tmp, opts.output);
        } else process.stdout.write(text);
        const runs = x.document.mzQC.runQualities.length;
        const say = (s: string) => process.stderr.write(`${s}\n`);
        say(`${runs} run(s) exported${opts.output ? ` to ${opts.output}` : ''}`);
        if (x.unmapped.length > 0)
          say(`left out (no PSI-MS term): ${x.unmapped.join(', ')} — docs/qc.md lists the mapped metrics`);
        if (x.truncated) say('more files matched than one document holds: the newest 2000 are in it');
      });
    });
}
