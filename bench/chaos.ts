/**
 * Chaos benchmark (issue #16): does anything get lost, or does any record lie, when everything that
 * can go wrong does? `npm run bench -- chaos` (as root; needs ~10 minutes at full size).
 *
 * What it runs, all of it real and its own: an embedded PostgreSQL the bench starts (and kills),
 * reached by Sluice through DATABASE_URL; one `sluice start --role web` and three
 * `sluice start --role worker` (the third inside a network namespace of its own, reaching PostgreSQL
 * over a veth pair with /30 addresses that exist only on this machine); three instruments (thermo,
 * bruker, sciex); a backup folder that is a bind mount of another folder; local processing with a
 * tiny job script (bench/chaos/job.sh) that logs each start; the remover enabled with a free-space
 * target no disk meets, so it deletes every instrument copy it may.
 *
 * What it does to them while BENCH_CHAOS_SETS raw data sets are written (`.raw` files, `.d` folders,
 * `.wiff` + `.wiff.scan` sets; some replaced with other content under the same name once Sluice
 * has them `acquired` or backed up, some growing for several seconds, some with Latin-1 (non-UTF-8)
 * names or members, some with 255-byte names, a few large):
 *  - BENCH_CHAOS_KILLS (50) kill -9 of a worker, aimed in turn at the holder of a running
 *    `backup.copy`, `process.submit`, `cleanup.remove` and `backup.fixity` task (an aim with no
 *    such task running within 4 s falls back to a random worker), each restarted at once;
 *  - BENCH_CHAOS_PG_KILLS (2) kill -9 of the PostgreSQL postmaster, restarted by the bench after
 *    BENCH_CHAOS_PG_DOWN_S (3) seconds (Sluice does not own a DATABASE_URL server);
 *  - the backup target unmounted (lazy `umount -l` of the bind mount) for BENCH_CHAOS_UNMOUNT_S (60)
 *    seconds, then mounted again;
 *  - the namespaced worker cut off from PostgreSQL (`ip link set down` on the host's veth end) for
 *    2 × lease_seconds while it holds a running `backup.copy` (four large "bait" sets are written
 *    to make one); it must stop, and its work must not land after the lease was taken over.
 * The remover's schedule (every 15 minutes in the product) and the fixity audit's (hourly) are made
 * due every 5 s by the bench; the audit is set to re-read every copy each run (`cycle_days` of
 * 15 minutes) at 20 MB/s, so an audit is running most of the time and the remover, the copies and
 * the unmount meet it.
 * Then it settles: waits until no file-work task (backup.copy, process.submit/cancel, cleanup.move)
 * is queued or running, no job is active, and every record is terminal and not mid-removal, for 3
 * polls in a row; or until only retries of failing tasks are left and the counts of records per
 * status, copies and jobs per state did not change for BENCH_CHAOS_QUIET_S (45; that wait is not
 * counted in settle_s); at most BENCH_CHAOS_SETTLE_CAP_S (300). Finally it checks everything against its
 * own ledger (sets.ts) by reading the backup and instrument folders itself.
 *
 * The counts of the last line (goal: every one 0):
 *  - `sets`: data sets written (bait sets included); `versions` counts replaced ones twice.
 *  - `lost`: versions the bench never deleted whose bytes (every member's sha256) are neither in any
 *    copy the database calls verified (read from the backup storage now) nor anywhere on the
 *    instrument (hidden remover folders included).
 *  - `wrong_content`: records with a verified copy whose bytes, read now at the copy's location,
 *    are not the version the record acquired (the version the bench was writing under that name
 *    when the record was first seen); a copy missing at its location counts too.
 *  - `stuck`: records not in a terminal status (or still `removing`) after settling, plus versions
 *    still on an instrument that no record stands for (never recorded, e.g. a non-UTF-8 name, or a
 *    replacement taken for the old content).
 *  - `duplicate_jobs`: job starts logged by job.sh beyond the number of job rows (attempts) Sluice
 *    recorded for that file.
 *  - `unsafe_deletions`: records whose instrument copy Sluice deleted (bytes no longer on the
 *    instrument) while the record has no verified copy holding exactly the bytes it acquired (when
 *    the bench had replaced those bytes already, what Sluice deleted is the newer content: unsafe
 *    when no verified copy anywhere holds that).
 *  - `manual_steps`: records in `error` (nothing in this run should fail, so a retry would fix each;
 *    except a record whose bytes the bench replaced before any copy: that error only reports a loss),
 *    records whose status says a verified backup exists while none is verified any more (a remover
 *    marked it corrupt) and nothing copies it again, plus processes that exited by themselves or did not recover (a worker without heartbeat, or the
 *    web server not ready, 60 s after PostgreSQL or its network came back) and had to be restarted.
 *  - `settle_s`: seconds from the end of writing and faults until settled (the cap if never).
 * Extra keys say what was skipped and why, and give the evidence behind each count.
 *
 * Sizes scale with BENCH_CHAOS_SET_KB (96), BENCH_CHAOS_LARGE_MB (16), BENCH_CHAOS_PHASE_S (300:
 * writing takes the first 60 % of it, faults are spread over all of it) and BENCH_CHAOS_LEASE_S (10).
 * BENCH_CHAOS_SKIP=netns,unmount,pgkill,kills skips faults; BENCH_CHAOS_KEEP=1 keeps the run folder;
 * BENCH_CHAOS_OVERLAY=FILE is copied in as the config's `sluice.local.yaml` overlay (e.g. to turn on
 * settings of a newer version). Everything the run started is stopped, unmounted and deleted at the
 * end, on failure and on Ctrl-C too.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type EmbeddedServer, freePort, startEmbedded } from '../src/core/db/embedded.ts';
import { silentLogger } from '../src/core/log.ts';
import { textToName } from '../src/core/names.ts';
import { BACKED_UP as LIFECYCLE_BACKED_UP, TERMINAL as LIFECYCLE_TERMINAL } from '../src/files/lifecycle.ts';
import { Kind } from '../src/tasks/catalogue.ts';
import {
  alive,
  bindMount,
  type Capabilities,
  isMounted,
  kill9,
  makeNetNs,
  type NetNs,
  type Proc,
  probe,
  REPO,
  removeNetNs,
  type SpawnSpec,
  setLink,
  sleep,
  startSluice,
  stopGracefully,
  sweep,
  unmount,
  waitUntil,
} from './chaos/infra.ts';
import {
  contentIndex,
  type DataSet,
  deleteSet,
  fingerprintAt,
  type InstrumentType,
  planSets,
  shown,
  type Version,
  writeVersion,
} from './chaos/sets.ts';
import { isMain, printResult, printTable } from './lib.ts';

const env = (k: string, d: number) => {
  const v = process.env[k];
  return v === undefined || v === '' ? d : Number(v);
};
const SETS = env('BENCH_CHAOS_SETS', 1000);
const KILLS = env('BENCH_CHAOS_KILLS', 50);
const PG_KILLS = env('BENCH_CHAOS_PG_KILLS', 2);
const PHASE_S = env('BENCH_CHAOS_PHASE_S', 300);
const UNMOUNT_S = env('BENCH_CHAOS_UNMOUNT_S', 60);
const PG_DOWN_S = env('BENCH_CHAOS_PG_DOWN_S', 3);
const LEASE_S = env('BENCH_CHAOS_LEASE_S', 10);
const SETTLE_CAP_S = env('BENCH_CHAOS_SETTLE_CAP_S', 420);
const SET_KB = env('BENCH_CHAOS_SET_KB', 96);
const LARGE_MB = env('BENCH_CHAOS_LARGE_MB', 16);
const SEED = env('BENCH_CHAOS_SEED', 16);
const SKIP = new Set((process.env.BENCH_CHAOS_SKIP ?? '').split(',').filter(Boolean));
const KEEP = process.env.BENCH_CHAOS_KEEP === '1';
const BAIT_SETS = 4;
const STABLE_S = 4;
/** Settled also when only failing retries are left and nothing changed for this long. */
const QUIET_S = env('BENCH_CHAOS_QUIET_S', 45);

const INSTRUMENTS: Record<InstrumentType, string> = { thermo: 'orbi1', bruker: 'tims1', sciex: 'qtrap1' };
/** The product's own lists (src/files/lifecycle.ts), as plain strings for comparisons and SQL. */
const TERMINAL: string[] = [...LIFECYCLE_TERMINAL];
const BACKED_UP: string[] = [...LIFECYCLE_BACKED_UP];
/** File work that settling waits for (periodic scans, remover passes and polls never stop). */
const FILE_WORK = ['backup.copy', 'process.submit', 'process.cancel', 'cleanup.move'];

/** mulberry32: the run's choices repeat with the same BENCH_CHAOS_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Slot {
  spec: SpawnSpec;
  proc?: Proc;
  restarting: boolean;
}

/** Everything the run learns, for the report. */
interface Journal {
  skipped: Record<string, string>;
  notes: string[];
  manual: string[];
  kills: { aim: string; hit: boolean; worker: string; at: number }[];
  pgKills: { at: number; downS: number; restartS: number }[];
  unmount?: { from: number; to: number };
  partition?: Record<string, unknown>;
  restartFailures: number;
}

export async function run(): Promise<Record<string, unknown>> {
  const started = Date.now();
  const rand = prng(SEED);
  const tag = `chx${process.pid}`;
  const marker = `${tag}-${randomBytes(4).toString('hex')}`;
  process.env.SLUICE_CHAOS_RUN = marker; // inherited by every process the run starts, PostgreSQL too
  const root = await mkdtemp('/tmp/sluice-chaos-');
  await chmod(root, 0o755); // the postgres user must pass through
  const j: Journal = { skipped: {}, notes: [], manual: [], kills: [], pgKills: [], restartFailures: 0 };
  const dirs = {
    inst: (t: InstrumentType) => path.join(root, 'inst', INSTRUMENTS[t]),
    backup: path.join(root, 'backup'),
    store: path.join(root, 'backup-store'),
    output: path.join(root, 'output'),
    logs: path.join(root, 'logs'),
    jobsLog: path.join(root, 'jobs.log'),
  };
  let stopping = false;
  let ns: NetNs | undefined;
  let pgServer: EmbeddedServer | undefined;
  let pool: pg.Pool | undefined;
  const slots = new Map<string, Slot>();

  const cleanup = async () => {
    stopping = true;
    for (const s of slots.values()) if (s.proc) await kill9(s.proc).catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await pgServer?.stop().catch(() => undefined);
    const swept = await sweep(marker, root);
    if (swept) j.notes.push(`cleanup killed ${swept} leftover process(es) of the run (jobs, PostgreSQL)`);
    if (ns) await removeNetNs(ns);
    for (let i = 0; i < 5 && (await isMounted(dirs.backup)); i++)
      await unmount(dirs.backup).catch(() => undefined);
    if (!KEEP) await rm(root, { recursive: true, force: true }).catch(() => undefined);
    else console.log(`kept ${root}`);
  };
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`${sig}: cleaning up…`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const caps: Capabilities = await probe(root, tag);
    const skip = (fault: string, why: string | undefined) => {
      if (why) {
        j.skipped[fault] = why;
        console.log(`SKIPPED ${fault}: ${why}`);
      }
      return !!why;
    };
    const useNetns = !skip('netns', SKIP.has('netns') ? 'BENCH_CHAOS_SKIP' : caps.netns);
    const useMount = !skip('unmount', SKIP.has('unmount') ? 'BENCH_CHAOS_SKIP' : caps.mount);
    skip('pgkill', SKIP.has('pgkill') ? 'BENCH_CHAOS_SKIP' : undefined);
    skip('kills', SKIP.has('kills') ? 'BENCH_CHAOS_SKIP' : undefined);

    for (const t of Object.keys(INSTRUMENTS) as InstrumentType[])
      await mkdir(dirs.inst(t), { recursive: true });
    for (const d of [dirs.backup, dirs.store, dirs.output, dirs.logs]) await mkdir(d, { recursive: true });
    await writeFile(dirs.jobsLog, '');
    if (useNetns) ns = await makeNetNs(tag, process.pid);
    if (useMount) await bindMount(dirs.store, dirs.backup);

    // PostgreSQL: ours, so we can kill it; listening on the veth's host end too
    const pgPort = await freePort();
    const pgSettings = {
      listen_addresses: ns ? `127.0.0.1,${ns.hostIp}` : '127.0.0.1',
      fsync: 'off', // a kill -9 of PostgreSQL is not a machine crash: the page cache keeps what it wrote
      full_page_writes: 'off',
    };
    const startPg = () =>
      startEmbedded({
        dataDir: path.join(root, 'pg'),
        port: pgPort,
        log: silentLogger,
        settings: pgSettings,
      });
    pgServer = await startPg();
    const url = pgServer.url;
    if (ns) {
      await appendFile(
        path.join(root, 'pg', 'postgres', 'pg_hba.conf'),
        `host all all ${ns.nsIp}/32 scram-sha-256\n`,
      );
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query('select pg_reload_conf()');
      await c.end();
    }
    pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5000 });
    pool.on('error', () => undefined); // idle connections break when PostgreSQL is killed
    const db = pool;
    const q = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) =>
      (await db.query<T>(sql, params)).rows;

    const webPort = await freePort();
    await writeFile(path.join(root, 'sluice.yaml'), config(root, webPort));
    if (process.env.BENCH_CHAOS_OVERLAY)
      await copyFile(process.env.BENCH_CHAOS_OVERLAY, path.join(root, 'sluice.local.yaml'));
    const baseEnv = {
      DATABASE_URL: url,
      SLUICE_CONFIG: path.join(root, 'sluice.yaml'),
      SLUICE_LOG_LEVEL: 'info',
    };
    const spec = (name: string, args: string[], inNs = false): SpawnSpec => ({
      name,
      args,
      env: inNs && ns ? { ...baseEnv, DATABASE_URL: url.replace('@127.0.0.1:', `@${ns.hostIp}:`) } : baseEnv,
      netns: inNs ? ns?.name : undefined,
      logFile: path.join(dirs.logs, `${name}.log`),
    });
    slots.set('web', { spec: spec('web', ['--role', 'web', '--port', String(webPort)]), restarting: false });
    for (const w of ['w1', 'w2', 'w3'])
      slots.set(w, { spec: spec(w, ['--role', 'worker'], w === 'w3'), restarting: false });

    /** (Re)starts a slot; a process that exits without the bench killing it is a manual step. */
    const launch = async (name: string): Promise<void> => {
      const s = slots.get(name)!;
      s.restarting = true;
      for (let attempt = 1; !stopping; attempt++) {
        try {
          const p = await startSluice(s.spec);
          s.proc = p;
          p.child.once('exit', (code, signal) => {
            if (p.killedByBench || stopping) return;
            j.manual.push(
              `${name} (pid ${p.pid}) exited by itself (${code ?? signal}) at ${secs(started)} s; restarted by the bench`,
            );
            void launch(name);
          });
          break;
        } catch (err) {
          j.restartFailures++;
          if (attempt === 1 || attempt % 10 === 0)
            j.notes.push(
              `${name} did not start (attempt ${attempt}): ${(err as Error).message.split('\n')[0]}`,
            );
          await sleep(1000);
        }
      }
      s.restarting = false;
    };
    await launch('web'); // migrates; the workers then start on a ready schema
    await Promise.all(['w1', 'w2', 'w3'].map(launch));
    console.log(
      `started web + 3 workers (w3 ${ns ? `in namespace ${ns.name}` : 'on the host'}) at ${secs(started)} s`,
    );
    const t0 = Date.now(); // the phase clock: writing and faults are timed from here

    // the ledger, and the feed that writes it
    const sets = planSets(SETS, INSTRUMENTS, rand);
    const dirOf = (s: DataSet) => dirs.inst(s.type);
    const wopts = {
      plainBytes: () => Math.round(SET_KB * 1024 * (0.4 + 1.2 * rand())),
      largeBytes: LARGE_MB * 1024 * 1024,
      growSteps: 12,
    };
    const recordOf = async (s: DataSet) =>
      (
        await q<{ status: string }>(
          'select status from files where instrument_id = $1 and name = $2 order by created_at desc limit 1',
          [s.instrument, s.name.toString()],
        )
      )[0]?.status;
    let replacedEarly = 0;
    const writeSet = async (s: DataSet) => {
      const v1 = await writeVersion(dirOf(s), s, wopts);
      s.versions.push(v1);
      if (s.variant !== 'replaced') return;
      // every other one as soon as Sluice has it acquired (before its copy), the rest once backed up
      const early = s.idx % 2 === 0;
      const want = early ? ['acquired', 'backing_up'] : ['backed_up', 'processing', 'processed', 'done'];
      const seen = await waitUntil(
        async () => {
          const st = await recordOf(s);
          return st && (want.includes(st) || TERMINAL.includes(st)) ? st : undefined;
        },
        90_000,
        250,
      );
      if (early && seen && want.includes(seen)) replacedEarly++;
      v1.replacedAt = Date.now();
      await deleteSet(dirOf(s), s);
      s.versions.push(await writeVersion(dirOf(s), s, wopts, 1));
    };
    const feedS = PHASE_S * 0.6;
    let lastWriteAt = Date.now();
    const feed = (async () => {
      const inFlight: Promise<void>[] = [];
      for (const [i, s] of [...sets].entries()) {
        const due = t0 + (feedS * 1000 * i) / sets.length;
        while (Date.now() < due && !stopping) await sleep(Math.min(200, due - Date.now()));
        if (stopping) break;
        inFlight.push(
          writeSet(s).catch(
            (err) => void j.notes.push(`writing ${shown(s.name)}: ${(err as Error).message}`),
          ),
        );
      }
      await Promise.all(inFlight);
      lastWriteAt = Date.now();
    })();

    // the remover and the fixity audit every 5 s instead of every 15 minutes / every hour
    const nudger = setInterval(() => {
      void db
        .query(`update schedules set next_run_at = now() where kind = any($1)`, [
          [Kind.cleanupRemove, Kind.backupFixity],
        ])
        .catch(() => undefined);
    }, 5000);

    const workerOf = (owner: string | null): string | undefined => {
      const pid = Number(/-(\d+)-[0-9a-f]+$/.exec(owner ?? '')?.[1]);
      for (const [name, s] of slots)
        if (name !== 'web' && s.proc && s.proc.pid === pid && alive(s.proc)) return name;
      return undefined;
    };
    let partitionActive = false;
    const killable = (name: string) => {
      const s = slots.get(name)!;
      return !s.restarting && s.proc && alive(s.proc) && !(partitionActive && name === 'w3');
    };

    // 50 kill -9, aimed at workers in the middle of something
    const kills = (async () => {
      if (SKIP.has('kills')) return;
      const aims = [Kind.backupCopy, Kind.processSubmit, Kind.cleanupRemove, Kind.backupFixity, 'any'];
      for (let k = 0; k < KILLS && !stopping; k++) {
        const due = t0 + (PHASE_S * 1000 * (k + 0.5)) / KILLS;
        while (Date.now() < due && !stopping) await sleep(Math.min(200, due - Date.now()));
        const aim = aims[k % aims.length]!;
        let victim: string | undefined;
        if (aim !== 'any') {
          victim = await waitUntil(
            async () => {
              const rows = await q<{ lease_owner: string }>(
                `select lease_owner from tasks where state = 'running' and lease_expires_at > now() and kind = $1`,
                [aim],
              );
              return rows.map((r) => workerOf(r.lease_owner)).find((w) => w && killable(w));
            },
            4000,
            50,
          );
        }
        const hit = victim !== undefined;
        if (!victim) {
          // a random worker that is up (and has had some seconds to pick up work): when all are
          // still restarting, wait for one rather than drop the kill
          victim = await waitUntil(async () => {
            const choices = ['w1', 'w2', 'w3'].filter(
              (w) => killable(w) && Date.now() - slots.get(w)!.proc!.startedAt > 5000,
            );
            return choices[Math.floor(rand() * choices.length)];
          }, 180_000);
        }
        if (!victim) {
          j.notes.push(`kill ${k + 1} dropped: no worker up for 180 s`);
          continue;
        }
        await kill9(slots.get(victim)!.proc!);
        j.kills.push({ aim, hit, worker: victim, at: secs(started) });
        void launch(victim);
      }
    })();

    // the scheduled faults: unmount, PostgreSQL kills, the partition
    const at = async (fraction: number) => {
      const due = t0 + PHASE_S * 1000 * fraction;
      while (Date.now() < due && !stopping) await sleep(Math.min(200, due - Date.now()));
    };
    /** After PostgreSQL or the network came back: every process must work again by itself. */
    const recovered = async (since: number, what: string) => {
      const web = await waitUntil(
        async () => (await fetch(`http://127.0.0.1:${webPort}/readyz`)).status === 200,
        60_000,
        500,
      );
      if (!web && !slots.get('web')!.restarting) {
        j.manual.push(`web not ready 60 s after ${what}; restarted by the bench`);
        await kill9(slots.get('web')!.proc!);
        void launch('web');
      }
      for (const w of ['w1', 'w2', 'w3']) {
        const s = slots.get(w)!;
        const beat = await waitUntil(
          async () => {
            if (!s.proc || s.restarting || !alive(s.proc)) return true; // being restarted anyway
            const r = await q<{ ok: boolean }>(
              `select last_heartbeat_at > to_timestamp($2 / 1000.0) as ok from workers where pid = $1 order by started_at desc limit 1`,
              [s.proc.pid, since],
            );
            return r[0]?.ok;
          },
          60_000,
          500,
        );
        if (!beat && s.proc && alive(s.proc) && !s.restarting) {
          j.manual.push(`${w} without heartbeat 60 s after ${what}; restarted by the bench`);
          await kill9(s.proc);
          void launch(w);
        }
      }
    };
    const killPg = async () => {
      const pidFile = path.join(root, 'pg', 'postgres', 'postmaster.pid');
      const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
      const t0 = Date.now();
      process.kill(pid, 'SIGKILL');
      await sleep(PG_DOWN_S * 1000);
      const up = await waitUntil(async () => (pgServer = await startPg()), 120_000, 1000);
      if (!up) throw new Error('PostgreSQL did not start again within 120 s of its kill');
      j.pgKills.push({ at: secs(started, t0), downS: PG_DOWN_S, restartS: secs(t0) });
      await recovered(Date.now(), 'the PostgreSQL restart');
    };
    /** Cuts w3 off while it copies, for 2 × lease_seconds; what happened to its task. */
    const partition = async (): Promise<Record<string, unknown>> => {
      const net = ns!;
      const bait: DataSet[] = [];
      for (let i = 0; i < BAIT_SETS; i++) {
        const s: DataSet = {
          idx: SETS + i,
          instrument: INSTRUMENTS.thermo,
          type: 'thermo',
          kind: 'file',
          name: Buffer.from(`chaos_thermo_bait_${String(SETS + i).padStart(5, '0')}.raw`),
          variant: 'bait',
          versions: [],
        };
        sets.push(s);
        bait.push(s);
      }
      await Promise.all(
        bait.map(async (s) =>
          s.versions.push(
            await writeVersion(dirOf(s), s, { ...wopts, largeBytes: 3 * LARGE_MB * 1024 * 1024 }),
          ),
        ),
      );
      const w3 = slots.get('w3')!;
      const task = await waitUntil(
        async () => {
          if (!w3.proc || !alive(w3.proc)) return undefined;
          const rows = await q<{ id: string; token: string; subject: string; lease_owner: string }>(
            `select id, token, subject, lease_owner from tasks where kind = 'backup.copy' and state = 'running' and lease_owner like $1`,
            [`%-${w3.proc.pid}-%`],
          );
          return rows[0];
        },
        120_000,
        25,
      );
      const w3log = path.join(dirs.logs, 'w3.log');
      const logFrom = (await stat(w3log)).size;
      partitionActive = true;
      const down = Date.now();
      await setLink(net, false);
      // still its copy after the cut (read from the host side), or had it just finished?
      const still = task
        ? (
            await q<{ n: string }>(
              `select count(*) as n from tasks where id = $1 and state = 'running' and token = $2`,
              [task.id, task.token],
            )
          )[0]?.n === '1'
        : false;
      console.log(
        `w3 cut off at ${secs(started)} s${task ? ` while it copies ${task.subject} (task ${task.id})` : ' (it held no copy)'}`,
      );
      let takeover: { at: number; owner: string | null; token: string } | undefined;
      while (Date.now() - down < 2 * LEASE_S * 1000) {
        if (task && !takeover) {
          const r = await q<{ lease_owner: string | null; token: string; state: string }>(
            'select lease_owner, token, state from tasks where id = $1',
            [task.id],
          ).catch(() => []);
          if (r[0] && r[0].token !== task.token)
            takeover = { at: secs(down), owner: r[0].lease_owner, token: r[0].token };
        }
        await sleep(250);
      }
      await setLink(net, true);
      const up = Date.now();
      await recovered(up, 'its network came back');
      await sleep(2 * LEASE_S * 1000);
      const log = (await readFile(w3log, 'utf8')).slice(logFrom);
      const w3Alive = !!w3.proc && alive(w3.proc);
      partitionActive = false; // w3 may be killed again from here
      const result: Record<string, unknown> = {
        held_copy: !!task,
        still_copying_after_cut: still,
        task: task?.id,
        file: task?.subject,
        cut_s: secs(down, up),
        taken_over_after_s: takeover?.at ?? null,
        taken_over_by: takeover ? (workerOf(takeover.owner) ?? takeover.owner) : null,
        w3_said_lease_lost: /lease lost|cannot reach the database to keep the lease/.test(log),
        w3_alive_after: w3Alive,
      };
      if (task) {
        const t = await q<{
          state: string;
          lease_owner: string | null;
          token: string;
          last_error: string | null;
        }>('select state, lease_owner, token, last_error from tasks where id = $1', [task.id]);
        result.task_after = t[0];
      }
      return result;
    };

    const faults = (async () => {
      if (useMount) {
        await at(0.15);
        const from = Date.now();
        await unmount(dirs.backup);
        console.log(`backup unmounted at ${secs(started)} s for ${UNMOUNT_S} s`);
        await sleep(UNMOUNT_S * 1000);
        await bindMount(dirs.store, dirs.backup);
        j.unmount = { from: secs(started, from), to: secs(started) };
      }
      if (!SKIP.has('pgkill') && PG_KILLS > 0) {
        await at(0.35);
        console.log(`PostgreSQL kill -9 at ${secs(started)} s`);
        await killPg();
      }
      if (useNetns && ns) {
        await at(0.5);
        j.partition = await partition();
      }
      for (let k = 1; k < PG_KILLS && !SKIP.has('pgkill'); k++) {
        await at(0.5 + (0.4 * k) / Math.max(1, PG_KILLS - 1));
        console.log(`PostgreSQL kill -9 at ${secs(started)} s`);
        await killPg();
      }
    })();

    await Promise.all([feed, kills, faults]);
    const settleFrom = Math.max(Date.now(), lastWriteAt);
    console.log(
      `writing and faults done at ${secs(started)} s (load ${loadavg()[0]!.toFixed(1)}); settling…`,
    );

    // settle: nothing left to do, or nothing but retries of failing tasks and no change for QUIET_S
    let quiet = 0;
    let settled: 'idle' | 'only failing retries, no change' | false = false;
    let lastState = '';
    let lastChange = Date.now();
    while (Date.now() - settleFrom < SETTLE_CAP_S * 1000) {
      const r = await q<{ work: string; retrying: string; files: string; jobs: string; state: string }>(
        `select (select count(*) from tasks where state in ('queued', 'running') and kind = any($1)) as work,
                (select count(*) from tasks where state in ('queued', 'running') and kind = any($1) and last_error is not null) as retrying,
                (select count(*) from files where not (status = any($2)) or instrument_copy = 'removing') as files,
                (select count(*) from jobs where state in ('new', 'submitting', 'PENDING', 'RUNNING')) as jobs,
                concat_ws('|', (select string_agg(status || instrument_copy || ':' || n, ',' order by status, instrument_copy)
                                 from (select status, instrument_copy, count(*) as n from files group by 1, 2) f),
                               (select count(*) || ':' || max(verified_at) from copies),
                               (select string_agg(state || ':' || n, ',' order by state) from (select state, count(*) as n from jobs group by 1) j)) as state`,
        [FILE_WORK, TERMINAL],
      ).catch(() => []);
      const row = r[0];
      if (row && row.state !== lastState) {
        lastState = row.state;
        lastChange = Date.now();
      }
      const writing = Date.now() - lastWriteAt < (STABLE_S + 6) * 1000;
      const idle = !!row && Number(row.work) + Number(row.files) + Number(row.jobs) === 0;
      quiet = !idle || writing ? 0 : quiet + 1;
      if (quiet >= 3) {
        settled = 'idle';
        break;
      }
      const failingOnly = !!row && Number(row.jobs) === 0 && Number(row.work) === Number(row.retrying);
      if (!writing && failingOnly && Date.now() - lastChange > QUIET_S * 1000) {
        settled = 'only failing retries, no change';
        break;
      }
      await sleep(1000);
    }
    // when it settled on "no change", the quiet wait does not count
    const settleS =
      settled === 'only failing retries, no change' ? secs(settleFrom, lastChange) : secs(settleFrom);
    clearInterval(nudger);
    console.log(
      `${settled ? `settled (${settled})` : `NOT settled within ${SETTLE_CAP_S} s`} at ${secs(started)} s; checking…`,
    );

    // stop every process (SIGTERM, as an operator would) so the check reads a still picture
    await Promise.all([...slots.values()].map((sl) => (sl.proc ? stopGracefully(sl.proc) : undefined)));
    const res = await check(sets, q, dirs, j);
    res.settle_s = settleS;
    res.settled = settled;
    res.replaced_before_copy_attempts = replacedEarly;
    res.elapsed_s = secs(started);
    return res;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

const secs = (from: number, to = Date.now()) => Math.round((to - from) / 100) / 10;

function config(root: string, webPort: number): string {
  const job = path.join(REPO, 'bench', 'chaos', 'job.sh');
  const inst = (type: InstrumentType, extra = '') => `
  ${INSTRUMENTS[type]}:
    type: ${type}
    watch: ./inst/${INSTRUMENTS[type]}
    scan_interval_seconds: 1
    acquisition: { stable_window_seconds: ${STABLE_S}, newer_file_means_done: false, consider_old_files_acquired: false${extra} }
    cleanup: { enabled: true, min_free_space_gb: 1000000 }`;
  return `# written by bench/chaos.ts
data_dir: ./data
server: { host: 127.0.0.1, port: ${webPort} }
worker: { lease_seconds: ${LEASE_S}, heartbeat_seconds: ${LEASE_S / 5}, poll_seconds: 0.5, concurrency: 8 }
pools: { copy: 6, cluster: 8, cleanup: 1 }
backup: { path: ./backup, fixity: { cycle_days: 0.0104, max_mb_per_second: 20 } }
cleanup: { allow_outside_production: true }
variables: { min_file_age_days: 0, cleanup_dry_run: false }
projects: { CHAOS: { tokens: [chaos] } }
instruments:${inst('thermo')}${inst('bruker', ', main_file_timeout_seconds: 900')}${inst('sciex')}
processing:
  executor: local
  output_path: ./output
  poll_seconds: 1
  environment: "true"
  settings:
    qc:
      version: 1
      software: chaos
      software_version: "1"
      resources: { cpus: 1, memory_mb: 100, time_minutes: 5 }
      template: "sh ${job} {{file_id}} {{output_dir}} {{raw_path}} ${path.join(root, 'jobs.log')}"
  assignments:
    - { settings: qc, projects: ['*'] }
`;
}

interface FileRow {
  id: string;
  instrument_id: string;
  name: string;
  kind: 'file' | 'folder' | 'files';
  status: string;
  status_reason: string | null;
  first_seen_at: Date;
  instrument_copy: string;
  /** What the scan declared acquired (files/fingerprint.ts): its total size tells the versions apart. */
  acquired_fingerprint: { size: number } | null;
}

type Query = <T extends pg.QueryResultRow>(sql: string, params?: unknown[]) => Promise<T[]>;

/** Names a record may carry for a ledger name: UTF-8 as is, Latin-1 decoded, or escaped as \xNN. */
function nameForms(name: Buffer): string[] {
  const forms = new Set<string>([name.toString('latin1')]);
  const utf8 = name.toString('utf8');
  if (Buffer.from(utf8, 'utf8').equals(name)) forms.add(utf8);
  let esc = '';
  let escU = '';
  for (const b of name) {
    const plain = b < 0x80;
    esc += plain ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
    escU += plain ? String.fromCharCode(b) : `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  forms.add(esc);
  forms.add(escU);
  forms.add(name.toString('utf8')); // with U+FFFD for the invalid bytes
  return [...forms];
}

/** The check against the ledger; returns the result object (counts first, then evidence). */
async function check(
  sets: DataSet[],
  q: Query,
  dirs: { inst: (t: InstrumentType) => string; backup: string; store: string; jobsLog: string },
  j: Journal,
): Promise<Record<string, unknown>> {
  const files = await q<FileRow>(
    'select id, instrument_id, name, kind, status, status_reason, first_seen_at, instrument_copy, acquired_fingerprint from files',
  );
  const copies = await q<{ file_id: string; location: string }>(
    `select file_id, location from copies where state = 'verified'`,
  );
  // the job log first: a start in it has its job row committed before (rows are written before submit)
  const jobLog = await readFile(dirs.jobsLog, 'utf8');
  const jobRows = await q<{ file_id: string; n: string }>(
    'select file_id, count(*) as n from jobs group by file_id',
  );

  // what the storage holds now, read by the bench
  const copyFp = new Map<string, string>(); // file id → fingerprint at its verified copy
  const kindOf = new Map(files.map((f) => [f.id, f.kind]));
  for (const c of copies)
    copyFp.set(c.file_id, await fingerprintAt(kindOf.get(c.file_id) ?? 'file', textToName(c.location)));
  const verifiedFps = new Set(copyFp.values());
  const onInstrument = new Map<InstrumentType, Set<string>>();
  for (const t of Object.keys(INSTRUMENTS) as InstrumentType[])
    onInstrument.set(t, await contentIndex(dirs.inst(t)));
  const present = (s: DataSet, v: Version) => v.members.every((m) => onInstrument.get(s.type)!.has(m.sha));

  // records ↔ ledger sets, by instrument and name
  const byName = new Map<string, DataSet>();
  for (const s of sets) for (const f of nameForms(s.name)) byName.set(`${s.instrument}\0${f}`, s);
  const recordsOf = new Map<DataSet, FileRow[]>();
  const strangers: FileRow[] = [];
  for (const f of files) {
    const s = byName.get(`${f.instrument_id}\0${f.name}`);
    if (!s) strangers.push(f);
    else recordsOf.set(s, [...(recordsOf.get(s) ?? []), f]);
  }
  /**
   * The version a record stands for: the one whose size the scan declared acquired (versions of a
   * set differ in size; a record first seen while v1 was written acquires v2 when v1 is replaced
   * before its acquisition was declared finished, as happens when the bench's wait for `acquired`
   * times out on a loaded machine); without a fingerprint, the version the bench was writing under
   * the record's name when Sluice first saw it.
   */
  const acquired = (s: DataSet, f: FileRow): Version | undefined => {
    const size = f.acquired_fingerprint?.size;
    const bySize = size === undefined ? [] : s.versions.filter((v) => v.bytes === size);
    if (bySize.length === 1) return bySize[0];
    return (
      [...s.versions].reverse().find((v) => v.startedAt <= f.first_seen_at.getTime() + 500) ?? s.versions[0]
    );
  };

  const ex = {
    lost: [] as string[],
    wrong: [] as string[],
    stuck: [] as string[],
    unsafe: [] as string[],
    error: [] as string[],
    gone: [] as string[],
  };
  let unrecorded = 0;
  let replacedBeforeCopy = 0;
  let notBackedUp = 0;
  const tell = (list: string[], s: string) => list.length < 8 && list.push(s);
  for (const s of sets) {
    const recs = recordsOf.get(s) ?? [];
    for (const [k, v] of s.versions.entries()) {
      const inCopy = verifiedFps.has(v.fp);
      const onInst = present(s, v);
      const label = `${s.instrument}/${shown(s.name)}${s.versions.length > 1 ? ` v${k + 1}` : ''} (${s.variant})`;
      if (v.replacedAt !== undefined) {
        if (!inCopy) replacedBeforeCopy++;
        continue;
      }
      if (!inCopy && !onInst)
        tell(ex.lost, `${label}: records ${recs.map((r) => `${r.id}=${r.status}`).join(', ') || 'none'}`);
      const own = recs.filter((r) => acquired(s, r) === v);
      if (own.length === 0 && onInst) {
        unrecorded++;
        tell(
          ex.stuck,
          `${label}: on the instrument, no record stands for it (records: ${recs.map((r) => `${r.id}=${r.status}`).join(', ') || 'none'})`,
        );
      }
      if (own.length > 0 && !inCopy && own.every((r) => TERMINAL.includes(r.status))) notBackedUp++;
    }
  }
  let lost = 0;
  for (const s of sets)
    for (const v of s.versions)
      if (v.replacedAt === undefined && !verifiedFps.has(v.fp) && !present(s, v)) lost++;

  let wrong = 0;
  let stuck = unrecorded;
  let unsafe = 0;
  let errors = 0;
  let backupGone = 0;
  let errorsReportingLoss = 0;
  for (const [s, recs] of recordsOf)
    for (const f of recs) {
      const v = acquired(s, f)!;
      const fp = copyFp.get(f.id);
      const label = `${f.id} (${s.variant}${s.versions.length > 1 ? `, v${s.versions.indexOf(v) + 1} of 2` : ''}) ${f.status}`;
      const right = fp === v.fp;
      if (fp !== undefined && !right) {
        wrong++;
        const other = s.versions.find((o) => o.fp === fp);
        tell(
          ex.wrong,
          `${label}: backup ${fp === 'missing' ? 'missing at its location' : other ? `holds v${s.versions.indexOf(other) + 1}` : 'holds other bytes'}`,
        );
      }
      if (!TERMINAL.includes(f.status) || f.instrument_copy === 'removing') {
        stuck++;
        tell(ex.stuck, `${label} instrument_copy=${f.instrument_copy}: ${f.status_reason ?? ''}`);
      }
      if (f.status === 'error' && v.replacedAt !== undefined && !verifiedFps.has(v.fp)) {
        // its bytes were gone before any copy: no retry brings them back, the error only reports it
        errorsReportingLoss++;
      } else if (f.status === 'error') {
        errors++;
        tell(ex.error, `${f.id}: ${(f.status_reason ?? '').slice(0, 160)}`);
      }
      if (BACKED_UP.includes(f.status) && fp === undefined) {
        backupGone++;
        tell(
          ex.gone,
          `${label}: says backed up, but no copy is verified any more and nothing copies it again`,
        );
      }
      // What Sluice deleted under this record: the record's own version, or, when the bench had
      // replaced that one already, the newer content under the same name.
      const gone = v.replacedAt === undefined ? v : s.versions.at(-1)!;
      const deleted = ['purged', 'removing', 'moved'].includes(f.instrument_copy) && !present(s, gone);
      if (deleted && (gone === v ? !right : !verifiedFps.has(gone.fp))) {
        unsafe++;
        tell(
          ex.unsafe,
          `${label} instrument_copy=${f.instrument_copy}: ${gone !== v ? 'deleted the newer content under its name, which no verified copy holds' : fp === undefined ? 'no verified copy' : fp === 'missing' ? 'its copy is missing' : 'its copy holds other bytes'}`,
        );
      }
    }
  for (const f of strangers) {
    if (!TERMINAL.includes(f.status)) stuck++;
    if (f.status === 'error') errors++;
    const fp = copyFp.get(f.id);
    if (fp !== undefined && !sets.some((s) => s.versions.some((v) => v.fp === fp))) {
      wrong++;
      tell(
        ex.wrong,
        `${f.id} (no ledger name matches ${JSON.stringify(f.name)}): backup holds bytes the bench never wrote`,
      );
    }
  }

  // jobs: starts logged by job.sh beyond the attempts Sluice recorded
  const starts = new Map<string, number>();
  for (const line of jobLog.split('\n')) {
    const [what, id] = line.split('\t');
    if (what === 'start' && id) starts.set(id, (starts.get(id) ?? 0) + 1);
  }
  const rowsPer = new Map(jobRows.map((r) => [r.file_id, Number(r.n)]));
  let duplicates = 0;
  const dupEx: string[] = [];
  for (const [id, n] of starts) {
    const extra = n - (rowsPer.get(id) ?? 0);
    if (extra > 0) {
      duplicates += extra;
      if (dupEx.length < 8) dupEx.push(`${id}: ${n} starts, ${rowsPer.get(id) ?? 0} job rows`);
    }
  }

  // what landed on the folder below the backup mount while it was unmounted
  let landed = 0;
  if (await isMounted(dirs.backup)) {
    await unmount(dirs.backup);
    landed = (await contentIndex(dirs.backup)).size;
  }

  if (j.partition?.file) {
    const id = String(j.partition.file);
    const ev = await q<{ n: string }>(
      `select count(*) as n from events where subject_type = 'file' and subject_id = $1 and to_state = 'backed_up'`,
      [id],
    );
    const cp = await q<{ n: string }>('select count(*) as n from copies where file_id = $1', [id]);
    j.partition.backed_up_events = Number(ev[0]?.n ?? 0);
    j.partition.copy_rows = Number(cp[0]?.n ?? 0);
  }
  const byStatus: Record<string, number> = {};
  for (const f of files) byStatus[f.status] = (byStatus[f.status] ?? 0) + 1;
  const kills = {
    total: j.kills.length,
    aimed_hits: Object.fromEntries(
      [Kind.backupCopy, Kind.processSubmit, Kind.cleanupRemove, Kind.backupFixity, 'any'].map((a) => [
        a,
        `${j.kills.filter((k) => k.aim === a && k.hit).length}/${j.kills.filter((k) => k.aim === a).length}`,
      ]),
    ),
  };
  const rows = [
    { count: 'lost', n: lost, examples: ex.lost.join(' | ') },
    { count: 'wrong_content', n: wrong, examples: ex.wrong.join(' | ') },
    { count: 'stuck', n: stuck, examples: ex.stuck.join(' | ') },
    { count: 'duplicate_jobs', n: duplicates, examples: dupEx.join(' | ') },
    { count: 'unsafe_deletions', n: unsafe, examples: ex.unsafe.join(' | ') },
    {
      count: 'manual_steps',
      n: errors + backupGone + j.manual.length,
      examples: [...ex.error.slice(0, 3), ...ex.gone.slice(0, 3), ...j.manual.slice(0, 3)].join(' | '),
    },
  ];
  printTable(rows);
  console.log(`records by status: ${JSON.stringify(byStatus)}`);
  console.log(`kills: ${JSON.stringify(kills)}; PostgreSQL kills: ${JSON.stringify(j.pgKills)}`);
  if (j.unmount)
    console.log(
      `backup unmounted ${j.unmount.from}–${j.unmount.to} s; files found below the mount afterwards: ${landed}`,
    );
  if (j.partition) console.log(`partition: ${JSON.stringify(j.partition)}`);
  for (const n of j.notes.slice(0, 20)) console.log(`note: ${n}`);
  for (const [k, why] of Object.entries(j.skipped)) console.log(`SKIPPED ${k}: ${why}`);

  return {
    sets: sets.length,
    lost,
    wrong_content: wrong,
    stuck,
    duplicate_jobs: duplicates,
    unsafe_deletions: unsafe,
    manual_steps: errors + backupGone + j.manual.length,
    settle_s: 0,
    versions: sets.reduce((n, s) => n + s.versions.length, 0),
    records: files.length,
    unrecorded,
    records_in_error: errors,
    errors_reporting_replaced_before_copy: errorsReportingLoss,
    backups_gone_not_redone: backupGone,
    processes_restarted_by_hand: j.manual.length,
    not_backed_up: notBackedUp,
    replaced_before_copy: replacedBeforeCopy,
    landed_below_backup_mount: landed,
    kills: j.kills.length,
    pg_kills: j.pgKills.length,
    restart_failures: j.restartFailures,
    partition: j.partition ?? null,
    skipped: j.skipped,
    by_status: byStatus,
  };
}

if (isMain(import.meta.url)) printResult(await run());
