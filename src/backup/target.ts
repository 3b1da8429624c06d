/**
 * Is the backup target the right disk? Checked before every copy (backup-task.ts) and every remover
 * pass (cleanup/remove.ts), and by `sluice doctor`; and each filesystem target of `backup.targets`
 * (a `TargetPlace` of its own: path, `require_mount`, recorded copies; backup/fs-target/).
 *
 * Found in acceptance: with the backup share unmounted (or its folder renamed away) Sluice recreated
 * the folder on the root disk, "verified" copies there, and the remover then deleted the instrument
 * copies. Two guards:
 *  - `backup.require_mount`: `backup.path` must be a mount point (as `instruments.*.require_mount`).
 *  - A marker file `<backup.path>/.sluice-backup-target` naming the instance (`instance.name`). A
 *    folder without it, or with another instance's name, is not this instance's backup area.
 *
 * Who writes the marker (`decideTarget`, rules 5 and 6): the first copy, when this database records
 * no copies under `backup.path` (a new install); or when the folder
 * holds every sampled copy the database recorded there (an install from before the marker). Never a
 * fallback instance (it must find its main instance's marker), and never when the folder lacks the
 * recorded copies: that is the unmounted share or the renamed folder. `sluice backup init-target`
 * writes it deliberately.
 *
 * When the check fails nothing is created: not `backup.path`, not its parents.
 *
 * Crash points: the marker is written to a temp name, fsynced and linked to its name without
 * replacing anything (two copies writing it at once: one wins, both read it back); a kill leaves at
 * most the temp, which is ignored and overwritten by the next writer.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Config } from '../core/config/index.ts';
import type { Queryable } from '../core/db/db.ts';
import { errorMessage, SluiceError } from '../core/errors.ts';
import { isFallback } from '../core/instance.ts';
import { recordEvent } from '../engine/events.ts';
import { sampleVerifiedBackupsUnder, verifiedBackupsUnder } from '../files/copies.ts';
import { backupTargetProblem, changeBackupTargetProblem } from '../files/repo.ts';
import { errnoCode, exists, fsyncDir } from '../storage/fsutil.ts';
import { isMountPoint } from '../storage/mount.ts';

export const TARGET_MARKER = '.sluice-backup-target';
/** How many recorded copies are looked for when the marker is missing (rule 6). */
const EVIDENCE_SAMPLE = 5;

/** The backup root: `backup.path` (the loader fills in `<data_dir>/backup`). */
export function backupRoot(config: Pick<Config, 'backup' | 'data_dir'>): string {
  return path.resolve(config.backup.path ?? path.join(config.data_dir, 'backup'));
}

export type RootState = 'missing' | 'empty' | 'holds-data' | 'not-directory' | { error: string };
export type MarkerState = { instance: string } | 'missing' | { error: string };

/**
 * A filesystem backup target: the primary (`backup.path`) or one of `backup.targets`; `name` is its
 * name in the copies record, `setting` the one that asks for the mount (for messages).
 */
export interface TargetPlace {
  name: string;
  root: string;
  requireMount: boolean;
  setting: string;
}

export function primaryPlace(config: Pick<Config, 'backup' | 'data_dir'>): TargetPlace {
  const root = backupRoot(config);
  return { name: 'backup', root, requireMount: config.backup.require_mount, setting: 'backup.require_mount' };
}

/** What the shell found; `recorded` and `evidence` only when the marker is missing. */
export interface TargetFacts {
  root: string;
  instance: string;
  fallback: boolean;
  requireMount: boolean;
  /** The setting that asks for the mount (default `backup.require_mount`). */
  setting?: string;
  /** Is `root` a mount point (asked only with `requireMount`; false when it cannot be examined). */
  mounted?: boolean;
  rootState: RootState;
  marker: MarkerState;
  /** Verified backup copies this database records under `root`. */
  recorded?: number;
  /** Of a sample of those copies, how many exist. */
  evidence?: { sampled: number; found: number };
}

export type TargetDecision = { ok: true; writeMarker?: string } | { ok: false; reason: string; hint: string };

const RESUME = 'copies wait and resume by themselves, and the remover deletes nothing meanwhile';

/**
 * The decision, in order:
 *  1. `require_mount` and not a mount point → unavailable.
 *  2. `root` is not a directory, or cannot be examined → unavailable.
 *  3. A marker naming this instance → ok; naming another → unavailable; unreadable → unavailable.
 *  4. No marker, fallback instance → unavailable (the main instance's marker must be there).
 *  5. No marker, copies recorded under `root`: every sampled copy is there → write the marker (an
 *     install from before markers); otherwise → unavailable (unmounted, renamed, replaced).
 *  6. No marker, nothing recorded under `root` → write the marker (a new install; a folder that
 *     holds data is fine: a copy never replaces what is there, it associates an identical one).
 *     This is why the share must be mounted before the very first start, or `require_mount` set.
 */
export function decideTarget(f: TargetFacts): TargetDecision {
  const initHint = `if ${f.root} really is this instance's backup area, run \`sluice backup init-target\``;
  if (f.requireMount && !f.mounted) {
    return {
      ok: false,
      reason: `${f.root} is not a mount point (${f.setting ?? 'backup.require_mount'} is set): the backup share is not mounted`,
      hint: `mount the backup share at ${f.root} (check /etc/fstab or the mount unit); ${RESUME}`,
    };
  }
  if (f.rootState === 'not-directory') {
    return {
      ok: false,
      reason: `${f.root} is not a directory`,
      hint: 'set backup.path to the backup folder',
    };
  }
  if (typeof f.rootState === 'object') {
    return {
      ok: false,
      reason: `${f.root} cannot be examined: ${f.rootState.error}`,
      hint: `check the backup share and its permissions; ${RESUME}`,
    };
  }
  if (typeof f.marker === 'object' && 'instance' in f.marker) {
    if (f.marker.instance === f.instance) return { ok: true };
    return {
      ok: false,
      reason: `the marker ${path.join(f.root, TARGET_MARKER)} names the Sluice instance '${f.marker.instance}', not this one ('${f.instance}'): this is another instance's backup area`,
      hint: `point backup.path at this instance's backup area, or, if this is one deployment, set instance.name: ${f.marker.instance}`,
    };
  }
  if (typeof f.marker === 'object') {
    return {
      ok: false,
      reason: `the marker ${path.join(f.root, TARGET_MARKER)} cannot be read: ${f.marker.error}`,
      hint: `check the backup share; ${initHint}`,
    };
  }
  const where = f.rootState === 'missing' ? `${f.root} does not exist` : `${f.root} has no ${TARGET_MARKER}`;
  if (f.fallback) {
    return {
      ok: false,
      reason: `${where}: a fallback instance copies only into its main instance's backup area, which has the marker`,
      hint: `mount the main instance's backup area at ${f.root}; if it has no marker yet, run \`sluice backup init-target\` on the main instance`,
    };
  }
  const recorded = f.recorded ?? 0;
  if (recorded > 0) {
    const ev = f.evidence ?? { sampled: 0, found: 0 };
    if (ev.sampled > 0 && ev.found === ev.sampled) {
      return {
        ok: true,
        writeMarker: `${f.root} holds the verified copies this database records there (${ev.found} of ${ev.found} checked): marked as this instance's backup area`,
      };
    }
    return {
      ok: false,
      reason: `${where}, and ${ev.sampled - ev.found} of ${ev.sampled} checked verified copies recorded there are missing: the backup share is not mounted, or the folder was renamed or replaced`,
      hint: `mount the backup share (or put the folder back) at ${f.root}; ${RESUME}. ${initHint}`,
    };
  }
  const what =
    f.rootState === 'missing'
      ? 'created'
      : f.rootState === 'empty'
        ? 'empty'
        : 'holding data of no recorded copy';
  return {
    ok: true,
    writeMarker: `no copies recorded under ${f.root} yet (a new install; the folder is ${what}): marked as this instance's backup area`,
  };
}

/** The marker's content (one JSON object). */
export interface MarkerContent {
  sluice_backup_target: 1;
  instance: string;
  created_at: string;
  created_by: string;
  path: string;
}

export async function readMarker(root: string): Promise<MarkerState> {
  let text: string;
  try {
    text = await fsp.readFile(path.join(root, TARGET_MARKER), 'utf8');
  } catch (err) {
    return ['ENOENT', 'ENOTDIR'].includes(errnoCode(err) ?? '') ? 'missing' : { error: errorMessage(err) };
  }
  try {
    const m = JSON.parse(text) as Partial<MarkerContent>;
    if (typeof m.instance === 'string' && m.instance !== '') return { instance: m.instance };
  } catch {
    // reported below
  }
  return { error: `expected a JSON object with "instance", found ${JSON.stringify(text.slice(0, 80))}` };
}

async function rootState(root: string): Promise<RootState> {
  let dir: Awaited<ReturnType<typeof fsp.opendir>>;
  try {
    const st = await fsp.stat(root);
    if (!st.isDirectory()) return 'not-directory';
    dir = await fsp.opendir(root);
  } catch (err) {
    // a file on the way is a configuration mistake that mkdir reports (doctor says so plainly)
    return ['ENOENT', 'ENOTDIR'].includes(errnoCode(err) ?? '') ? 'missing' : { error: errorMessage(err) };
  }
  try {
    // Sluice's own dot-files (a doctor's probe, a marker temp) do not count as data
    for await (const e of dir) if (!e.name.startsWith('.sluice-')) return 'holds-data';
    return 'empty';
  } catch (err) {
    return { error: errorMessage(err) };
  }
}

/** Verified backup copies recorded under `root`, and whether a sample of them (oldest, newest, some) exists. */
async function recordedEvidence(
  db: Queryable,
  root: string,
  target: string,
): Promise<{ recorded: number; evidence: { sampled: number; found: number } }> {
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  const n = await verifiedBackupsUnder(db, prefix, target);
  if (n === 0) return { recorded: 0, evidence: { sampled: 0, found: 0 } };
  // the oldest copy was made long before any recent unmount; a few spread by id stand for the rest
  const locations = await sampleVerifiedBackupsUnder(db, prefix, EVIDENCE_SAMPLE - 2, target);
  let found = 0;
  for (const location of locations) if (await exists(location)) found++;
  return { recorded: n, evidence: { sampled: locations.length, found } };
}

/** Everything `decideTarget` needs, read from the filesystem (and `db` when the marker is missing). */
export async function targetFacts(
  config: Config,
  db: Queryable | undefined,
  place: TargetPlace = primaryPlace(config),
): Promise<TargetFacts> {
  const root = place.root;
  // the marker first: on every copy it is there, and one read answers (the folder is looked at
  // only without it)
  const marker = await readMarker(root);
  const facts: TargetFacts = {
    root,
    instance: config.instance.name,
    fallback: isFallback(config),
    requireMount: place.requireMount,
    setting: place.setting,
    rootState: marker === 'missing' ? await rootState(root) : 'holds-data',
    marker,
  };
  if (facts.requireMount) facts.mounted = await isMountPoint(root).catch(() => false);
  if (facts.marker === 'missing' && db) Object.assign(facts, await recordedEvidence(db, root, place.name));
  return facts;
}

export type TargetStatus =
  | { ok: true; root: string; wrote?: string }
  | { ok: false; root: string; reason: string; hint: string };

/**
 * Is the backup target usable? With `write` (a copy is about to be made), writes the marker where
 * `decideTarget` says so. Without a database the recorded copies are unknown: a missing marker is
 * then judged as on a new install (doctor says "would be written").
 */
export async function checkBackupTarget(
  config: Config,
  db: Queryable | undefined,
  opts: { write: boolean; place?: TargetPlace },
): Promise<TargetStatus> {
  const place = opts.place ?? primaryPlace(config);
  const facts = await targetFacts(config, db, place);
  const d = decideTarget(facts);
  if (!d.ok) return { ok: false, root: facts.root, reason: d.reason, hint: d.hint };
  if (d.writeMarker && opts.write) {
    await writeMarker(
      config,
      facts.rootState === 'missing' ? 'created' : 'existing',
      'first copy',
      place.root,
    );
    return { ok: true, root: facts.root, wrote: d.writeMarker };
  }
  return { ok: true, root: facts.root, ...(d.writeMarker ? { wrote: d.writeMarker } : {}) };
}

/** The error a copy or a remover pass stops with while the target is unavailable. */
export function targetUnavailable(s: { root: string; reason: string; hint: string }): SluiceError {
  return new SluiceError('backup.target_unavailable', `backup target unavailable: ${s.reason}`, {
    hint: s.hint,
  });
}

/**
 * Write the marker naming `config.instance.name` (never replacing one: a marker already there is
 * read back instead). `root` is created only when `rootIs` is `created` (rule 6: a new area) or for
 * `sluice backup init-target`.
 */
export async function writeMarker(
  config: Config,
  rootIs: 'created' | 'existing',
  by: string,
  root = backupRoot(config),
): Promise<MarkerState> {
  if (rootIs === 'created') {
    await fsp.mkdir(root, { recursive: true });
    await fsyncDir(path.dirname(root));
  }
  const content: MarkerContent = {
    sluice_backup_target: 1,
    instance: config.instance.name,
    created_at: new Date().toISOString(),
    created_by: `${by} on ${hostname()} (pid ${process.pid})`,
    path: root,
  };
  const final = path.join(root, TARGET_MARKER);
  const temp = `${final}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await fsp.open(temp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o444);
  try {
    await fh.writeFile(`${JSON.stringify(content, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fsp.link(temp, final);
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
  } finally {
    await fsp.rm(temp, { force: true });
  }
  await fsyncDir(root);
  return readMarker(root);
}

/**
 * `sluice backup init-target`: write the marker deliberately. Refused while `require_mount` is set
 * and the share is not mounted; an existing marker naming another instance is replaced only with
 * `force`.
 */
export async function initTarget(config: Config, opts: { force?: boolean } = {}): Promise<string> {
  const root = backupRoot(config);
  if (config.backup.require_mount && !(await isMountPoint(root).catch(() => false))) {
    throw new SluiceError(
      'backup.target_unavailable',
      `${root} is not a mount point (backup.require_mount is set): no marker written`,
      { hint: `mount the backup share at ${root} first` },
    );
  }
  const found = (await exists(root)) ? await readMarker(root) : 'missing';
  if (typeof found === 'object' && 'instance' in found && found.instance === config.instance.name) {
    return `${path.join(root, TARGET_MARKER)} already names this instance ('${found.instance}')`;
  }
  if (found !== 'missing') {
    if (!opts.force) {
      throw new SluiceError(
        'backup.target_marker_exists',
        `${path.join(root, TARGET_MARKER)} ${'instance' in found ? `names the instance '${found.instance}'` : `cannot be read (${found.error})`}, not this one ('${config.instance.name}')`,
        { hint: "pass --force to replace it, if this really is this instance's backup area" },
      );
    }
    await fsp.rm(path.join(root, TARGET_MARKER), { force: true });
  }
  const m = await writeMarker(config, 'created', 'sluice backup init-target');
  if (typeof m !== 'object' || !('instance' in m) || m.instance !== config.instance.name) {
    throw new SluiceError(
      'backup.target_marker_exists',
      `${path.join(root, TARGET_MARKER)} was written by someone else meanwhile`,
    );
  }
  return `wrote ${path.join(root, TARGET_MARKER)} naming this instance ('${config.instance.name}')`;
}

/**
 * Record on an instrument whether its copies can reach the backup target (`problem` null: they
 * can), with an event when that changes. Cheap when nothing changed (one read).
 */
export async function recordTargetState(
  q: Queryable,
  instrument: string,
  problem: string | null,
): Promise<void> {
  // read first, without a lock: the scan holds the instrument's row in its transaction (markOnline),
  // and every copy passes here
  const now = await backupTargetProblem(q, instrument);
  if (!now || now.problem === problem) return;
  const prev = await changeBackupTargetProblem(q, instrument, problem);
  if (!prev) return;
  await recordEvent(q, {
    subjectType: 'instrument',
    subjectId: instrument,
    actor: 'backup',
    from: prev.problem === null ? 'backup target ok' : 'backup target unavailable',
    to: problem === null ? 'backup target ok' : 'backup target unavailable',
    reason: problem ?? 'the backup target is usable again',
  });
}
