/**
 * The QC digest (pure): per instrument, the runs a files selection holds and, among their metric
 * values, the outliers against the values recorded before each (Levey-Jennings, src/metrics/qc.ts),
 * and the message the notifiers get. The reaction task reads the points; this decides.
 */
import { outliers } from '../metrics/qc.ts';
import type { Notice, SelectedFile } from './reactions.ts';

export interface QcPoint {
  instrument_id: string;
  name: string;
  file_id: string;
  t: number;
  value: number | null;
}

export interface QcOutlier {
  file: string;
  file_name: string;
  metric: string;
  value: number;
  mean: number;
  sd: number;
  z: number;
}

export interface QcDigest {
  instruments: { instrument: string; runs: number; with_metrics: number; outliers: QcOutlier[] }[];
}

/**
 * The digest of `files` (the selection) given every point of the lookback period: a point of a
 * selected file is judged against the `window` values of the same instrument and metric before it.
 */
export function qcDigest(
  files: readonly SelectedFile[],
  points: readonly QcPoint[],
  opts: { k: number; window: number },
): QcDigest {
  const selected = new Map(files.map((f) => [f.id, f]));
  const series = new Map<string, QcPoint[]>();
  for (const p of points) {
    const key = `${p.instrument_id}\u0000${p.name}`;
    const list = series.get(key) ?? [];
    list.push(p);
    series.set(key, list);
  }
  const found = new Map<string, QcOutlier[]>();
  for (const list of series.values()) {
    const byT = new Map(list.map((p) => [p.t, p]));
    const minPoints = Math.min(5, opts.window);
    for (const o of outliers(
      list.map((p) => ({ t: p.t, v: p.value })),
      opts.k,
      { window: opts.window, minPoints },
    )) {
      const p = byT.get(o.t);
      const f = p && selected.get(p.file_id);
      if (!p || !f) continue;
      const out = found.get(f.instrument) ?? [];
      out.push({ file: f.id, file_name: f.name, metric: p.name, value: o.v, mean: o.mean, sd: o.sd, z: o.z });
      found.set(f.instrument, out);
    }
  }
  const withMetrics = new Set(points.map((p) => p.file_id));
  const instruments = [...new Set(files.map((f) => f.instrument))].sort().map((instrument) => {
    const mine = files.filter((f) => f.instrument === instrument);
    return {
      instrument,
      runs: mine.length,
      with_metrics: mine.filter((f) => withMetrics.has(f.id)).length,
      outliers: found.get(instrument) ?? [],
    };
  });
  return { instruments };
}

const round = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(4)) : x);

/** One message per instrument: its runs of the window and their outliers. */
export function qcNotices(reaction: string, d: QcDigest, window: { from: string; to: string }): Notice[] {
  return d.instruments.map((i) => {
    const lines = i.outliers.map(
      (o) =>
        `${o.file_name}: ${o.metric} = ${round(o.value)} (mean ${round(o.mean)}, sd ${round(o.sd)}, z ${round(o.z)})`,
    );
    return {
      subject: `${reaction}:${i.instrument}`,
      severity: 'warning',
      title: `QC ${i.instrument}: ${i.runs} run${i.runs === 1 ? '' : 's'}, ${i.outliers.length} outlier${i.outliers.length === 1 ? '' : 's'}`,
      text: [
        `${window.from} – ${window.to}: ${i.runs} runs, ${i.with_metrics} with metrics.`,
        ...(lines.length > 0 ? lines : ['No outliers.']),
      ].join('\n'),
    };
  });
}
