/**
 * The sample-sheet import form (operators): a CSV or XLSX file is read in the browser, sent for a dry
 * run first, the per-row report shown (created / updated / unchanged / rejected with reasons), and only
 * then imported. A sheet with rejected rows writes nothing unless "skip rejected" is ticked.
 */
import { useState } from 'react';
import { request } from '../../api/client.ts';
import { useAction } from '../../lib/mutation.ts';
import type { ApiImportReport } from './types.ts';

async function base64Of(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function ReportTable({ report }: { report: ApiImportReport }) {
  const rows = [
    ...report.created.map((r) => ({ row: r.row, refcode: r.refcode, what: 'created', detail: '' })),
    ...report.updated.map((r) => ({
      row: r.row,
      refcode: r.refcode,
      what: 'updated',
      detail: r.changed.join(', '),
    })),
    ...report.unchanged.map((r) => ({ row: r.row, refcode: r.refcode, what: 'unchanged', detail: '' })),
    ...report.rejected.map((r) => ({
      row: r.row,
      refcode: r.refcode ?? '—',
      what: 'rejected',
      detail: r.reasons.join('; '),
    })),
  ].sort((a, b) => a.row - b.row);
  return (
    <table aria-label="Import report">
      <thead>
        <tr>
          <th scope="col">Row</th>
          <th scope="col">Refcode</th>
          <th scope="col">Result</th>
          <th scope="col">Detail</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.row} className={r.what === 'rejected' ? 'bad' : undefined}>
            <td className="num">{r.row}</td>
            <td>{r.refcode}</td>
            <td>{r.what}</td>
            <td>{r.detail}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function ImportForm() {
  const [file, setFile] = useState<File | null>(null);
  const [skipRejected, setSkipRejected] = useState(false);
  const [report, setReport] = useState<ApiImportReport | null>(null);
  const run = useAction(
    async (dryRun: boolean) => {
      if (!file) throw new Error('choose a sheet first');
      const format = /\.xlsx$/i.test(file.name) ? 'xlsx' : 'csv';
      return request<ApiImportReport>('POST', '/api/samples/import', {
        format,
        content_base64: await base64Of(file),
        dry_run: dryRun,
        skip_rejected: skipRejected,
      });
    },
    [['samples'], ['projects']],
  );
  const submit = (dryRun: boolean) => run.mutate(dryRun, { onSuccess: (r) => setReport(r) });
  return (
    <section aria-labelledby="import-h">
      <h2 id="import-h">Import a sample sheet</h2>
      <p className="muted">CSV or XLSX; columns refcode, name, project, type (optional), then attributes.</p>
      <label>
        Sheet{' '}
        <input
          type="file"
          accept=".csv,.xlsx"
          onChange={(e) => {
            setFile(e.target.files?.[0] ?? null);
            setReport(null);
          }}
        />
      </label>{' '}
      <label>
        <input type="checkbox" checked={skipRejected} onChange={(e) => setSkipRejected(e.target.checked)} />{' '}
        skip rejected rows
      </label>
      <p>
        <button type="button" disabled={!file || run.isPending} onClick={() => submit(true)}>
          Check (dry run)
        </button>{' '}
        <button
          type="button"
          disabled={!file || !report?.dryRun || run.isPending}
          onClick={() => submit(false)}
        >
          Import
        </button>
      </p>
      {run.isError && <p role="alert">{(run.error as Error).message}</p>}
      {report && (
        <div role="status">
          <p>
            {report.dryRun ? 'Dry run: ' : ''}
            {report.created.length} created, {report.updated.length} updated, {report.unchanged.length}{' '}
            unchanged, {report.rejected.length} rejected — {report.written ? 'written' : 'nothing written'}
            {report.linked ? `; ${report.linked} earlier file(s) linked` : ''}
            {report.indexing ? '; search index updating (exact refcodes are found at once)' : ''}
          </p>
          <ReportTable report={report} />
        </div>
      )}
    </section>
  );
}
