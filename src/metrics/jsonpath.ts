/**
 * A tiny, safe path language for picking numbers out of JSON (no eval, own properties only):
 *
 *   summary.precursors      runs[0].fwhm      runs[-1].fwhm (last)      ["key.with.dots"].x
 */

export type PathSegment = string | number;

export class PathSyntaxError extends Error {}

const IDENT_STOP = new Set(['.', '[', ']', '"', "'"]);

/** Parse a path into segments; throws `PathSyntaxError` naming the position and what was expected. */
export function parsePath(p: string): PathSegment[] {
  const segs: PathSegment[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new PathSyntaxError(`bad path '${p}' at character ${i + 1}: ${why}`);
  };
  if (p.trim() === '') fail('the path is empty');
  // 'start' | 'afterDot' | 'afterSegment'
  let state: 'start' | 'afterDot' | 'afterSegment' = 'start';
  while (i < p.length) {
    const ch = p[i]!;
    if (ch === '[') {
      if (state === 'afterDot') fail("expected a name after '.'");
      i++;
      const q = p[i];
      if (q === '"' || q === "'") {
        i++;
        let key = '';
        for (;;) {
          if (i >= p.length) fail(`unclosed ${q}`);
          const c = p[i]!;
          if (c === '\\' && i + 1 < p.length) {
            key += p[i + 1];
            i += 2;
            continue;
          }
          if (c === q) {
            i++;
            break;
          }
          key += c;
          i++;
        }
        segs.push(key);
      } else {
        const m = /^-?\d+/.exec(p.slice(i));
        if (!m) fail("expected an index like [0] or [-1], or a quoted key like ['a.b']");
        segs.push(Number(m![0]));
        i += m![0].length;
      }
      if (p[i] !== ']') fail("expected ']'");
      i++;
      state = 'afterSegment';
    } else if (ch === '.') {
      if (state !== 'afterSegment') fail("unexpected '.'");
      i++;
      state = 'afterDot';
    } else {
      if (state === 'afterSegment') fail("expected '.' or '['");
      if (IDENT_STOP.has(ch)) fail(`unexpected '${ch}'`);
      let name = '';
      while (i < p.length && !IDENT_STOP.has(p[i]!)) name += p[i++];
      if (name.trim() === '') fail('expected a name');
      segs.push(name.trim());
      state = 'afterSegment';
    }
  }
  if (state === 'afterDot') fail("the path ends with '.'");
  return segs;
}

export type Resolved = { found: true; value: unknown } | { found: false; missing: string };

function render(segs: PathSegment[]): string {
  return segs.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/** Follow `segs` through `root`; reports the first part that is missing. */
export function resolvePath(root: unknown, segs: PathSegment[]): Resolved {
  let cur: unknown = root;
  for (let k = 0; k < segs.length; k++) {
    const seg = segs[k]!;
    if (Array.isArray(cur)) {
      const idx = typeof seg === 'number' ? seg : /^\d+$/.test(seg) ? Number(seg) : Number.NaN;
      const at = idx < 0 ? cur.length + idx : idx;
      if (!Number.isInteger(at) || at < 0 || at >= cur.length) {
        return { found: false, missing: render(segs.slice(0, k + 1)) };
      }
      cur = cur[at];
    } else if (
      cur !== null &&
      typeof cur === 'object' &&
      typeof seg === 'string' &&
      Object.hasOwn(cur, seg)
    ) {
      cur = (cur as Record<string, unknown>)[seg];
    } else {
      return { found: false, missing: render(segs.slice(0, k + 1)) };
    }
  }
  return { found: true, value: cur };
}

/**
 * JSON.parse that also accepts Python's bare `NaN`, `Infinity` and `-Infinity` (as `null`).
 * Throws the JSON.parse error of the original text if it is not JSON either way.
 */
export function parseJsonLenient(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (first) {
    const patched = replaceBareNonFinite(text);
    if (patched === text) throw first;
    try {
      return JSON.parse(patched);
    } catch {
      throw first;
    }
  }
}

function replaceBareNonFinite(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      out += ch;
      if (ch === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
      out += ch;
      continue;
    }
    const token = ['-Infinity', 'Infinity', 'NaN'].find((t) => text.startsWith(t, i));
    if (token && !/[\w$]/.test(text[i + token.length] ?? '')) {
      out += 'null';
      i += token.length - 1;
      continue;
    }
    out += ch;
  }
  return out;
}
