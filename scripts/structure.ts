/**
 * The house's size rules, checked: no source file over 400 lines, no function over 80 lines unless
 * the comment right above it says why (a line containing `long-function:` and the reason), and every
 * module opens with a comment saying what it is for.
 *
 * `npx tsx scripts/structure.ts` lists what breaks the rules (exit 1 when anything does);
 * `--all` lists every function over 60 lines too, as a to-do list. `test/structure.test.ts` runs
 * the same check in the suite. Tests (`*.test.ts`), `__fixtures__` and `bench/` (experiment harnesses,
 * each one script) are not checked.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const MAX_FILE_LINES = 400;
export const MAX_FUNCTION_LINES = 80;
const REASON = 'long-function:';

export interface Finding {
  file: string;
  line: number;
  what: 'file' | 'function' | 'header';
  name: string;
  lines: number;
  /** The reason given in a `long-function:` comment, when there is one. */
  reason?: string;
}

export function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== '__fixtures__' && e.name !== 'node_modules') out.push(...sources(p));
    } else if (/\.(ts|tsx|mjs)$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) {
      out.push(p);
    }
  }
  return out;
}

function nameOf(node: ts.Node, sf: ts.SourceFile): string {
  const named = node as { name?: ts.Node };
  if (named.name) return named.name.getText(sf);
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent)) return parent.name.getText(sf);
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText(sf);
  return '(anonymous)';
}

/** Comments right above the function, or above the statement / property it is the value of. */
function leadingComments(node: ts.Node, sf: ts.SourceFile): string {
  let n: ts.Node = node;
  const texts: string[] = [];
  for (let i = 0; i < 4 && n; i++) {
    const ranges = ts.getLeadingCommentRanges(sf.text, n.getFullStart()) ?? [];
    for (const r of ranges) texts.push(sf.text.slice(r.pos, r.end));
    if (ts.isSourceFile(n.parent)) break;
    n = n.parent;
  }
  return texts.join('\n');
}

/** Does the module open with a comment (after a `#!` line or `// @ts-check`)? */
export function opensWithComment(text: string): boolean {
  const first = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '' && !l.startsWith('#!') && l !== '// @ts-check');
  return first === undefined || first.startsWith('/*') || first.startsWith('//');
}

export function checkFile(file: string, text: string): Finding[] {
  const out: Finding[] = [];
  if (!opensWithComment(text))
    out.push({ file, line: 1, what: 'header', name: path.basename(file), lines: 0 });
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const fileLines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (fileLines > MAX_FILE_LINES)
    out.push({ file, line: 1, what: 'file', name: path.basename(file), lines: fileLines });
  const visit = (node: ts.Node): void => {
    if (
      ts.isFunctionDeclaration(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isArrowFunction(node) ||
      ts.isFunctionExpression(node) ||
      ts.isConstructorDeclaration(node)
    ) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > 60) {
        const comments = leadingComments(node, sf);
        const at = comments.indexOf(REASON);
        const reason =
          at >= 0
            ? comments
                .slice(at + REASON.length)
                .split('\n')[0]
                ?.replace(/\*\/.*$/, '')
                .trim()
            : undefined;
        out.push({ file, line: start + 1, what: 'function', name: nameOf(node, sf), lines, reason });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

export function checkTree(root: string, dirs = ['src', 'web/src', 'scripts']): Finding[] {
  const out: Finding[] = [];
  for (const d of dirs) {
    let files: string[];
    try {
      files = sources(path.join(root, d));
    } catch {
      continue;
    }
    for (const f of files) out.push(...checkFile(path.relative(root, f), readFileSync(f, 'utf8')));
  }
  return out;
}

/** The findings that break the rules (files over the limit; functions over it with no reason). */
export function violations(findings: Finding[]): Finding[] {
  return findings.filter(
    (f) =>
      f.what !== 'function' ||
      (f.lines > MAX_FUNCTION_LINES && (f.reason === undefined || f.reason.length < 10)),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const all = checkTree(root);
  const bad = violations(all);
  const show = process.argv.includes('--all') ? all : bad;
  for (const f of show.sort((a, b) => b.lines - a.lines)) {
    const tag = bad.includes(f) ? 'TOO LONG' : f.reason ? `ok (${f.reason})` : 'watch';
    console.log(`${f.file}:${f.line}\t${f.what}\t${f.name}\t${f.lines} lines\t${tag}`);
  }
  console.log(
    `${bad.length} breaking the rules (files > ${MAX_FILE_LINES} lines, functions > ${MAX_FUNCTION_LINES} lines without a \`${REASON}\` reason, modules that do not open with a comment)`,
  );
  process.exitCode = bad.length > 0 ? 1 : 0;
}
