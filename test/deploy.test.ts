/**
 * deploy/: what the container deployment promises, checked without a Docker engine.
 *
 * - the example configs (deploy/sluice.yaml.example + sluice.production.yaml.example) load with
 *   Sluice's own loader, and agree with compose.yaml (mount targets, tags, secret paths);
 * - compose.yaml has the promised shape: four profiles, health checks, read-only instrument
 *   mounts, a stop grace period above Sluice's shutdown grace;
 * - `docker compose config` (or Debian's `docker-compose config`, which validates against the
 *   Compose JSON schema it ships) accepts every profile with every example env file. Skipped with
 *   one line when no compose CLI is installed; under CI=true a missing one fails the run;
 * - the Dockerfile: multi-stage, non-root, and `npm ci --omit=dev` leaves everything the sources
 *   import at run time;
 * - deploy/healthcheck.mjs against a real `sluice start` process and a real database.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type LoadedConfig, loadConfig } from '../src/core/config/index.ts';
import { freePort } from '../src/core/db/embedded.ts';
import { SLUICE_BIN } from './helpers/cli.ts';
import { createTestDb } from './helpers/db.ts';
import { patient } from './helpers/patience.ts';
import { waitExit, waitFor } from './helpers/spawn.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const deploy = path.join(root, 'deploy');
const PROFILES = ['dbs', 'infrastructure', 'workers', 'local'] as const;
const ENVS = ['local', 'sandbox', 'production'] as const;
const DB_URL = 'postgres://sluice:example@db.example.org:5432/sluice';

interface Service {
  profiles?: string[];
  image?: string;
  build?: unknown;
  command?: string[];
  restart?: string;
  stop_grace_period?: string;
  init?: boolean;
  healthcheck?: { test?: string[] };
  volumes?: (string | { type: string; source: string; target: string; read_only?: boolean })[];
  secrets?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}
interface Compose {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
}

const composeText = await readFile(path.join(deploy, 'compose.yaml'), 'utf8');
const compose = parse(composeText, { merge: true }) as Compose;
// the template for further instruments' workers, merged over compose.yaml when copied
const override = parse(await readFile(path.join(deploy, 'compose.override.yaml.example'), 'utf8'), {
  merge: true,
}) as Pick<Compose, 'services'>;
const services = [...Object.entries(compose.services), ...Object.entries(override.services)];
const sluiceServices = services.filter(([, s]) => s.command?.[0] === 'start');

/** `60s`, `1m30s`, `2m` → seconds. */
function durationSeconds(d: string): number {
  const m = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(d);
  if (!m || (!m[1] && !m[2])) throw new Error(`not a compose duration: ${d}`);
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
}

function roleOf(s: Service): string {
  const i = s.command?.indexOf('--role') ?? -1;
  return i >= 0 ? s.command![i + 1]! : 'all';
}

function tagsOf(s: Service): string[] {
  const i = s.command?.indexOf('--tags') ?? -1;
  return i >= 0 ? s.command![i + 1]!.split(',') : [];
}

/** Volumes as {target, readOnly}, from the short (`src:dst[:ro]`) or long syntax. */
function mounts(s: Service): { source: string; target: string; readOnly: boolean }[] {
  return (s.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return { source: v.source, target: v.target, readOnly: v.read_only === true };
    // `${VAR:-default}` may contain ':' itself: split what is outside the braces
    const [source, target, mode] = v.replace(/\$\{[^}]*\}/g, (x) => x.replace(/:/g, '\0')).split(':');
    return {
      source: source!.replace(/\0/g, ':'),
      target: target!,
      readOnly: (mode ?? '').split(',').includes('ro'),
    };
  });
}

let dir: string;
let prod: LoadedConfig;
let base: LoadedConfig;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-deploy-'));
  await copyFile(path.join(deploy, 'sluice.yaml.example'), path.join(dir, 'sluice.yaml'));
  await copyFile(
    path.join(deploy, 'sluice.production.yaml.example'),
    path.join(dir, 'sluice.production.yaml'),
  );
  const environ = { DATABASE_URL: DB_URL };
  prod = await loadConfig({ path: path.join(dir, 'sluice.yaml'), env: 'production', environ });
  base = await loadConfig({ path: path.join(dir, 'sluice.yaml'), env: 'sandbox', environ });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('example configs', () => {
  it('load with the Sluice loader: base for sandbox/local, base + overlay for production', async () => {
    expect(prod.files.map((f) => path.basename(f))).toEqual(['sluice.yaml', 'sluice.production.yaml']);
    expect(base.files.map((f) => path.basename(f))).toEqual(['sluice.yaml']);
    for (const c of [prod.config, base.config]) {
      expect(c.database.url).toBe(DB_URL); // DATABASE_URL from the environment
      expect(c.server.host).toBe('0.0.0.0'); // reachable through the container's port mapping
      expect(c.server.port).toBe(8080); // what the health check and the port mappings expect
      expect(c.instruments.astral1?.tags).toEqual(['instrument:astral1']);
    }
    expect(base.config.processing.executor).toBe('local');
    expect(base.config.processing.assignments).toEqual([]);
    expect(prod.config.processing.executor).toBe('slurm');
    expect(prod.config.processing.assignments.map((a) => a.settings)).toEqual(['alphadia-default']);
    expect(prod.secrets).toContain('database.url');
    const local = await loadConfig({ path: path.join(dir, 'sluice.yaml'), env: 'local', environ: {} });
    expect(local.config.database.url).toBeUndefined(); // the compose file is what insists on DATABASE_URL
  });

  it('agree with compose.yaml: watch folders, backup and output are mount targets of the workers', () => {
    const c = prod.config;
    const inCompose = Object.entries(compose.services).filter(([, s]) => s.command?.[0] === 'start');
    for (const [name, s] of inCompose.filter(([, s]) => roleOf(s) !== 'web')) {
      const targets = mounts(s).map((m) => m.target);
      expect(targets, name).toContain(c.backup.path);
      expect(targets, name).toContain(c.processing.output_path);
      for (const tag of tagsOf(s)) {
        const insts = Object.entries(c.instruments).filter(([, i]) => i.tags?.includes(tag));
        expect(insts.length, `${name}: an instrument tagged ${tag}`).toBeGreaterThan(0);
        for (const [, i] of insts) expect(targets, `${name} mounts ${i.watch}`).toContain(i.watch);
      }
    }
    // every Sluice container reads the config where SLUICE_CONFIG points
    for (const [name, s] of sluiceServices) {
      expect(s.environment?.SLUICE_CONFIG, name).toBe('/etc/sluice/sluice.yaml');
      expect(mounts(s).find((m) => m.target === '/etc/sluice')?.readOnly, name).toBe(true);
    }
  });

  it('agree with compose.yaml: the SLURM key and known_hosts are secrets of every production worker', () => {
    const ssh = prod.config.processing.slurm.ssh!;
    const names = [ssh.key_file, ssh.known_hosts].map((p) => {
      expect(p.startsWith('/run/secrets/'), p).toBe(true);
      return path.basename(p);
    });
    for (const n of names) expect(Object.keys(compose.secrets)).toContain(n);
    for (const [name, s] of sluiceServices) {
      const production = s.profiles?.some((p) => p === 'infrastructure' || p === 'workers');
      if (production && roleOf(s) !== 'web') expect(s.secrets, name).toEqual(expect.arrayContaining(names));
    }
  });

  it('keep the shutdown grace below the containers stop_grace_period', () => {
    for (const [name, s] of services) {
      expect(s.stop_grace_period, name).toBeDefined();
      expect(durationSeconds(s.stop_grace_period!), name).toBeGreaterThan(
        prod.config.worker.shutdown_grace_seconds + 10,
      );
    }
  });
});

describe('compose.yaml', () => {
  it('puts every service in one of the four profiles, each profile non-empty', () => {
    for (const [name, s] of services) {
      expect(s.profiles?.length, `${name} has profiles`).toBeGreaterThan(0);
      for (const p of s.profiles!) expect(PROFILES, `${name}: profile ${p}`).toContain(p);
    }
    for (const p of PROFILES) {
      expect(services.filter(([, s]) => s.profiles?.includes(p)).length, p).toBeGreaterThan(0);
    }
  });

  it('gives every service an image, a health check and restart: unless-stopped', () => {
    for (const [name, s] of services) {
      expect(s.image ?? s.build, `${name}: image or build`).toBeTruthy();
      expect(s.healthcheck?.test?.length, `${name}: healthcheck`).toBeGreaterThan(0);
      expect(s.restart, name).toBe('unless-stopped'); // nothing to do after a reboot
    }
    for (const [name, s] of sluiceServices) {
      expect(s.init, `${name}: init reaps job processes`).toBe(true);
      expect(s.healthcheck!.test!.join(' '), name).toContain('/app/deploy/healthcheck.mjs');
    }
  });

  it('has the promised roles per profile', () => {
    const inProfile = (p: string) => services.filter(([, s]) => s.profiles?.includes(p));
    const dbs = inProfile('dbs');
    expect(dbs.map(([n]) => n)).toEqual(['postgres']);
    expect(dbs[0]![1].healthcheck!.test!.join(' ')).toContain('pg_isready');
    expect(dbs[0]![1].volumes?.some((v) => typeof v === 'string' && v.startsWith('pgdata:'))).toBe(true);
    const infra = inProfile('infrastructure');
    expect(infra.map(([, s]) => roleOf(s)).sort()).toEqual(['web', 'worker']);
    for (const [, s] of infra) expect(tagsOf(s)).toEqual([]);
    const local = inProfile('local');
    expect(local.map(([n]) => n).sort()).toEqual(['postgres', 'sluice']);
    expect(roleOf(compose.services.sluice!)).toBe('all');
    expect(compose.services.sluice!.depends_on?.postgres?.condition).toBe('service_healthy');
  });

  it('mounts instrument shares read-only and the backup read-write on the per-instrument workers', () => {
    const workers = services.filter(([, s]) => s.profiles?.includes('workers'));
    expect(workers.map(([n]) => n)).toEqual(['worker-astral1', 'worker-exploris2']);
    for (const [name, s] of workers) {
      expect(roleOf(s), name).toBe('worker');
      expect(
        tagsOf(s).some((t) => t.startsWith('instrument:')),
        `${name} has an instrument tag`,
      ).toBe(true);
      const m = mounts(s);
      const instruments = m.filter((x) => x.target.startsWith('/data/instruments/'));
      expect(instruments.length, name).toBeGreaterThan(0);
      for (const x of instruments) expect(x.readOnly, `${name}: ${x.target} read-only`).toBe(true);
      expect(m.find((x) => x.target === '/data/backup')?.readOnly, `${name}: backup read-write`).toBe(false);
    }
    expect(compose.services['worker-astral1']!.command).toEqual([
      'start',
      '--role',
      'worker',
      '--tags',
      'instrument:astral1',
    ]);
  });

  it('takes every variable it uses from each example env file', async () => {
    const used = [...new Set([...composeText.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!))];
    expect(used).toEqual(expect.arrayContaining(['DATABASE_URL', 'SLUICE_ENV', 'SLUICE_IMAGE']));
    for (const env of ENVS) {
      const text = await readFile(path.join(deploy, 'env', `${env}.env.example`), 'utf8');
      const vars = Object.fromEntries(
        text
          .split('\n')
          .filter((l) => /^[A-Z0-9_]+=/.test(l))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      for (const v of used) expect(vars[v], `${env}.env.example sets ${v}`).toBeTruthy();
      expect(vars.SLUICE_ENV).toBe(env);
      expect(vars.DATABASE_URL).toMatch(/^postgres:\/\/sluice:[^@]+@[^/]+\/sluice$/);
    }
  });
});

/** `docker compose` (v2 plugin) or `docker-compose` (Debian: 1.29), whichever answers `version`. */
function findComposeCli(): string[] | undefined {
  for (const cmd of [['docker', 'compose'], ['docker-compose']]) {
    const r = spawnSync(cmd[0]!, [...cmd.slice(1), 'version'], {
      encoding: 'utf8',
      timeout: patient(30_000),
    });
    if (r.status === 0) return cmd;
  }
  return undefined;
}
const composeCli = findComposeCli();
if (!composeCli) {
  const line =
    'skipping `compose config` checks: neither `docker compose` nor `docker-compose` is installed (Debian: apt-get install docker-compose)';
  if (process.env.CI === 'true') {
    throw new Error(
      `${line} — CI=true, so this is a failure, not a skip (scripts/install-test-deps.sh installs it)`,
    );
  }
  console.warn(line);
}

function runCompose(envFile: string | undefined, profile: string, more: string[] = []) {
  const args = [...composeCli!.slice(1)];
  if (envFile) args.push('--env-file', envFile);
  args.push('-f', 'compose.yaml', ...more.flatMap((f) => ['-f', f]), '--profile', profile, 'config');
  // a clean environment: values come from the env file only, as on a server
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
  return spawnSync(composeCli![0]!, args, { cwd: deploy, encoding: 'utf8', env, timeout: patient(60_000) });
}

describe.skipIf(!composeCli)(`compose config (${composeCli?.join(' ') ?? 'no compose CLI'})`, () => {
  const cases: [env: string, profile: string][] = [
    ['production', 'dbs'],
    ['production', 'infrastructure'],
    ['production', 'workers'],
    ['sandbox', 'dbs'],
    ['sandbox', 'infrastructure'],
    ['sandbox', 'workers'],
    ['local', 'local'],
  ];
  it.each(cases)('accepts env/%s.env.example with profile %s', (env, profile) => {
    const r = runCompose(`env/${env}.env.example`, profile);
    expect(r.status, `${r.stderr}`).toBe(0);
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.profiles?.includes(profile)) expect(r.stdout).toMatch(new RegExp(`^  ${name}:$`, 'm'));
    }
    expect(r.stdout).toContain(`SLUICE_ENV: ${env}`);
  });

  it('accepts compose.override.yaml.example merged over compose.yaml', () => {
    const r = runCompose('env/production.env.example', 'workers', ['compose.override.yaml.example']);
    expect(r.status, `${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^ {2}worker-astral1:$/m);
    expect(r.stdout).toMatch(/^ {2}worker-exploris2:$/m);
    expect(r.stdout).toContain('target: /data/instruments/exploris2');
  });

  it('refuses to run without DATABASE_URL, saying so', async () => {
    const envFile = path.join(dir, 'no-db.env');
    await writeFile(envFile, 'SLUICE_ENV=production\n');
    const r = runCompose(envFile, 'infrastructure');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('DATABASE_URL');
  });
});

describe('Dockerfile', () => {
  const text = readFile(path.join(deploy, 'Dockerfile'), 'utf8');
  const instructions = async () =>
    (await text)
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));

  it('builds in stages and runs as uid 1000 with a health check and the sluice entrypoint', async () => {
    const lines = await instructions();
    const froms = lines.filter((l) => l.startsWith('FROM '));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms.at(-1)).toMatch(/-slim AS runtime$/);
    expect(lines.some((l) => l.startsWith('RUN npm ci --omit=dev'))).toBe(true);
    expect(lines).toContain('COPY --from=deps /app/node_modules ./node_modules');
    const users = lines.filter((l) => l.startsWith('USER '));
    expect(users.at(-1)).toBe('USER 1000:1000');
    expect(lines).toContain('WORKDIR /app');
    expect(lines.some((l) => l.startsWith('HEALTHCHECK ') && l.includes('/app/deploy/healthcheck.mjs'))).toBe(
      true,
    );
    expect(lines).toContain('ENTRYPOINT ["node", "/app/bin/sluice.js"]');
    expect(lines).toContain('CMD ["start", "--role", "all"]');
  });

  it('copies only files that exist and that deploy/Dockerfile.dockerignore lets in', async () => {
    const ignore = (await readFile(path.join(deploy, 'Dockerfile.dockerignore'), 'utf8')).split('\n');
    const copies = (await instructions()).filter((l) => l.startsWith('COPY ') && !l.includes('--from='));
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      const sources = c.split(/\s+/).slice(1, -1);
      for (const s of sources) {
        expect(existsSync(path.join(root, s)), `${s} exists`).toBe(true);
        const allowed = ignore.some((l) => l === `!${s}` || l === `!${s}/`);
        expect(allowed, `${s} is let in by Dockerfile.dockerignore`).toBe(true);
      }
    }
  });

  it('needs no devDependency at run time: every package the sources import is a dependency', async () => {
    const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies)).toContain('tsx'); // bin/sluice.js falls back to the sources through it when it cannot compile; metric plugins in TypeScript load through it
    const files: string[] = [];
    const walk = async (d: string) => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (/\.(ts|mts|js|mjs)$/.test(e.name) && !/\.test\.ts$|test-helpers\.ts$/.test(e.name))
          files.push(p);
      }
    };
    await walk(path.join(root, 'src'));
    await walk(path.join(root, 'bin'));
    await walk(path.join(deploy));
    const missing: string[] = [];
    for (const f of files) {
      for (const line of (await readFile(f, 'utf8')).split('\n')) {
        const t = line.trim();
        if (t.startsWith('*') || t.startsWith('//') || /^(import|export) type /.test(t)) continue;
        for (const m of t.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)'([^'.][^']*)'/g)) {
          const spec = m[1]!;
          if (spec.startsWith('node:')) continue;
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
          if (!(name in pkg.dependencies)) missing.push(`${path.relative(root, f)}: ${spec}`);
        }
      }
    }
    expect(missing, 'imported at run time but not in package.json dependencies').toEqual([]);
  });
});

describe('deploy/healthcheck.mjs against a real Sluice process', () => {
  let work: string;
  let db: Awaited<ReturnType<typeof createTestDb>>;
  let child: ChildProcess | undefined;
  let port: number;

  const check = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, [path.join(deploy, 'healthcheck.mjs'), ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: patient(30_000),
    });

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'sluice-health-'));
    await mkdir(path.join(work, 'astral1'));
    await writeFile(
      path.join(work, 'sluice.yaml'),
      'data_dir: ./data\ninstruments:\n  astral1:\n    type: thermo\n    watch: ./astral1\n' +
        'backup:\n  path: ./backup\nworker:\n  shutdown_grace_seconds: 1\n',
    );
    db = await createTestDb();
    port = await freePort();
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await waitExit(child);
    }
    await db.drop();
    await rm(work, { recursive: true, force: true });
  });

  it('is healthy while `start` runs (role read from its command line) and unhealthy after it stops', async () => {
    const args = [SLUICE_BIN, 'start', '--role', 'all', '--port', String(port)];
    const proc = spawn(process.execPath, args, {
      cwd: work,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        SLUICE_CONFIG: path.join(work, 'sluice.yaml'),
        SLUICE_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await waitFor('sluice start to run', async () => out.includes('running') || proc.exitCode !== null);
    expect(proc.exitCode, out).toBeNull();

    const env = { DATABASE_URL: db.url, SLUICE_HEALTH_PID: String(proc.pid) };
    const auto = check([], env);
    expect(auto.stdout.trim(), auto.stderr).toBe('ok (all)');
    expect(auto.status).toBe(0);
    expect(check(['web'], env).status).toBe(0);
    expect(check(['worker'], env).status).toBe(0);

    const closed = await freePort();
    const web = check(['web'], { ...env, SLUICE_HEALTH_URL: `http://127.0.0.1:${closed}/healthz` });
    expect(web.status).toBe(1);
    expect(web.stdout).toMatch(/^unhealthy \(web\): web: http:\/\/127\.0\.0\.1:\d+\/healthz unreachable/);
    const noDb = check(['worker'], { SLUICE_HEALTH_PID: String(proc.pid) });
    expect(noDb.status).toBe(1);
    expect(noDb.stdout).toContain('DATABASE_URL is not set');

    proc.kill('SIGTERM');
    expect(await waitExit(proc)).toBe(0);
    const after = check(['worker'], env);
    expect(after.status).toBe(1);
    expect(after.stdout).toContain(`no live worker on host ${os.hostname()}`);
  });

  it('counts a one-shot command as healthy and rejects an unknown role', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      const r = check([], { SLUICE_HEALTH_PID: String(other.pid) }); // not a `start` process
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('not a long-running `start` process');
    } finally {
      other.kill('SIGKILL');
      await waitExit(other);
    }
    const bad = check(['boss'], {});
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain("unknown role 'boss'");
  });
});
