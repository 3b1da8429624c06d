/** One problem in a configuration, and the error that lists all of them. */
import { ConfigError } from '../errors.ts';
import type { Origin } from './source.ts';

export interface ConfigProblem {
  /** file:line:col (or e.g. "environment variable DATABASE_URL"); undefined if unknown. */
  where: string | undefined;
  origin: Origin | undefined;
  /** Dotted field path, e.g. `instruments.astral1.watch`. */
  path: string;
  /** The complete one-line message. */
  message: string;
}

/** A ConfigError listing every problem found (exit code 2); `problems` is for `--json` output. */
export class ConfigInvalidError extends ConfigError {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[], hint: string, max = 20) {
    const lines = problems.slice(0, max).map((p) => p.message);
    if (problems.length > max) lines.push(`... and ${problems.length - max} more problems`);
    const message =
      problems.length === 1
        ? (lines[0] ?? '')
        : `${problems.length} problems in the configuration:\n${lines.join('\n')}`;
    super(message, hint);
    this.problems = problems;
  }
}

export function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => {
    const sa = a.origin?.source ?? '';
    const sb = b.origin?.source ?? '';
    if (sa !== sb) return sa < sb ? -1 : 1;
    return (a.origin?.line ?? 0) - (b.origin?.line ?? 0) || (a.origin?.col ?? 0) - (b.origin?.col ?? 0);
  });
}
