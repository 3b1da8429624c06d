/**
 * The whole system as operators run it: a PostgreSQL server started by this test (not Sluice's
 * embedded one), one `sluice start --role web` and three `sluice start --role worker` processes (one
 * general, two pinned to an instrument each by tags), 500 raw files over two instruments, and every
 * role killed with SIGKILL and restarted while files flow. Faults are injected on purpose (files the
 * instrument marks corrupted, jobs that fail with a known or an unknown error, an instrument folder
 * that disappears, killed workers) and their alerts must reach a local webhook receiver.
 * Afterwards: every file in its correct terminal state with a verified backup, the database backed
 * up (while the workers run) and restored into an empty database, and `sluice doctor` flagging 10
 * injected misconfigurations.
 *
 * Everything is real: processes, PostgreSQL, files, HTTP. Nothing here has a wall-clock limit
 * beyond the generous waits that turn a hang into a failure.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../src/core/db/db.ts';
import { type EmbeddedServer, freePort, startEmbedded } from '../src/core/db/embedded.ts';
import { silentLogger } from '../src/core/log.ts';
import { SLUICE_BIN, sluice } from './helpers/cli.ts';
import { DEMO_RESOURCES, KNOWN_NO_PRECURSORS, qcProcessing } from './helpers/config-text.ts';
import { spawnTs, waitExit, waitFor } from './helpers/spawn.ts';

type Proc = Awaited<ReturnType<typeof spawnTs>>;

const PER_INSTRUMENT = 250;
const BATCHES = 5;

/** What each file must end as, from its name. */
function expectedStatus(name: string): string {
  if (name.includes('_CORRUPTED')) return 'acquisition_failed';
  if (name.includes('failknown')) return 'processing_failed';
  if (name.includes('failunknown')) return 'error';
  return 'done';
}

/** File names of batch `b` for one instrument: mostly normal, a few of each injected fault. */
function batchNames(prefix: string, b: number, ext: string): string[] {
  const per = PER_INSTRUMENT / BATCHES;
  const names: string[] = [];
  for (let i = 0; i < per; i++) {
    const n = b * per + i;
    let name = `prj1_${prefix}_${String(n).padStart(3, '0')}`;
    if (n % 50 === 7) name += '_failknown';
    else if (n % 50 === 23) name += '_failunknown';
    else if (n % 50 === 41 && ext === '.raw') name += '_CORRUPTED';
    names.push(name + ext);
  }
  return names;
}

interface Alert {
  rule: string;
  subject: string;
}

describe('system: one web and three workers on an external PostgreSQL, 500 files, every role killed', () => {
  let root: string;
  let pgServer: EmbeddedServer;
  let dbUrl: string;
  let db: Db;
  let receiver: Server;
  const alerts: Alert[] = [];
  const procs = new Map<string, Proc>();
  let env: Record<string, string>;
  let webPort: number;
  const sourceHashes = new Map<string, string>();

  const start = async (name: string, args: string[]) => {
    const p = await spawnTs(SLUICE_BIN, env, { ready: 'running', args: ['start', ...args] });
    procs.set(name, p);
    return p;
  };
  const roles: Record<string, string[]> = {
    web: ['--role', 'web'],
    general: ['--role', 'worker'],
    astral: ['--role', 'worker', '--tags', 'instrument:astral1'],
    tims: ['--role', 'worker', '--tags', 'instrument:tims1'],
  };
  const kill9 = async (name: string) => {
    const p = procs.get(name)!;
    p.kill('SIGKILL');
    await waitExit(p);
  };

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'sluice-system-'));
    await chmod(root, 0o755);
    pgServer = await startEmbedded({
      dataDir: path.join(root, 'pg'),
      port: await freePort(),
      log: silentLogger,
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    });
    dbUrl = pgServer.url;
    db = createDb(dbUrl);
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        try {
          alerts.push(...(JSON.parse(body) as { alerts: Alert[] }).alerts);
        } catch {
          // a malformed post fails the assertions on what arrived
        }
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    for (const d of ['astral1', 'tims1', 'backup', 'output']) await mkdir(path.join(root, d));
    webPort = await freePort();
    await writeFile(
      path.join(root, 'sluice.yaml'),
      `data_dir: ./data
server: { host: 127.0.0.1, port: ${webPort} }
worker: { lease_seconds: 5, heartbeat_seconds: 1, poll_seconds: 0.5 }
pools: { copy: 4, cluster: 4 }
backup: { path: ./backup }
projects: { PRJ1: { tokens: [prj1] } }
instruments:
  astral1:
    type: thermo
    watch: ./astral1
    tags: [instrument:astral1]
    scan_interval_seconds: 0.5
    acquisition: { stable_window_seconds: 1 }
  tims1:
    type: bruker
    watch: ./tims1
    tags: [instrument:tims1]
    scan_interval_seconds: 0.5
    acquisition: { stable_window_seconds: 1, main_file_timeout_seconds: 30 }
${qcProcessing({
  head: ['output_path: ./output', 'poll_seconds: 0.5'],
  software: 'demo',
  qc: [DEMO_RESOURCES, KNOWN_NO_PRECURSORS],
  template: `case {{raw_name}} in
  *failknown*) echo "no precursors found" >&2; exit 3 ;;
  *failunknown*) echo "segmentation fault" >&2; exit 139 ;;
esac
echo "processed {{raw_name}}" > {{output_dir}}/result.txt`,
})}
  assignments:
    - { settings: qc, projects: ['*'] }
alerts:
  interval_seconds: 5
  cooldown_minutes: 60
  notifiers: [{ type: webhook, url: "${hook}" }]
  rules: { stale_worker_minutes: 0.1 }
`,
    );
    env = {
      DATABASE_URL: dbUrl,
      SLUICE_CONFIG: path.join(root, 'sluice.yaml'),
      SLUICE_LOG_LEVEL: 'warn',
    };
  });

  afterAll(async () => {
    for (const p of procs.values()) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGKILL');
        await waitExit(p);
      }
    }
    await db?.close();
    receiver?.close();
    await pgServer?.stop();
    await rm(root, { recursive: true, force: true });
  });

  /** Writes batch `b` into both instruments (thermo `.raw` files, bruker `.d` folders). */
  const writeBatch = async (b: number) => {
    for (const name of batchNames('astral', b, '.raw')) {
      const data = Buffer.from(`thermo raw ${name} `.repeat(200 + (name.length % 7)));
      sourceHashes.set(name, createHash('sha256').update(data).digest('hex'));
      await writeFile(path.join(root, 'astral1', name), data);
    }
    for (const name of batchNames('tims', b, '.d')) {
      const dir = path.join(root, 'tims1', name);
      await mkdir(dir);
      await writeFile(path.join(dir, 'analysis.tdf'), `sqlite ${name}`);
      await writeFile(path.join(dir, 'analysis.tdf_bin'), Buffer.from(`frames ${name} `.repeat(300)));
    }
  };

  const web = () => `http://127.0.0.1:${webPort}`;
  const statuses = async () =>
    db.query<{ id: string; name: string; status: string; status_reason: string | null }>(
      'select id, name, status, status_reason from files order by name',
    );

  it('every file ends in its correct terminal state while each role is killed and restarted', async () => {
    // all four start together against an empty database: one of them migrates, the others wait
    await Promise.all(Object.entries(roles).map(([name, args]) => start(name, args)));
    expect((await fetch(`${web()}/readyz`)).status).toBe(200);

    const doneCount = async () =>
      Number(
        (
          await db.one<{ n: string }>(
            `select count(*) as n from files where status in ('done', 'processing_failed', 'error', 'acquisition_failed')`,
          )
        ).n,
      );
    const faults: Record<number, () => Promise<void>> = {
      0: async () => {
        await kill9('astral'); // a pinned worker dies mid-run ...
        await start('astral', roles.astral!); // ... and its replacement takes over expired leases
      },
      1: async () => {
        await kill9('web');
        await start('web', roles.web!);
        // the instrument's share disappears for a while (unmounted), then comes back
        await rename(path.join(root, 'tims1'), path.join(root, 'tims1.away'));
        await waitFor(
          'tims1 offline',
          async () =>
            (await db.maybeOne<{ online: boolean }>(`select online from instruments where id = 'tims1'`))
              ?.online === false,
          60_000,
          200,
        );
        // it stays away until the operators have been told
        await waitFor(
          'an instrument_offline alert for tims1',
          async () => alerts.some((a) => a.rule === 'instrument_offline' && a.subject === 'tims1'),
          120_000,
          200,
        );
        await rename(path.join(root, 'tims1.away'), path.join(root, 'tims1'));
      },
      2: async () => {
        await kill9('general'); // processing and schedules move to ... nobody until it restarts
        await start('general', roles.general!);
      },
      3: async () => {
        await kill9('tims');
        await start('tims', roles.tims!);
      },
    };
    for (let b = 0; b < BATCHES; b++) {
      await writeBatch(b);
      const target = (b + 1) * (PER_INSTRUMENT / BATCHES) * 2;
      // let part of the batch flow through, then inject the fault while the rest is in flight
      await waitFor(
        `files of batch ${b} under way`,
        async () => (await doneCount()) >= target - 60,
        240_000,
        250,
      );
      await faults[b]?.();
    }

    const total = PER_INSTRUMENT * 2;
    await waitFor(
      `all ${total} files terminal`,
      async () => {
        const rows = await statuses();
        return rows.length === total && rows.every((r) => r.status === expectedStatus(r.name));
      },
      300_000,
      500,
    ).catch(async (err) => {
      const wrong = (await statuses()).filter((r) => r.status !== expectedStatus(r.name)).slice(0, 10);
      throw new Error(`${(err as Error).message}; e.g. ${JSON.stringify(wrong)}`);
    });

    // the restarted web server answers
    expect((await fetch(`${web()}/readyz`)).status).toBe(200);

    // each file exactly once, and the injected faults ended where they should
    const rows = await statuses();
    expect(new Set(rows.map((r) => r.name)).size).toBe(total);
    const by = (s: string) => rows.filter((r) => r.status === s).length;
    expect(by('acquisition_failed')).toBe(5);
    expect(by('processing_failed')).toBe(10);
    expect(by('error')).toBe(10);
    expect(by('done')).toBe(total - 25);
    expect(
      rows
        .filter((r) => r.status === 'processing_failed')
        .every((r) => r.status_reason?.includes('no identifiable peptides')),
    ).toBe(true);

    // every acquired file has exactly one verified backup, whose hash is the source's
    const copies = await db.query<{
      file_id: string;
      name: string;
      manifest: { entries: { hash: string }[] };
    }>(
      `select c.file_id, f.name, c.manifest from copies c join files f on f.id = c.file_id where c.state = 'verified'`,
    );
    expect(copies.length).toBe(total - 5);
    for (const c of copies.filter((c) => c.name.endsWith('.raw')))
      expect(c.manifest.entries[0]!.hash, c.name).toBe(sourceHashes.get(c.name));
    // every processed file's output is there
    for (const r of rows.filter((r) => r.status === 'done' && r.name.endsWith('.raw')).slice(0, 20)) {
      const job = await db.one<{ output_dir: string; state: string }>(
        `select output_dir, state from jobs where file_id = $1 and state = 'COMPLETED'`,
        [r.id],
      );
      expect(await readFile(path.join(job.output_dir, 'result.txt'), 'utf8')).toBe(`processed ${r.name}\n`);
    }
    // no partial copy left anywhere in the backup
    const leftovers = (await readdir(path.join(root, 'backup'), { recursive: true })).filter((e) =>
      String(e).includes('sluice-partial'),
    );
    expect(leftovers).toEqual([]);
  });

  it('the injected faults were alerted to the webhook receiver', async () => {
    // jobs that ended in error, the instrument that went offline, the killed workers
    await waitFor(
      'alerts for every injected fault',
      async () => {
        const rules = new Set(alerts.map((a) => a.rule));
        return ['file_error', 'instrument_offline', 'stale_worker'].every((r) => rules.has(r));
      },
      120_000,
      250,
    ).catch((err) => {
      throw new Error(
        `${(err as Error).message}; received ${JSON.stringify(alerts.map((a) => [a.rule, a.subject]))}`,
      );
    });
    const errored = (await statuses()).filter((r) => r.status === 'error').map((r) => r.id);
    const fileErrors = new Set(alerts.filter((a) => a.rule === 'file_error').map((a) => a.subject));
    await waitFor(
      'a file_error alert per errored file',
      async () => errored.every((id) => fileErrors.has(id)) || undefined,
      60_000,
      250,
    ).catch(() => undefined);
    expect(
      errored.filter(
        (id) => !new Set(alerts.filter((a) => a.rule === 'file_error').map((a) => a.subject)).has(id),
      ),
    ).toEqual([]);
    expect(alerts.some((a) => a.rule === 'instrument_offline' && a.subject === 'tims1')).toBe(true);
    // no alert was sent twice for the same rule and subject (cooldown 60 min)
    const keys = alerts.map((a) => `${a.rule}|${a.subject}`);
    expect(keys.length).toBe(new Set(keys).size);
  });

  it('backs the database up while the workers run, and restores it into an empty database', async () => {
    const dump = path.join(root, 'system.sluicedump');
    const backup = await sluice(['db', 'backup', '--output', dump, '--json'], { env });
    expect(backup.code, backup.stderr).toBe(0);
    const admin = new pg.Client({ connectionString: dbUrl.replace(/\/[^/]*$/, '/postgres') });
    await admin.connect();
    await admin.query('create database restored');
    await admin.end();
    const restoredUrl = dbUrl.replace(/\/[^/]*$/, '/restored');
    const restore = await sluice(['db', 'restore', dump, '--json'], {
      env: { ...env, DATABASE_URL: restoredUrl },
    });
    expect(restore.code, restore.stderr).toBe(0);
    const rdb = createDb(restoredUrl);
    try {
      const q = `select f.id, f.status, f.manifest, (select count(*) from copies c where c.file_id = f.id) as copies,
                   (select count(*) from jobs j where j.file_id = f.id) as jobs,
                   (select count(*) from events e where e.subject_type = 'file' and e.subject_id = f.id) as events
                 from files f order by f.id`;
      const restored = await rdb.query(q);
      // the workers are idle by now: the live database still holds exactly what was backed up
      expect(restored).toHaveLength(PER_INSTRUMENT * 2);
      expect(restored).toEqual(await db.query(q));
      // a restore refuses a database that holds data, unless forced
      const again = await sluice(['db', 'restore', dump], { env: { ...env, DATABASE_URL: restoredUrl } });
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(/--force/);
    } finally {
      await rdb.close();
    }
  });

  it('sluice doctor flags 10 injected misconfigurations', async () => {
    const bad = path.join(root, 'bad');
    await mkdir(bad);
    // a database one migration behind (as after restoring an old backup), where a worker runs
    // that carries the wrong tags
    const admin = new pg.Client({ connectionString: dbUrl.replace(/\/[^/]*$/, '/postgres') });
    await admin.connect();
    await admin.query('create database doctor_db');
    await admin.end();
    const doctorUrl = dbUrl.replace(/\/[^/]*$/, '/doctor_db');
    const migrated = await sluice(['db', 'migrate'], {
      env: { DATABASE_URL: doctorUrl, SLUICE_CONFIG: path.join(root, 'sluice.yaml') },
    });
    expect(migrated.code, migrated.stderr).toBe(0);
    const ddb = createDb(doctorUrl);
    await ddb.query(
      'delete from sluice_migrations where version = (select max(version) from sluice_migrations)',
    );
    await ddb.query(
      `insert into workers (id, host, pid, role, tags, version) values ('w-other', 'elsewhere', 1, 'worker', '{instrument:other}', 'test')`,
    );
    await ddb.close();
    await writeFile(path.join(bad, 'a-file'), 'not a folder');
    await writeFile(path.join(bad, 'b-file'), 'not a folder either');
    for (const d of ['plain-dir', 'tagged-dir']) await mkdir(path.join(bad, d));
    await writeFile(path.join(bad, 'id_key'), 'not really a key');
    await chmod(path.join(bad, 'id_key'), 0o644);
    await writeFile(
      path.join(bad, 'sluice.yaml'),
      `data_dir: ./data
instruments:
  missing1: { type: thermo, watch: ./no-such-folder }
  isfile1: { type: thermo, watch: ./a-file }
  unmounted1: { type: thermo, watch: ./plain-dir, require_mount: true }
  tagged1: { type: thermo, watch: ./tagged-dir, tags: [instrument:tagged1] }
backup: { path: ./b-file } # not ./a-file: a backup path inside a watch folder is a config error
processing:
  executor: slurm
  output_path: ./a-file/output
  slurm:
    ssh:
      hosts: ["127.0.0.1:1"]
      user: nobody
      key_file: ./id_key
      known_hosts: ./no_known_hosts
      connect_timeout_seconds: 2
`,
    );
    const r = await sluice(['doctor', '--json'], {
      env: { SLUICE_CONFIG: path.join(bad, 'sluice.yaml'), DATABASE_URL: doctorUrl },
      cwd: bad,
    });
    expect(r.code, r.stderr).toBe(1);
    const { ok, results } = JSON.parse(r.stdout) as {
      ok: boolean;
      results: { status: string; check: string; target: string }[];
    };
    expect(ok).toBe(false);
    const failed = results.filter((x) => x.status === 'fail').map((x) => `${x.check}: ${x.target}`);
    const expected = [
      /^schema/,
      /^watch folder: missing1/,
      /^watch folder: isfile1/,
      /^mount: unmounted1/,
      /^worker tags: tagged1/,
      /^backup path/,
      /^output path/,
      /^ssh key/,
      /^known_hosts/,
      /^executor/,
    ];
    for (const e of expected)
      expect(
        failed.filter((f) => e.test(f)),
        `${e} in ${failed.join('\n')}`,
      ).toHaveLength(1);
    expect(failed).toHaveLength(10);
  });
});
