/**
 * YAML text → a tree that remembers, for every value and every key, which file and line it came from.
 *
 * Everything after parsing (overlay merge, interpolation, validation messages) works on this tree so an
 * error can always point at the file and line:col that supplied the offending value, even after the
 * base file and the environment overlay were merged.
 */
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Range,
  type Node as YamlNode,
} from 'yaml';
import { ConfigInvalidError, type ConfigProblem } from './problems.ts';

/** Where a value came from: a file (with line and column, 1-based) or e.g. an environment variable. */
export interface Origin {
  source: string;
  line?: number;
  col?: number;
}

export interface MapEntry {
  keyOrigin: Origin;
  node: SNode;
}

export type SNode =
  | { kind: 'map'; origin: Origin; entries: Map<string, MapEntry> }
  | { kind: 'seq'; origin: Origin; items: SNode[] }
  | {
      kind: 'scalar';
      origin: Origin;
      value: unknown;
      /** Unquoted in the YAML source: `${PORT}` there may become a number after interpolation. */
      plain: boolean;
      /** Set by interpolation when the value came from a `${file:...}` secret. */
      secret?: boolean;
    };

export type PathSeg = string | number;
export type Path = readonly PathSeg[];

export function formatOrigin(o: Origin): string {
  if (o.line === undefined) return o.source;
  return `${o.source}:${o.line}:${o.col ?? 1}`;
}

/** `instruments.astral1.watch`, `worker.tags[0]`, `pools["odd.name"]`; the empty path is "(top level)". */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      if (/^[A-Za-z0-9_-]+$/.test(s)) out += out === '' ? s : `.${s}`;
      else out += `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}

interface YamlProblem {
  origin: Origin;
  path: string;
  msg: string;
}

export interface ParsedFile {
  /** null for an empty (or comments-only) file. */
  root: SNode | null;
}

/**
 * Parses one YAML file. Syntax errors, duplicate keys and unsupported constructs are all reported at
 * once in one ConfigError, each with file:line:col.
 */
export function parseYamlFile(text: string, source: string): ParsedFile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: false, strict: true });
  const at = (offset: number): Origin => {
    const p = lc.linePos(offset);
    return { source, line: p.line, col: p.col };
  };
  const problems: YamlProblem[] = [];
  for (const e of doc.errors) {
    problems.push({ origin: at(e.pos[0]), path: '', msg: `YAML syntax error: ${e.message}` });
  }
  const builder = new TreeBuilder(doc, at, problems);
  const root = doc.contents === null ? null : builder.build(doc.contents as YamlNode, []);
  if (problems.length > 0) {
    problems.sort(
      (a, b) => (a.origin.line ?? 0) - (b.origin.line ?? 0) || (a.origin.col ?? 0) - (b.origin.col ?? 0),
    );
    const list = problems.map(
      (p): ConfigProblem => ({
        where: formatOrigin(p.origin),
        origin: p.origin,
        path: p.path,
        message: `${formatOrigin(p.origin)}: ${p.msg}`,
      }),
    );
    throw new ConfigInvalidError(
      list,
      `fix the YAML in ${source} (indent with spaces, quote values containing ': ' or ' #', one key per line)`,
    );
  }
  return { root };
}

class TreeBuilder {
  private depth = 0;

  constructor(
    private readonly doc: Document,
    private readonly at: (offset: number) => Origin,
    private readonly problems: YamlProblem[],
  ) {}

  private originOf(node: { range?: Range | null | undefined }): Origin {
    return this.at(node.range?.[0] ?? 0);
  }

  build(node: YamlNode, path: PathSeg[]): SNode {
    if (++this.depth > 200) {
      this.depth--;
      this.problems.push({
        origin: this.originOf(node),
        path: formatPath(path),
        msg: `${formatPath(path)}: nesting too deep`,
      });
      return { kind: 'scalar', origin: this.originOf(node), value: null, plain: true };
    }
    try {
      return this.buildInner(node, path);
    } finally {
      this.depth--;
    }
  }

  private buildInner(node: YamlNode, path: PathSeg[]): SNode {
    const origin = this.originOf(node);
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      if (!target) {
        this.problems.push({ origin, path: formatPath(path), msg: `unknown alias *${node.source}` });
        return { kind: 'scalar', origin, value: null, plain: true };
      }
      const built = this.build(target as YamlNode, path);
      return { ...built, origin };
    }
    if (isScalar(node)) {
      return {
        kind: 'scalar',
        origin,
        value: node.value,
        plain: node.type === 'PLAIN' || node.type === undefined,
      };
    }
    if (isSeq(node)) {
      const items: SNode[] = [];
      node.items.forEach((item, i) => {
        if (item === null || item === undefined) {
          items.push({ kind: 'scalar', origin, value: null, plain: true });
        } else items.push(this.build(item as YamlNode, [...path, i]));
      });
      return { kind: 'seq', origin, items };
    }
    if (isMap(node)) {
      const entries = new Map<string, MapEntry>();
      const merged: [string, MapEntry][] = [];
      for (const pair of node.items) {
        const keyNode = pair.key as YamlNode | null;
        const keyOrigin = keyNode ? this.originOf(keyNode) : origin;
        if (keyNode !== null && !isScalar(keyNode)) {
          this.problems.push({
            origin: keyOrigin,
            path: formatPath(path),
            msg: `${formatPath(path)}: mapping keys must be plain text`,
          });
          continue;
        }
        const key = keyNode === null ? '' : String(keyNode.value);
        if (key === '__proto__') {
          this.problems.push({
            origin: keyOrigin,
            path: formatPath(path),
            msg: `${formatPath(path)}: expected a name, found the reserved key '__proto__'`,
          });
          continue;
        }
        const valueNode = pair.value as YamlNode | null;
        const value: SNode =
          valueNode === null || valueNode === undefined
            ? { kind: 'scalar', origin: keyOrigin, value: null, plain: true }
            : this.build(valueNode, [...path, key]);
        if (key === '<<' && keyNode !== null && (keyNode as { type?: string }).type === 'PLAIN') {
          // YAML merge key: `<<: *defaults` or `<<: [*a, *b]`; explicit keys win, earlier sources win.
          const sources = value.kind === 'seq' ? value.items : [value];
          for (const s of sources) {
            if (s.kind === 'map') merged.push(...s.entries);
            else
              this.problems.push({
                origin: s.origin,
                path: formatPath(path),
                msg: `${formatPath(path)}: '<<' must refer to a mapping`,
              });
          }
          continue;
        }
        const prev = entries.get(key);
        if (prev) {
          this.problems.push({
            origin: keyOrigin,
            path: formatPath([...path, key]),
            msg: `duplicate key '${key}' in ${formatPath(path)} (first defined at line ${prev.keyOrigin.line})`,
          });
          continue;
        }
        entries.set(key, { keyOrigin, node: value });
      }
      for (const [k, e] of merged) if (!entries.has(k)) entries.set(k, e);
      return { kind: 'map', origin, entries };
    }
    this.problems.push({ origin, path: formatPath(path), msg: `${formatPath(path)}: unsupported YAML node` });
    return { kind: 'scalar', origin, value: null, plain: true };
  }
}

/** Plain JS value of a tree (what the schema validates). */
export function toPlain(node: SNode | null): unknown {
  if (node === null) return undefined;
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toPlain);
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const [k, e] of node.entries) {
        Object.defineProperty(out, k, {
          value: toPlain(e.node),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
  }
}

export interface Located {
  node: SNode;
  keyOrigin?: Origin;
}

/** Finds the node at a path (and the key's origin for map entries). */
export function nodeAt(root: SNode | null, path: readonly PropertyKey[]): Located | undefined {
  if (root === null) return undefined;
  let cur: Located = { node: root };
  for (const seg of path) {
    const n = cur.node;
    if (n.kind === 'map') {
      const e = n.entries.get(String(seg));
      if (!e) return undefined;
      cur = { node: e.node, keyOrigin: e.keyOrigin };
    } else if (n.kind === 'seq') {
      const i = typeof seg === 'number' ? seg : Number(seg);
      const item = Number.isInteger(i) ? n.items[i] : undefined;
      if (!item) return undefined;
      cur = { node: item };
    } else return undefined;
  }
  return cur;
}

/**
 * Where to point a person for a problem at `path`: the value's own position when the file has it,
 * otherwise the nearest enclosing entry that exists (e.g. the instrument missing its `watch`).
 */
export function locate(
  root: SNode | null,
  path: readonly PropertyKey[],
  preferKey = false,
): Origin | undefined {
  for (let n = path.length; n >= 0; n--) {
    const found = nodeAt(root, path.slice(0, n));
    if (!found) continue;
    if (n === path.length && !preferKey) return found.node.origin;
    return found.keyOrigin ?? found.node.origin;
  }
  return undefined;
}
