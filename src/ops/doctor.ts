/**
 * `sluice doctor`: checks that this machine can run Sluice, one small check per concern, each
 * returning rows `{ check, target, status, detail, hint }`:
 *
 *   config        the configuration loads and validates (nothing else runs without it)
 *   database      PostgreSQL answers (embedded or DATABASE_URL)
 *   schema        the schema is at the version this program needs
 *   clock skew    this host's clock against the database's (warn > 2 s, fail > 30 s)
 *   watch folder  per instrument: exists, is a directory, can be listed
 *   mount         per instrument: is a mount point (a warning only: there is no `require_mount` yet)
 *   native stat helper          with instruments: whether scans use the native stat helper or the
 *                 slower pure-Node path, and why (always ok: both give the same results)
 *   free space    per instrument: at least `min_free_space_gb` free (only with cleanup enabled: the
 *                 minimum is what the remover aims for)
 *   backup path   the right disk (src/backup/target.ts: mounted when `backup.require_mount`, the
 *                 marker `.sluice-backup-target` names this instance), then writable as below
 *   output path   writable: a marker file is written, read back and removed
 *   backup storage read         the backup path reads from storage (O_DIRECT), else a warning
 *   executor      local, or SLURM (`sinfo -h`, locally or over SSH)
 *   ssh key / known_hosts       the cluster connection's files exist, the key is private
 *   secret file   every `${file:...}` in the config files is a regular, not world-readable file
 *   db backups    per `database.backups` strategy: its directory is writable or its bucket can be
 *                 listed, and its newest backup is as recent as its schedule wants (warn when older
 *                 than two periods or missing; fail when its last run failed)
 *
 * One check per file in src/ops/doctor/ (its decision a pure `judge…` function where there is one,
 * beside the thin part that looks at the machine), rows built by doctor/result.ts, run in order by
 * doctor/run.ts; the table and `--json` output are src/cli/doctor.ts. To add a check: a file here
 * returning CheckResult rows, a line in `runChecks` (guarded), and a line in the list above.
 *
 * Every check catches its own errors: doctor reports a broken config or a database that is down
 * as failing rows, it never stops at the first problem.
 */
export { checkBackupPath } from './doctor/backup-path.ts';
export { checkClockSkew, judgeClockSkew } from './doctor/clock-skew.ts';
export { checkConfig } from './doctor/config.ts';
export { checkDatabase, type DbHandle, maskUrl, openDoctorDb } from './doctor/database.ts';
export { checkDbBackups, judgeBackupAge } from './doctor/db-backups.ts';
export { checkExecutor, type ExecutorCheckOptions } from './doctor/executor.ts';
export { checkFreeSpace, judgeFreeSpace } from './doctor/free-space.ts';
export { checkKnownHosts } from './doctor/known-hosts.ts';
export { checkMount, judgeMount } from './doctor/mount.ts';
export { checkNativeStat } from './doctor/native-stat.ts';
export type { CheckResult, CheckStatus } from './doctor/result.ts';
export { checkSshFiles, type DoctorInput, doctorExitCode, runChecks } from './doctor/run.ts';
export { checkSchema } from './doctor/schema.ts';
export { checkSecretFile, judgeSecretMode, secretFileRefs } from './doctor/secret-file.ts';
export { checkSshKey } from './doctor/ssh-key.ts';
export { checkStorageRead } from './doctor/storage-read.ts';
export { checkWatchFolder } from './doctor/watch-folder.ts';
export { checkWorkerTags, judgeWorkerTags } from './doctor/worker-tags.ts';
export { checkWritable } from './doctor/writable.ts';
