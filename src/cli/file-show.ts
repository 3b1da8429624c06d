/**
 * `sluice files show` as text: a file's record, its copies, its jobs (with the last log tail), its
 * metrics and its timeline, one section each. Names are printed escaped for a terminal.
 */
import { visibleText as safe, visibleLines } from '../core/visible.ts';
import { copyStateText, type FileDetail } from '../views/file-detail.ts';
import { bytes, printTable } from './output.ts';

const out = process.stdout;

function printRecord(f: FileDetail['file']): void {
  out.write(`${safe(f.id)}\n`);
  out.write(`  status          ${f.status}${f.status_reason ? ` — ${safe(f.status_reason)}` : ''}\n`);
  out.write(`  instrument      ${f.instrument_id}   project ${f.project_id}\n`);
  out.write(
    `  raw data        ${f.kind} ${safe(f.source_path)}${f.companions.length ? ` (+ ${safe(f.companions.join(', '))})` : ''}\n`,
  );
  out.write(`  size            ${bytes(Number(f.size_bytes))}   modified ${f.mtime.toISOString()}\n`);
  out.write(
    `  instrument copy ${f.instrument_copy}${f.current_path && f.current_path !== f.source_path ? ` at ${safe(f.current_path)}` : ''}\n`,
  );
}

function printCopies(copies: FileDetail['copies']): void {
  out.write('\nCOPIES\n');
  printTable(
    copies.map((c) => ({
      target: c.target,
      state: copyStateText(c),
      location: c.location,
      files: c.manifest.entries.length,
      hash:
        c.manifest.entries.length === 1
          ? `${c.hash_algorithm}:${c.manifest.entries[0]!.hash.slice(0, 16)}…`
          : c.hash_algorithm,
      verified: c.verified_at,
      fixity:
        c.last_fixity_at === null
          ? 'not yet'
          : `${c.last_fixity_ok ? 'ok' : 'MISMATCH'} ${c.last_fixity_at.toISOString()}`,
    })),
    '(no copies yet)',
  );
}

function printJobs(jobs: FileDetail['jobs']): void {
  if (jobs.length > 0) {
    out.write('\nJOBS\n');
    printTable(
      jobs.map((j) => ({
        id: j.id,
        settings: `${j.settings_name} v${j.settings_version}`,
        job: j.job_id,
        state: j.state,
        exit: j.exit_code,
        elapsed: j.elapsed_s === null ? null : `${Math.round(j.elapsed_s)} s`,
        outcome: j.outcome,
        reason: j.reason,
      })),
    );
    const last = jobs[jobs.length - 1]!;
    if (last.log_tail)
      out.write(
        `\nLOG TAIL (job ${last.job_id})\n${visibleLines(last.log_tail.split('\n').slice(-15).join('\n'))}\n`,
      );
  }
}

function printMetrics(metrics: FileDetail['metrics']): void {
  if (metrics.length > 0) {
    out.write('\nMETRICS\n');
    printTable(
      metrics.map((m) => ({
        settings: `${m.settings_name} v${m.settings_version}`,
        metric: m.name,
        value: m.value,
        unit: m.unit ?? '',
      })),
    );
  }
}

function printTimeline(events: FileDetail['events']): void {
  out.write('\nTIMELINE\n');
  printTable(
    events.map((e) => ({
      at: e.at,
      by: e.actor,
      change: e.to_state ? `${e.from_state ?? '∅'} → ${e.to_state}` : 'note',
      why: e.reason,
    })),
  );
}

export function printFileDetail(d: FileDetail): void {
  printRecord(d.file);
  printCopies(d.copies);
  printJobs(d.jobs);
  printMetrics(d.metrics);
  printTimeline(d.events);
}
