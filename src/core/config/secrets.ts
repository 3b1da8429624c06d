/**
 * Which configuration values are secret, and how to print a configuration without them.
 *
 * Secret: any value read through `${file:...}`, any value under a key matching
 * /password|secret|token|api_key|webhook/i (except `projects.<id>.tokens`, which are file-name
 * tokens), and the password part of any `scheme://user:password@host` URL (e.g. `database.url`).
 */
import type { PathSeg } from './source.ts';
import { formatPath } from './source.ts';

export const SENSITIVE_KEY = /password|secret|token|api_key|webhook/i;
export const REDACTED = '***';

const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^@\s]+)(@)/i;

export function hasUrlPassword(v: unknown): boolean {
  return typeof v === 'string' && URL_PASSWORD.test(v);
}

export function maskUrlPassword(v: string): string {
  return v.replace(URL_PASSWORD, `$1${REDACTED}$3`);
}

/** True when a key on the path makes the value sensitive. */
export function isSensitivePath(path: readonly PropertyKey[]): boolean {
  // alert webhook URLs carry their credential in the URL itself
  if (path[0] === 'alerts' && path[1] === 'notifiers' && path[3] === 'url') return true;
  return path.some((seg, i) => {
    if (typeof seg !== 'string' || !SENSITIVE_KEY.test(seg)) return false;
    // projects.<id>.tokens lists words matched in file names, not credentials
    if (i === 2 && seg === 'tokens' && path[0] === 'projects') return false;
    return true;
  });
}

/** A secret value fit to print: '***', or for a URL under an ordinary key only its password masked. */
export function redactValue(v: unknown, path: readonly PropertyKey[]): unknown {
  if (typeof v === 'string' && hasUrlPassword(v) && !isSensitivePath(path)) return maskUrlPassword(v);
  return REDACTED;
}

/**
 * Dotted paths of every secret leaf in the validated config. `fromFiles` are the paths whose value
 * came through `${file:...}`.
 */
export function collectSecrets(config: unknown, fromFiles: readonly (readonly PathSeg[])[]): string[] {
  const fileKeys = new Set(fromFiles.map((p) => formatPath(p)));
  const out = new Set<string>();
  const walk = (v: unknown, path: PathSeg[], underFile: boolean) => {
    const here = formatPath(path);
    const fromFile = underFile || fileKeys.has(here);
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        walk(item, [...path, i], fromFile);
      });
      return;
    }
    if (typeof v === 'object' && v !== null) {
      for (const [k, child] of Object.entries(v)) walk(child, [...path, k], fromFile);
      return;
    }
    if (v === undefined || v === null || v === '') return;
    if (fromFile || isSensitivePath(path) || hasUrlPassword(v)) out.add(here);
  };
  walk(config, [], false);
  return [...out].sort();
}

/** A deep copy of `config` with every path in `secrets` replaced by '***' (URL passwords only masked). */
export function redact(config: unknown, secrets: readonly string[]): unknown {
  const set = new Set(secrets);
  const walk = (v: unknown, path: PathSeg[]): unknown => {
    if (set.has(formatPath(path)) && path.length > 0) return redactValue(v, path);
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...path, i]));
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, child] of Object.entries(v)) out[k] = walk(child, [...path, k]);
      return out;
    }
    return v;
  };
  return walk(config, []);
}
