#!/usr/bin/env bash
# Tests on PostgreSQL 16, the major deploy/compose.yaml runs (the whole suite runs on the embedded 18).
# The suite's global setup starts PostgreSQL 16 from the devDependency alias embedded-postgres-16
# (SLUICE_TEST_PG=16, test/helpers/test-postgres.ts), prints its version() and fails unless
# server_version_num is 16xxxx; every migration runs there (the template database). The files below
# then run the SQL-heavy modules on it: the engine's claim/finish functions, the intake-to-backup
# flow, file records and copy counts, catalog import and search, the archive's repository, the
# streams' outbox, metrics and health views, database backup and restore. (src/engine/waiting.test.ts
# is left out: its count of notifications races under load, on 18 as on 16.) `.ci/run` runs this
# after `npm test`; extra arguments go to vitest. A file named here that no longer exists fails the
# run (vitest would silently skip it).
set -euo pipefail
cd "$(dirname "$0")/.."

FILES=(
  test/test-postgres.test.ts      # the server is 16 (a broken switch cannot silently test 18)
  test/database.test.ts           # migrations: schema version, concurrent migrate, refusals
  src/engine/claim.test.ts        # engine: sluice_claim / sluice_finish / pools (its migrations)
  src/engine/engine.test.ts
  src/engine/rerun.test.ts
  test/intake-backup.test.ts      # the flow end to end: scan, verified backup, file records
  test/copy-counts.test.ts        # files: copies, copy-count folds, batch and scan records
  test/copies-by-file.test.ts
  test/batch-records.test.ts
  test/scan-records.test.ts
  test/lifecycle-many.test.ts
  test/catalog-import.test.ts     # catalog: import (COPY, upserts), search (pg_trgm), history, graph
  test/catalog-import-copy.test.ts
  test/catalog-import-stream.test.ts
  test/catalog-search.test.ts
  test/catalog-history-derived.test.ts
  test/catalog-graph.test.ts
  test/file-name-search.test.ts
  test/archive-repo.test.ts       # archive repositories and retention
  test/archive-retention.test.ts
  test/outbox.test.ts             # streams outbox
  test/metric-series.test.ts      # metrics and health views
  test/health.test.ts
  src/auth/login-throttle.test.ts
  test/db-backup.test.ts          # sluice db backup / restore (its own format, no pg_dump)
)
for f in "${FILES[@]}"; do
  [ -f "$f" ] || { echo "scripts/test-pg16.sh names $f, which does not exist: update the list" >&2; exit 2; }
done
start=$SECONDS
rc=0
SLUICE_TEST_PG=16 npx vitest run "${FILES[@]}" "$@" || rc=$?
echo "tests on PostgreSQL 16: ${#FILES[@]} files, $((SECONDS - start)) s"
exit $rc
