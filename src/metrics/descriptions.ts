/**
 * What the metrics of the built-in extractors mean, in a sentence each, for the QC page (a checkbox's
 * tooltip, the chart's subtitle). Metrics from custom extractors or new software versions have no
 * entry and are shown by name alone.
 */

const DESCRIPTIONS: Readonly<Record<string, string>> = {
  // AlphaDIA stat.tsv
  precursors: 'precursors identified at 1% FDR',
  proteins: 'protein groups identified at 1% FDR',
  fwhm_rt: 'median chromatographic peak width (full width at half maximum), retention time',
  fwhm_mobility: 'median peak width in ion mobility',
  'optimization.ms1_error': 'MS1 mass tolerance AlphaDIA settled on',
  'optimization.ms2_error': 'MS2 mass tolerance AlphaDIA settled on',
  'optimization.rt_error': 'retention-time tolerance AlphaDIA settled on',
  'calibration.ms1_median_accuracy': 'median MS1 mass error after calibration',
  'calibration.ms2_median_accuracy': 'median MS2 mass error after calibration',
  'raw.gradient_length_m': 'length of the LC gradient',
  'raw.cycle_duration': 'duration of one DIA cycle',
  // DIA-NN report.stats.tsv
  precursors_identified: 'precursors identified at the run-level q-value threshold',
  proteins_identified: 'protein groups identified',
  total_quantity: 'summed precursor quantity of the run',
  ms1_signal: 'total MS1 signal',
  ms2_signal: 'total MS2 signal',
  fwhm_scans: 'median peak width in scans',
  median_mass_acc_ms1: 'median MS1 mass error before DIA-NN’s correction',
  median_mass_acc_ms1_corrected: 'median MS1 mass error after DIA-NN’s correction',
  median_mass_acc_ms2: 'median MS2 mass error before DIA-NN’s correction',
  median_mass_acc_ms2_corrected: 'median MS2 mass error after DIA-NN’s correction',
  normalisation_instability: 'how much the normalisation factor varies along the gradient',
  median_rt_prediction_acc: 'median error of the predicted retention times',
  average_missed_tryptic_cleavages: 'average missed tryptic cleavages per peptide',
  // MSQC
  ms1_median_injection_time: 'median MS1 ion injection time',
  ms2_median_injection_time: 'median MS2 ion injection time',
  ms1_median_tic: 'median MS1 total ion current',
  ms2_median_tic: 'median MS2 total ion current',
  ms1_scans: 'number of MS1 scans',
  ms2_scans: 'number of MS2 scans',
  evosep_pump_hp_pressure_max: 'highest Evosep high-pressure pump reading during the run',
};

/** The description of a built-in metric, or null when Sluice does not know the name. */
export function metricDescription(name: string): string | null {
  return Object.hasOwn(DESCRIPTIONS, name) ? DESCRIPTIONS[name]! : null;
}
