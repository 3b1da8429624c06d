/**
 * The compiled CLI (scripts/build-cli.mjs, bin/sluice.js): the staleness decision as pure
 * functions, then real runs on a temporary checkout (src/, bin/, the build script, node_modules
 * linked) so that editing its sources never touches this one's dist/: the sources are compiled at
 * the first run, the compiled code is what runs (no tsx, no .ts module loaded), an edited source
 * is rebuilt before the next command, many commands starting at once build once, and a checkout
 * that cannot be built falls back to tsx with a notice.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint, isBuildSource, prunable, VENDOR } from '../scripts/build-cli.mjs';
import { wrapped } from '../src/core/vendor-load.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('build staleness (pure)', () => {
  const a = { rel: 'cli/main.ts', size: 100, mtimeMs: 1000.5 };
  const b = { rel: 'core/errors.ts', size: 50, mtimeMs: 2000 };

  it('gives the same fingerprint for the same files in any order, another for any change', () => {
    expect(fingerprint([a, b])).toBe(fingerprint([b, a]));
    expect(fingerprint([a, b])).toMatch(/^[0-9a-f]{16}$/);
    const others = [
      [a, { ...b, mtimeMs: 2000.001 }], // edited (touched)
      [a, { ...b, size: 51 }], // edited, same mtime
      [a], // removed
      [a, b, { rel: 'core/new.ts', size: 1, mtimeMs: 1 }], // added
      [a, { ...b, rel: 'core/errors2.ts' }], // renamed
    ];
    const prints = new Set(others.map((o) => fingerprint(o)));
    expect(prints.size).toBe(others.length);
    expect(prints.has(fingerprint([a, b]))).toBe(false);
  });

  it('leaves unit tests out of the build', () => {
    expect(isBuildSource('cli/main.ts')).toBe(true);
    expect(isBuildSource('backup/hash-thread-body.mjs')).toBe(true);
    expect(isBuildSource('core/db/migrations/0001_init.sql')).toBe(true);
    expect(isBuildSource('cli/main.test.ts')).toBe(false);
  });

  it('prunes all but the newest builds, never the current one nor a build being written', () => {
    const now = 10_000_000;
    const builds = [
      ...Array.from({ length: 7 }, (_, i) => ({ name: `${i}`.repeat(16), mtimeMs: now - i * 1000 })),
      { name: '.tmp-123', mtimeMs: now - 1000 }, // being written
      { name: '.tmp-456', mtimeMs: now - 3_600_000 }, // a crashed build's
      { name: '.lock', mtimeMs: now - 3_600_000 },
    ];
    const gone = prunable(builds, '6666666666666666', now, 4);
    expect(gone.sort()).toEqual(['.tmp-456', '4444444444444444', '5555555555555555']);
  });
});

/** A checkout of the sources without dist/, node_modules linked to this one's. */
async function checkout(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-cli-build-'));
  for (const p of [
    'bin',
    'src',
    'scripts/build-cli.mjs',
    'scripts/build-lock.mjs',
    'scripts/build-native.mjs',
    'package.json',
    'tsconfig.json',
  ])
    await cp(path.join(repo, p), path.join(dir, p), { recursive: true });
  await symlink(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/** A loader hook recording every module URL the process resolves (to see what really runs). */
const TRACE_HOOKS = `import { appendFileSync } from 'node:fs';
export async function resolve(spec, ctx, next) {
  const r = await next(spec, ctx);
  appendFileSync(process.env.TRACE_OUT, r.url + '\\n');
  return r;
}`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  modules: string[];
}

async function run(dir: string, args: string[], trace: string): Promise<Run> {
  const out = path.join(trace, `modules-${Math.random().toString(36).slice(2)}.txt`);
  const child = spawn(
    process.execPath,
    ['--import', path.join(trace, 'register.mjs'), path.join(dir, 'bin/sluice.js'), ...args],
    {
      cwd: dir,
      env: { ...process.env, TRACE_OUT: out },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const modules = existsSync(out) ? (await readFile(out, 'utf8')).split('\n').filter(Boolean) : [];
  return { code, stdout, stderr, modules };
}

const builds = async (dir: string) =>
  existsSync(path.join(dir, 'dist')) ? (await readdir(path.join(dir, 'dist'))).sort() : [];

describe('bin/sluice.js on a fresh checkout', () => {
  let dir: string;
  let trace: string;
  beforeAll(async () => {
    dir = await checkout();
    trace = await mkdtemp(path.join(os.tmpdir(), 'sluice-cli-trace-'));
    await writeFile(path.join(trace, 'hooks.mjs'), TRACE_HOOKS);
    await writeFile(
      path.join(trace, 'register.mjs'),
      "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n",
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(trace, { recursive: true, force: true });
  });

  it('compiles at the first run and runs the compiled code, without tsx', async () => {
    expect(await builds(dir)).toEqual([]);
    const r = await run(dir, ['--version'], trace);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('0.1.0');
    const [fp, ...more] = await builds(dir);
    expect(more).toEqual([]);
    expect(r.modules).toContain(`file://${dir}/dist/${fp}/cli/main.js`);
    expect(r.modules.filter((m) => m.endsWith('.ts') || m.includes('/node_modules/tsx/'))).toEqual([]);
  });

  it('loads the packages every command needs from one-file bundles with their code caches, with the exports Node gives them', async () => {
    const [fp] = await builds(dir);
    const r = await run(dir, ['--version'], trace); // built: this run only loads
    expect(r.code, r.stderr).toBe(0);
    expect(r.modules).toContain(`file://${dir}/dist/${fp}/vendor/commander.js`);
    expect(r.modules.filter((m) => m.includes('/node_modules/commander/'))).toEqual([]);
    for (const name of Object.keys(VENDOR)) {
      // its code cache, made at build time, is one V8 takes (else every start compiles it again)
      const cjs = path.join(dir, 'dist', fp!, 'vendor', `${name}.cjs`);
      const script = new Script(wrapped(await readFile(cjs, 'utf8')), {
        filename: cjs,
        cachedData: await readFile(`${cjs}.cache`),
      });
      expect(script.cachedDataRejected, name).toBe(false);
      const bundled = await import(path.join(dir, 'dist', fp!, 'vendor', `${name}.js`));
      const real = await import(name);
      expect(Object.keys(bundled).sort(), name).toEqual(Object.keys(real).sort());
      if ('default' in real)
        expect(Object.keys(bundled.default).sort(), name).toEqual(Object.keys(real.default).sort());
    }
  });

  it('starts `files` commands without the task catalogue nor zod (what `files list` needs not)', async () => {
    const r = await run(dir, ['files', '--help'], trace); // registers every `files` command
    expect(r.code, r.stderr).toBe(0);
    const [fp] = await builds(dir);
    expect(r.modules).toContain(`file://${dir}/dist/${fp}/cli/files.js`);
    const heavy = r.modules.filter((m) =>
      /\/(vendor\/zod|tasks\/catalogue|core\/config\/index)\.js$/.test(m),
    );
    expect(heavy).toEqual([]);
  });

  it('rebuilds before the next command once a source changed, and runs the new code', async () => {
    const [before] = await builds(dir);
    const file = path.join(dir, 'src/core/version.ts');
    await writeFile(file, (await readFile(file, 'utf8')).replace("'0.1.0'", "'9.9.9-edited'"));
    const r = await run(dir, ['--version'], trace);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('9.9.9-edited');
    const after = (await builds(dir)).filter((b) => b !== before);
    expect(after).toHaveLength(1);
    expect(r.modules).toContain(`file://${dir}/dist/${after[0]}/cli/main.js`);
    expect(r.modules.filter((m) => m.endsWith('.ts') || m.includes('/node_modules/tsx/'))).toEqual([]);
  });

  it('builds once when many commands start together after a change', async () => {
    const file = path.join(dir, 'src/core/version.ts');
    await writeFile(file, (await readFile(file, 'utf8')).replace("'9.9.9-edited'", "'9.9.9-together'"));
    const before = await builds(dir);
    const runs = await Promise.all(Array.from({ length: 6 }, () => run(dir, ['--version'], trace)));
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe('9.9.9-together');
    }
    expect(runs.filter((r) => r.stderr.includes('compiling the sources'))).toHaveLength(1);
    const added = (await builds(dir)).filter((b) => !before.includes(b));
    expect(added).toHaveLength(1); // no .tmp- folder nor .lock left
  });

  it('runs the sources through tsx, with a notice, when it cannot compile', async () => {
    const file = path.join(dir, 'src/core/version.ts');
    await writeFile(file, (await readFile(file, 'utf8')).replace("'9.9.9-together'", "'9.9.9-tsx'"));
    await rm(path.join(dir, 'dist'), { recursive: true, force: true });
    await writeFile(path.join(dir, 'dist'), 'not a folder'); // dist/ cannot be made
    const r = await run(dir, ['--version'], trace);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('9.9.9-tsx');
    expect(r.stderr).toMatch(/^sluice: cannot compile the sources .*running them through tsx/);
    expect(r.modules).toContain(`file://${dir}/src/cli/main.ts`);
  });
});
