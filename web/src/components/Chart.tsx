/**
 * A uPlot chart that fills its container's width and follows it (ResizeObserver). uPlot draws
 * on a canvas: `label` describes the chart for screen readers, and each page shows the numbers
 * that matter (outliers, totals) as text beside it.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export const PALETTE = ['#1f6fb2', '#d9730d', '#2e8540', '#8e44ad', '#c0392b', '#16a085', '#7f8c8d'];

export function Chart({
  options,
  data,
  height = 240,
  label,
}: {
  options: Omit<uPlot.Options, 'width' | 'height'>;
  data: uPlot.AlignedData;
  height?: number;
  label: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  // a new chart when the series change; new data alone is only set
  // biome-ignore lint/correctness/useExhaustiveDependencies: data is applied by the effect below
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const u = new uPlot({ ...options, width: Math.max(200, el.clientWidth), height }, data, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [options, height]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return <div ref={box} className="chart" role="img" aria-label={label} />;
}

/** Axis values as the page formats them (sizes, counts). */
export function axis(format: (v: number) => string, label?: string): uPlot.Axis {
  return { label, values: (_u, splits) => splits.map(format), size: 60 };
}
