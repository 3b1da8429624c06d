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
  visit,
  type Node as YamlNode,
} from 'yaml';
import { configTooBig, MAX_ALIAS_VALUES, MAX_CONFIG_BYTES } from './limits.ts';
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

/** Deepest nesting of mappings and lists accepted (a real config nests about 6 levels). */
const MAX_DEPTH = 200;
const DEPTH_HINT = 'close the open [ and { brackets; a Sluice config nests only a few levels';

interface YamlProblem {
  origin: Origin;
  path: string;
  msg: string;
  /** What to do, when the general advice on YAML syntax does not fit. */
  hint?: string;
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
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw configTooBig(source);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: false, strict: true });
  const at = (offset: number): Origin => {
    const p = lc.linePos(offset);
    return { source, line: p.line, col: p.col };
  };
  const problems: YamlProblem[] = [];
  for (const e of doc.errors) {
    // the parser's own stack ran out (thousands of nested [ or {): say so in the reader's terms
    const msg =
      e.code === 'RESOURCE_EXHAUSTION'
        ? `nesting too deep for the YAML parser (at most ${MAX_DEPTH} levels are accepted)`
        : `YAML syntax error: ${e.message}`;
    problems.push({
      origin: at(e.pos[0]),
      path: '',
      msg,
      ...(e.code === 'RESOURCE_EXHAUSTION' ? { hint: DEPTH_HINT } : {}),
    });
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
    const hints = [...new Set(problems.flatMap((p) => (p.hint === undefined ? [] : [p.hint])))];
    throw new ConfigInvalidError(
      list,
      hints.length > 0
        ? hints.join('; ')
        : `fix the YAML in ${source} (indent with spaces, quote values containing ': ' or ' #', one key per line)`,
    );
  }
  return { root };
}

/**
 * The node each alias refers to: the last node with that anchor before the alias, in document order
 * (YAML's rule). One pass; the library's `Alias.resolve` scans the whole document per call.
 */
function aliasTargets(doc: Document): Map<YamlNode, YamlNode | undefined> {
  const anchors = new Map<string, YamlNode>();
  const targets = new Map<YamlNode, YamlNode | undefined>();
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) targets.set(node, anchors.get(node.source));
      else if (node.anchor) anchors.set(node.anchor, node);
    },
  });
  return targets;
}

class TreeBuilder {
  private depth = 0;
  private readonly targets: Map<YamlNode, YamlNode | undefined>;
  /** Anchored nodes being built right now: an alias to one of them would expand forever. */
  private readonly building = new Set<YamlNode>();
  /** > 0 while building the value of an alias; values built then count against MAX_ALIAS_VALUES. */
  private expanding = 0;
  private expanded = 0;
  private exhausted = false;

  constructor(
    doc: Document,
    private readonly at: (offset: number) => Origin,
    private readonly problems: YamlProblem[],
  ) {
    this.targets = aliasTargets(doc);
  }

  private originOf(node: { range?: Range | null | undefined }): Origin {
    return this.at(node.range?.[0] ?? 0);
  }

  build(node: YamlNode, path: PathSeg[]): SNode {
    if (this.exhausted) return { kind: 'scalar', origin: this.originOf(node), value: null, plain: true };
    if (this.expanding > 0 && ++this.expanded > MAX_ALIAS_VALUES) {
      this.exhausted = true;
      return { kind: 'scalar', origin: this.originOf(node), value: null, plain: true };
    }
    if (++this.depth > MAX_DEPTH) {
      this.depth--;
      const shown = path.length > 6 ? `${formatPath(path.slice(0, 4))}...` : formatPath(path);
      this.problems.push({
        origin: this.originOf(node),
        path: formatPath(path),
        msg: `${shown}: nesting too deep (more than ${MAX_DEPTH} levels)`,
        hint: DEPTH_HINT,
      });
      return { kind: 'scalar', origin: this.originOf(node), value: null, plain: true };
    }
    const anchored = node.anchor ? node : undefined;
    if (anchored) this.building.add(anchored);
    try {
      return this.buildInner(node, path);
    } finally {
      this.depth--;
      if (anchored) this.building.delete(anchored);
    }
  }

  /** The value of an alias, counted against MAX_ALIAS_VALUES; a problem when it cannot be had. */
  private buildAlias(node: YamlNode & { source: string }, path: PathSeg[], origin: Origin): SNode {
    const none: SNode = { kind: 'scalar', origin, value: null, plain: true };
    const target = this.targets.get(node);
    const problem = (msg: string, hint?: string) =>
      this.problems.push({ origin, path: formatPath(path), msg, ...(hint === undefined ? {} : { hint }) });
    if (!target) {
      problem(`unknown alias *${node.source}`);
      return none;
    }
    if (this.building.has(target)) {
      problem(
        `${formatPath(path)}: alias *${node.source} refers to a value that contains it (it would never end)`,
        `point *${node.source} at an anchor outside the value that holds the alias`,
      );
      return none;
    }
    this.expanding++;
    let built: SNode;
    try {
      built = this.build(target, path);
    } finally {
      this.expanding--;
    }
    if (this.exhausted && this.expanding === 0) {
      problem(
        `${formatPath(path)}: alias *${node.source} expands the file beyond ${MAX_ALIAS_VALUES} values ` +
          '(anchors and aliases are capped so that a small file cannot grow into gigabytes)',
        'write the repeated values out, or nest fewer aliases inside anchored values',
      );
      return none;
    }
    return { ...built, origin };
  }

  private buildInner(node: YamlNode, path: PathSeg[]): SNode {
    const origin = this.originOf(node);
    if (isAlias(node)) return this.buildAlias(node, path, origin);
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
