#!/usr/bin/env node
// The demo's "analysis software": reads a raw file, takes a few seconds, and writes an AlphaDIA-style
// stat.tsv with plausible, varying QC metrics. About one run in fifteen fails the way real software
// does ("no precursors found"), so the demo shows a known-error classification too.
// usage: processor.mjs --raw PATH --out DIR [--seconds N]
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const args = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) if (argv[i].startsWith('--')) args[argv[i].slice(2)] = argv[i + 1];
if (!args.raw || !args.out) {
  console.error('usage: processor.mjs --raw PATH --out DIR');
  process.exit(2);
}
const st = statSync(args.raw);
const name = basename(args.raw).replace(/\.(raw|d)$/i, '');
// deterministic per file, varied across files
const seed = createHash('sha256')
  .update(name + st.size)
  .digest();
const rnd = (i) => seed[i % seed.length] / 255;
console.log(`demo processor: ${args.raw} (${st.size} bytes)`);
const seconds = Number(args.seconds ?? 2 + rnd(1) * 3);
await new Promise((r) => setTimeout(r, seconds * 1000));
if (rnd(2) < 0.07) {
  console.error('ERROR: no precursors found in the first optimization round');
  process.exit(3);
}
let sample = 0;
if (st.isFile()) {
  const buf = readFileSync(args.raw);
  for (let i = 0; i < buf.length; i += 4096) sample += buf[i];
}
const drift = Math.sin(Date.now() / 3.6e6) * 0.1; // slow drift over hours: something for the QC plots
const precursors = Math.round(70000 * (0.85 + 0.3 * rnd(3) + drift));
const cols = {
  run: name,
  channel: 0,
  precursors,
  proteins: Math.round(precursors / (12 + 2 * rnd(4))),
  fwhm_rt: (2.6 + 0.8 * rnd(5)).toFixed(6),
  fwhm_mobility: -1,
  'optimization.ms2_error': (6 + 3 * rnd(6)).toFixed(6),
  'optimization.ms1_error': 30,
  'optimization.rt_error': (90 + 20 * rnd(7)).toFixed(6),
  'optimization.mobility_error': 0.1,
  'calibration.ms2_median_accuracy': (0.2 + 0.4 * rnd(8) - 0.2).toFixed(6),
  'calibration.ms2_median_precision': (0.5 + 0.4 * rnd(9)).toFixed(6),
  'calibration.ms1_median_accuracy': 'NaN',
  'calibration.ms1_median_precision': 'NaN',
  'raw.gradient_length_m': 21,
  'raw.cycle_number': 800 + (sample % 50),
};
writeFileSync(
  join(args.out, 'stat.tsv'),
  `${Object.keys(cols).join('\t')}\n${Object.values(cols).join('\t')}\n`,
);
console.log(`wrote ${join(args.out, 'stat.tsv')}: ${precursors} precursors`);
