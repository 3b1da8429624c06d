/**
 * Mechanical refactors that touch many files, re-runnable after a merge (issue #18: moves and renames
 * are committed one per commit with the command that made them).
 *
 *   npx tsx scripts/refactor.ts move <old.ts> <new.ts>
 *     git-moves a module and rewrites every relative import of it (in src, test, bench, scripts,
 *     bin) and the moved module's own relative imports.
 *   npx tsx scripts/refactor.ts move-export <from.ts> <name> <to.ts>
 *     rewrites the imports of `name` from `from.ts` to import it from `to.ts` instead (the
 *     declaration itself is moved by hand); an import left empty is removed.
 *   npx tsx scripts/refactor.ts rename <file.ts> <old> <new>
 *     renames an exported symbol everywhere, with the TypeScript language service.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = process.cwd();
const DIRS = ['src', 'test', 'bench', 'scripts', 'bin'];
const SPEC = /((?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]+)\2/g;

function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|tsx|mts)$/.test(name)) out.push(p);
    }
  };
  for (const d of DIRS) if (existsSync(path.join(ROOT, d))) walk(path.join(ROOT, d));
  return out;
}

function relativeSpec(fromFile: string, target: string): string {
  const rel = path.relative(path.dirname(fromFile), target).split(path.sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

function move(oldRel: string, newRel: string): void {
  const oldAbs = path.resolve(ROOT, oldRel);
  const newAbs = path.resolve(ROOT, newRel);
  execFileSync('mkdir', ['-p', path.dirname(newAbs)]);
  execFileSync('git', ['mv', oldAbs, newAbs]);
  for (const file of sourceFiles()) {
    const text = readFileSync(file, 'utf8');
    // the moved module's own imports resolve from where it was
    const from = file === newAbs ? oldAbs : file;
    const next = text.replace(SPEC, (all, lead: string, q: string, spec: string) => {
      const target = path.resolve(path.dirname(from), spec);
      if (target === oldAbs) return `${lead}${q}${relativeSpec(file, newAbs)}${q}`;
      if (file === newAbs) return `${lead}${q}${relativeSpec(file, target)}${q}`;
      return all;
    });
    if (next !== text) writeFileSync(file, next);
  }
}

const IMPORT = /import\s+(type\s+)?\{([^}]*)\}\s*from\s*(['"])(\.{1,2}\/[^'"]+)\3;?/g;

function moveExport(fromRel: string, name: string, toRel: string): void {
  const fromAbs = path.resolve(ROOT, fromRel);
  const toAbs = path.resolve(ROOT, toRel);
  for (const file of sourceFiles()) {
    if (file === toAbs) continue;
    const text = readFileSync(file, 'utf8');
    let added: string[] = [];
    let typeOnly = true;
    const next = text.replace(
      IMPORT,
      (all, typeKw: string | undefined, names: string, q: string, spec: string) => {
        if (path.resolve(path.dirname(file), spec) !== fromAbs) return all;
        const parts = names
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        const mine = parts.filter((p) => p.replace(/^type\s+/, '').split(/\s+as\s+/)[0] === name);
        if (mine.length === 0) return all;
        added = mine.map((p) => (typeKw ? `type ${p}` : p));
        typeOnly = Boolean(typeKw) || mine.every((p) => p.startsWith('type '));
        const rest = parts.filter((p) => !mine.includes(p));
        const moved = `import ${typeOnly ? 'type ' : ''}{ ${added.map((p) => (typeOnly ? p.replace(/^type\s+/, '') : p)).join(', ')} } from ${q}${relativeSpec(file, toAbs)}${q};`;
        if (rest.length === 0) return moved;
        return `import ${typeKw ?? ''}{ ${rest.join(', ')} } from ${q}${spec}${q};\n${moved}`;
      },
    );
    if (next !== text) writeFileSync(file, next);
  }
}

function rename(fileRel: string, oldName: string, newName: string): void {
  const config = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const texts = new Map<string, string>();
  const host: ts.LanguageServiceHost = {
    getScriptFileNames: () => parsed.fileNames,
    getScriptVersion: () => '0',
    getScriptSnapshot: (f) => {
      if (!existsSync(f)) return undefined;
      const t = texts.get(f) ?? readFileSync(f, 'utf8');
      texts.set(f, t);
      return ts.ScriptSnapshot.fromString(t);
    },
    getCurrentDirectory: () => ROOT,
    getCompilationSettings: () => parsed.options,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
  };
  const service = ts.createLanguageService(host);
  const file = path.resolve(ROOT, fileRel);
  const text = readFileSync(file, 'utf8');
  const decl = new RegExp(
    `export\\s+(?:async\\s+)?(?:function|const|let|class|interface|type)\\s+${oldName}\\b`,
  ).exec(text);
  if (!decl) throw new Error(`no exported ${oldName} in ${fileRel}`);
  const pos = decl.index + decl[0].length - oldName.length;
  const locs =
    service.findRenameLocations(file, pos, false, false, { providePrefixAndSuffixTextForRename: false }) ??
    [];
  const byFile = new Map<string, ts.RenameLocation[]>();
  for (const l of locs) byFile.set(l.fileName, [...(byFile.get(l.fileName) ?? []), l]);
  for (const [f, ls] of byFile) {
    let t = readFileSync(f, 'utf8');
    for (const l of ls.sort((a, b) => b.textSpan.start - a.textSpan.start)) {
      t = t.slice(0, l.textSpan.start) + newName + t.slice(l.textSpan.start + l.textSpan.length);
    }
    writeFileSync(f, t);
  }
  console.log(`${locs.length} places in ${byFile.size} files`);
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'move' && args.length === 2) move(args[0]!, args[1]!);
else if (cmd === 'move-export' && args.length === 3) moveExport(args[0]!, args[1]!, args[2]!);
else if (cmd === 'rename' && args.length === 3) rename(args[0]!, args[1]!, args[2]!);
else {
  console.error('usage: refactor.ts move OLD NEW | move-export FROM NAME TO | rename FILE OLD NEW');
  process.exit(2);
}
