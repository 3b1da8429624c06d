/**
 * One error type for everything a person may have to act on.
 *
 * - `code`: stable machine-readable identifier (`config.invalid`, `db.port_busy`, ...).
 * - `message`: what happened, naming the file / field / argument involved.
 * - `hint`: what to do about it.
 * - `exitCode`: the CLI exit status (2 for usage and configuration errors).
 * - `status`: the HTTP status when this reaches the API.
 *
 * Faults worth retrying (network blips, busy resources) are plain errors or `TransientError`;
 * `PermanentError` tells the engine that retrying will not help.
 */
export class SluiceError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;
  readonly status: number;

  constructor(
    code: string,
    message: string,
    opts: { hint?: string; cause?: unknown; exitCode?: number; status?: number } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? 1;
    this.status = opts.status ?? 500;
  }
}

/** Bad command-line usage: exit code 2. */
export class UsageError extends SluiceError {
  constructor(message: string, hint?: string) {
    super('usage', message, { hint, exitCode: 2, status: 400 });
    this.name = 'UsageError';
  }
}

/** An invalid configuration: exit code 2. */
export class ConfigError extends SluiceError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super('config.invalid', message, { hint, cause, exitCode: 2, status: 500 });
    this.name = 'ConfigError';
  }
}

/** A task failure that retrying cannot fix; the engine stops retrying and records the reason. */
export class PermanentError extends SluiceError {
  constructor(code: string, message: string, hint?: string, cause?: unknown) {
    super(code, message, { hint, cause });
    this.name = 'PermanentError';
  }
}

/** Raised when a worker finds that its lease was taken over (fencing token mismatch). */
export class LeaseLostError extends Error {
  constructor(taskId: string | number) {
    super(`lease on task ${taskId} was lost; another worker owns it now`);
    this.name = 'LeaseLostError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Render an error for a person: message, then the hint on its own line. */
export function formatError(err: unknown): string {
  if (err instanceof SluiceError) {
    return err.hint ? `${err.message}\n  hint: ${err.hint}` : err.message;
  }
  return errorMessage(err);
}
