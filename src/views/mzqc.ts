/**
 * The mzQC export's reads (`sluice qc export`, `GET /api/qc/mzqc`): the chosen files' metrics
 * (metrics store), their records and verified backup copies (files repo) and the software of the
 * settings that computed them (process settings), handed to the pure builder `metrics/mzqc.ts`.
 */
import type { Queryable } from '../core/db/db.ts';
import { VERSION } from '../core/version.ts';
import { filesByIds, verifiedCopy } from '../files/repo.ts';
import { buildMzqc, type MzqcExport, type MzqcRun } from '../metrics/mzqc.ts';
import { metricsForExport } from '../metrics/store.ts';
import { settingsSoftware } from '../process/settings.ts';

/** At most this many files in one export (the newest when more match). */
export const MZQC_MAX_FILES = 2000;

export interface MzqcSelection {
  files?: readonly string[];
  instrument?: string;
  from?: Date;
  to?: Date;
  /** Project ids hidden from the caller (`catalog.project_visibility`): their files are left out. */
  hidden?: readonly string[];
}

export interface MzqcAnswer extends MzqcExport {
  /** More files matched than one export holds (the newest `MZQC_MAX_FILES` are in it). */
  truncated: boolean;
}

export async function exportMzqc(q: Queryable, sel: MzqcSelection, now = new Date()): Promise<MzqcAnswer> {
  const { rows, truncated } = await metricsForExport(q, { ...sel, maxFiles: MZQC_MAX_FILES });
  const byRun = new Map<
    string,
    { fileId: string; name: string; version: number; metrics: MzqcRun['metrics'] }
  >();
  for (const r of rows) {
    const key = `${r.file_id}\u0000${r.settings_name}`;
    let run = byRun.get(key);
    if (!run) {
      run = { fileId: r.file_id, name: r.settings_name, version: r.settings_version, metrics: [] };
      byRun.set(key, run);
    }
    run.metrics.push({ name: r.name, value: r.value === null ? null : Number(r.value) });
  }
  const runs = [...byRun.values()];
  const files = new Map((await filesByIds(q, [...new Set(runs.map((r) => r.fileId))])).map((f) => [f.id, f]));
  const software = await settingsSoftware(q, runs);
  const out: MzqcRun[] = [];
  for (const run of runs) {
    const file = files.get(run.fileId);
    if (!file || sel.hidden?.includes(file.project_id)) continue;
    const backup = await verifiedCopy(q, file.id);
    const sw = software.get(`${run.name}@${run.version}`);
    const manifest = file.manifest;
    out.push({
      fileId: file.id,
      name: file.name,
      location: backup?.location ?? file.source_path,
      kind: file.kind,
      members: manifest?.entries.map((e) => e.rel) ?? [],
      sha256:
        file.kind === 'file' && manifest?.algorithm === 'sha256' && manifest.entries[0]?.hash
          ? manifest.entries[0].hash
          : null,
      acquiredAt: file.acquired_at,
      settings: {
        name: run.name,
        version: run.version,
        software: sw?.software ?? run.name,
        softwareVersion: sw?.software_version ?? 'unknown',
      },
      metrics: run.metrics,
    });
  }
  return { ...buildMzqc(out, { now, producer: `Sluice ${VERSION}` }), truncated };
}
