/** The commented sluice.yaml written by `sluice init`. It validates as is (see starter.test.ts). */

const STARTER = `# Sluice configuration. Every field, its type and its default: docs/configuration.md
#
# Per-environment overlays: sluice.sandbox.yaml / sluice.production.yaml next to this file are merged
# over it when Sluice runs with --env (or SLUICE_ENV). Mappings merge, lists and values replace, and
# "key: null" in an overlay deletes the key.
#
# Values may use \${VAR}, \${VAR:-default} (environment variables) and \${file:/path} (a secret file
# that must not be readable by others: chmod 600). Write $\${ for a literal \${.

# Where Sluice keeps its embedded database, logs and (by default) backups; relative to this file.
data_dir: ./sluice-data

# Without a url Sluice runs its own PostgreSQL in data_dir on embedded_port.
# With a url (or the DATABASE_URL environment variable) any number of Sluice processes share it.
database:
  # url: postgres://sluice:\${file:/etc/sluice/db-password}@db.example.org:5432/sluice
  embedded_port: 54329
  pool_size: 10
  # Backups of this database, run by Sluice itself (docs/backups.md). Point dir at another disk, or
  # add a strategy with an s3 location, so that losing this disk does not lose the backups too.
  backups:
    - name: nightly
      cron: "15 2 * * *" # 02:15 every day, local time
      location:
        dir: ./sluice-db-backups
      retention:
        keep_last: 14
        max_age_days: 30

log:
  level: info # fatal, error, warn, info, debug, trace or silent

# The web UI and HTTP API.
server:
  host: 127.0.0.1
  port: 8080
  # Reverse proxies in front of Sluice, whose X-Forwarded-For names the client (login throttling).
  trusted_proxies: []

# Task execution in this process.
worker:
  concurrency: 8
  lease_seconds: 60 # a task whose worker stops heartbeating is taken over after this long
  heartbeat_seconds: 10 # must be less than lease_seconds / 2
  poll_seconds: 2
  shutdown_grace_seconds: 30
  stall_seconds: 300 # a copy or scan with no progress this long (a hung share) is given up and retried
  tags: [] # capabilities of this worker; tasks requiring tags run only on workers that have them

# How many tasks of each pool may run at once across all workers (runtime overrides in the
# database win). Unlisted pools keep their defaults: default 10, copy 3, cluster 30, scan 4, cleanup 1,
# fixity 1.
pools:
  copy: 3
  cluster: 30

# Defaults for runtime variables (\`sluice vars list\` shows all; \`sluice vars set\` overrides them).
variables:
  min_free_space_gb: 200
  min_file_age_days: 14
  cleanup_dry_run: true

# Projects: a raw file belongs to a project when a part of its name (split at _ - . and spaces)
# equals one of the project's tokens.
projects:
  proteomics:
    name: Proteomics core facility
    tokens: [PRO, proteomics]
  metabolomics:
    name: Metabolomics
    tokens: [MET]

# Files that match no project.
fallback_project: _unassigned

# Instruments to watch. The id (lowercase letters, digits, - and _) appears in paths and tags.
instruments:
  astral1:
    type: thermo # thermo, bruker, sciex or generic (generic needs a glob)
    watch: /mnt/instruments/astral1 # the instrument's output folder (a network share)
    scan_interval_seconds: 10
    # tags: [instrument:astral1] # only workers started with --tags instrument:astral1 scan/copy/clean it (default: any worker)
    # project: proteomics # put every file in one project instead of matching tokens
    acquisition:
      stable_window_seconds: 600 # unchanged this long = acquisition finished
      newer_file_means_done: true
      consider_old_files_acquired: true
      old_file_threshold_hours: 5
      # main_file_timeout_seconds: 3600 # bruker only: give up on a .d folder without analysis.tdf_bin
    move_after_backup: false
    cleanup:
      enabled: false # let Sluice delete backed-up files from the instrument disk
      # min_free_space_gb: 500 # overrides the variable for this instrument
      # min_file_age_days: 30

# Where verified copies go. The layout may use {instrument} {yyyy} {mm} {dd} {project} and must
# contain {file_id}. Default path: <data_dir>/backup.
# Before every copy Sluice checks that path holds .sluice-backup-target naming instance.name (the
# first copy of a new install writes it): an unmounted share never gets copies on the local disk.
backup:
  # path: /mnt/backup/raw
  # require_mount: true # path must be a mount point (set it for a network share)
  layout: "{instrument}/{yyyy}_{mm}/{file_id}"
  hash: sha256
  # Every copy is re-read from storage against its hashes at least once per cycle, throttled.
  fixity:
    cycle_days: 30
    max_mb_per_second: 50

# instance:
#   name: sluice # this deployment's name, written into the backup area's marker

cleanup:
  # Deleting from instruments is refused outside the production environment unless this is true.
  allow_outside_production: false
  # Delete an instrument copy only after its backup was re-read from storage (O_DIRECT).
  require_storage_read: true
`;

export function starterConfig(): string {
  return STARTER;
}
