/**
 * `${...}` interpolation in string values, after the overlay merge.
 *
 * - `${VAR}`            value of environment variable VAR (error when unset)
 * - `${VAR:-default}`   VAR when set and non-empty, else `default`
 * - `${file:/abs/path}` contents of a secret file, trailing newlines trimmed; the file must exist and must
 *                       not be readable by others (mode & 0o004); relative paths are resolved against
 *                       the config file's directory. The field is then treated as a secret.
 * - `$${`               a literal `${`
 *
 * An unquoted value that is exactly one `${...}` (e.g. `port: ${PORT:-8080}`) is re-typed after
 * substitution, so numbers and true/false arrive as numbers and booleans.
 */
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import {
  firstInvalidUtf8,
  formatBytes,
  MAX_INTERPOLATED_CHARS,
  MAX_SECRET_BYTES,
  readAtMost,
} from './limits.ts';
import { ConfigInvalidError, type ConfigProblem, sortProblems } from './problems.ts';
import type { MapEntry, Origin, PathSeg, SNode } from './source.ts';
import { formatOrigin, formatPath } from './source.ts';

export interface InterpolationProblem {
  origin: Origin;
  path: PathSeg[];
  message: string;
  hint: string;
}

export interface InterpolateContext {
  environ: NodeJS.ProcessEnv;
  /** Directory for relative `${file:...}` paths. */
  baseDir: string;
  problems: InterpolationProblem[];
  /**
   * Each secret file is read once per load: 34,000 references to one 64 KiB file took 111 s and
   * 2.5 GB when each read made its own copy.
   */
  secretReads?: Map<string, SecretRead>;
}

type SecretRead = { value: string } | { error: string; hint: string };

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function interpolateTree(
  node: SNode | null,
  ctx: InterpolateContext,
  path: PathSeg[] = [],
): SNode | null {
  if (node === null) return null;
  switch (node.kind) {
    case 'scalar': {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return node;
      const r = interpolateString(node.value, node.origin, path, ctx);
      if (r === undefined) return node;
      let value: unknown = r.value;
      if (node.plain && r.whole) value = retype(r.value);
      return { ...node, value, secret: node.secret || r.secret };
    }
    case 'seq':
      return {
        ...node,
        items: node.items.map((item, i) => interpolateTree(item, ctx, [...path, i]) as SNode),
      };
    case 'map': {
      const entries = new Map<string, MapEntry>();
      for (const [k, e] of node.entries) {
        entries.set(k, { keyOrigin: e.keyOrigin, node: interpolateTree(e.node, ctx, [...path, k]) as SNode });
      }
      return { ...node, entries };
    }
  }
}

function retype(s: string): unknown {
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return Number(s);
  if (s === 'true') return true;
  if (s === 'false') return false;
  return s;
}

/**
 * The text of one `${expr}` (without `${` and `}`): a secret file's content (`secret`), an
 * environment variable, or its default. A problem is reported through `fail` and adds no text.
 */
function expandExpression(
  expr: string,
  ctx: InterpolateContext,
  fail: (message: string, hint: string) => void,
): { text: string; secret: boolean } {
  if (expr.startsWith('file:')) {
    const file = expr.slice(5);
    ctx.secretReads ??= new Map();
    const cache = ctx.secretReads;
    const r = cache.get(file) ?? readSecretFile(file, ctx.baseDir);
    cache.set(file, r);
    if ('error' in r) {
      fail(r.error, r.hint);
      return { text: '', secret: true };
    }
    return { text: r.value, secret: true };
  }
  const sep = expr.indexOf(':-');
  const name = sep < 0 ? expr : expr.slice(0, sep);
  if (!VAR_NAME.test(name)) {
    fail(
      `invalid interpolation '\${${expr}}': expected \${VAR}, \${VAR:-default} or \${file:/path}, found '${name}' as the variable name`,
      'variable names are letters, digits and _ (not starting with a digit); write $${ for a literal ${',
    );
    return { text: '', secret: false };
  }
  const v = ctx.environ[name];
  if (sep >= 0) return { text: v === undefined || v === '' ? expr.slice(sep + 2) : v, secret: false };
  if (v === undefined) {
    fail(
      `environment variable ${name} is not set (used as \${${name}})`,
      `set ${name} or use \${${name}:-default}`,
    );
    return { text: '', secret: false };
  }
  return { text: v, secret: false };
}

/** Returns undefined when the string contains no interpolation at all. */
export function interpolateString(
  text: string,
  origin: Origin,
  path: PathSeg[],
  ctx: InterpolateContext,
): { value: string; secret: boolean; whole: boolean } | undefined {
  let out = '';
  let i = 0;
  let secret = false;
  let expressions = 0;
  let touched = false;
  const fail = (message: string, hint: string) => {
    ctx.problems.push({
      origin,
      path,
      message: `${formatOrigin(origin)}: ${formatPath(path)}: ${message}`,
      hint,
    });
  };
  const tooLong = () => {
    if (out.length <= MAX_INTERPOLATED_CHARS) return false;
    fail(
      `the value is longer than ${formatBytes(MAX_INTERPOLATED_CHARS)} after interpolation`,
      `use fewer or shorter \${...} in it`,
    );
    return true;
  };
  while (i < text.length) {
    if (tooLong()) return { value: text, secret, whole: false };
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
      touched = true;
      continue;
    }
    if (!text.startsWith('${', i)) {
      out += text[i];
      i++;
      continue;
    }
    const end = text.indexOf('}', i + 2);
    touched = true;
    if (end < 0) {
      fail(`unterminated '\${' in ${JSON.stringify(text)}`, 'close it with } or write $${ for a literal ${');
      return { value: text, secret, whole: false };
    }
    expressions++;
    const expr = text.slice(i + 2, end);
    i = end + 1;
    const r = expandExpression(expr, ctx, fail);
    out += r.text;
    if (r.secret) secret = true;
  }
  if (!touched) return undefined;
  if (tooLong()) return { value: text, secret, whole: false };
  const whole = expressions === 1 && /^\$\{[^}]*\}$/.test(text);
  return { value: out, secret, whole };
}

function readSecretFile(file: string, baseDir: string): SecretRead {
  if (file === '')
    return {
      error: `'\${file:}' needs a path, e.g. \${file:/etc/sluice/db-password}`,
      hint: 'write the path of the secret file after file:',
    };
  const abs = isAbsolute(file) ? file : resolve(baseDir, file);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(abs);
  } catch {
    return {
      error: `secret file ${abs} does not exist (expected a readable file, found nothing)`,
      hint: `create ${abs} containing the secret and run \`chmod 600 ${abs}\``,
    };
  }
  if (!st.isFile()) {
    return { error: `secret file ${abs} is not a regular file`, hint: `point \${file:...} at a file` };
  }
  if ((Number(st.mode) & 0o004) !== 0 && process.platform !== 'win32') {
    const mode = (Number(st.mode) & 0o777).toString(8).padStart(3, '0');
    return {
      error: `secret file ${abs} is readable by others (mode ${mode}); expected mode 600 or 640, found ${mode}`,
      hint: `chmod 600 ${abs} (or chmod 640 ${abs} to let the file's group read it)`,
    };
  }
  let bytes: Buffer;
  try {
    bytes = readAtMost(abs, MAX_SECRET_BYTES);
  } catch (err) {
    return {
      error: `cannot read secret file ${abs}: ${(err as Error).message}`,
      hint: `make ${abs} readable by the user running sluice`,
    };
  }
  if (bytes.length > MAX_SECRET_BYTES) {
    return {
      error: `secret file ${abs} is larger than ${formatBytes(MAX_SECRET_BYTES)}; expected a password, token or URL`,
      hint: `point \${file:...} at the file holding just the secret`,
    };
  }
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    return {
      error: `secret file ${abs} is not UTF-8 text (byte 0x${(bytes[bad] as number).toString(16).padStart(2, '0')} at offset ${bad})`,
      hint: `write the secret to ${abs} as UTF-8 text`,
    };
  }
  return { value: bytes.toString('utf8').replace(/[\r\n]+$/, '') };
}

/** The tree with every `${...}` expanded; all interpolation problems at once as ConfigInvalidError. */
export function interpolateOrThrow(
  tree: SNode | null,
  environ: NodeJS.ProcessEnv,
  baseDir: string,
): SNode | null {
  const interpolationProblems: Parameters<typeof interpolateTree>[1]['problems'] = [];
  const out = interpolateTree(tree, { environ, baseDir, problems: interpolationProblems });
  if (interpolationProblems.length > 0) {
    const problems = interpolationProblems.map(
      (p): ConfigProblem => ({
        where: formatOrigin(p.origin),
        origin: p.origin,
        path: formatPath(p.path),
        message: p.message,
      }),
    );
    const hints = [...new Set(interpolationProblems.map((p) => p.hint).filter((h) => h !== ''))];
    throw new ConfigInvalidError(sortProblems(problems), hints.join('; '));
  }
  return out;
}
