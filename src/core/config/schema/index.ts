/**
 * The configuration schema, one section per file. To add a section (processing, alerts, archive, ...):
 * write `schema/<section>.ts` exporting one zod object (wrapped in `section()` when it may be omitted),
 * add it to `sections` below, and describe its fields in docs/configuration.md.
 */
import { join, posix } from 'node:path';
import { z } from 'zod';
import { describeFound } from '../describe.ts';
import { ENVIRONMENTS } from '../environments.ts';
import { acquisitionDoneRefs } from './acquisition-done.ts';
import { alertsSchema } from './alerts.ts';
import { ARCHIVE_POOL_SIZES, archiveSchema } from './archive.ts';
import { backupSchema } from './backup.ts';
import { FILESYSTEM_TARGET, TARGET_POOL_SIZE, targetPool } from './backup-targets.ts';
import { always, str } from './building-blocks.ts';
import { catalogSchema } from './catalog.ts';
import { cleanupSchema } from './cleanup.ts';
import { databaseSchema } from './database.ts';
import { instanceSchema } from './instance.ts';
import { instrumentsSchema } from './instruments.ts';
import { logSchema } from './log.ts';
import { poolsSchema } from './pools.ts';
import { processingSchema } from './processing.ts';
import { fallbackProjectSchema, projectsSchema } from './projects.ts';
import { reactionsSchema } from './reactions.ts';
import { retrievalSchema } from './retrieval.ts';
import { serverSchema } from './server.ts';
import { streamsSchema } from './streams.ts';
import { variablesSchema } from './variables.ts';
import { workerSchema } from './worker.ts';

export { ENVIRONMENTS, type Environment } from '../environments.ts';

export const sections = {
  /** Set by the loader from --env / SLUICE_ENV; not written in the file. */
  environment: z.enum(ENVIRONMENTS),
  data_dir: str('a directory path').default('./sluice-data'),
  instance: instanceSchema,
  database: databaseSchema,
  log: logSchema,
  server: serverSchema,
  worker: workerSchema,
  pools: poolsSchema,
  variables: variablesSchema,
  projects: projectsSchema,
  fallback_project: fallbackProjectSchema,
  instruments: instrumentsSchema,
  backup: backupSchema,
  cleanup: cleanupSchema,
  processing: processingSchema,
  alerts: alertsSchema,
  streams: streamsSchema,
  reactions: reactionsSchema,
  catalog: catalogSchema,
  archive: archiveSchema,
  retrieval: retrievalSchema,
};

function issue(ctx: z.RefinementCtx, path: (string | number)[], message: string): void {
  ctx.addIssue({ code: 'custom', path, message, params: { full: true } });
}

/** True when one folder is the other or lies inside it (compared as written: resolve paths first). */
export function foldersOverlap(a: string, b: string): boolean {
  const da = posix.normalize(`${a}/`);
  const db = posix.normalize(`${b}/`);
  return da.startsWith(db) || db.startsWith(da);
}

/** `cleanup.require` names the filesystem backup and only targets that `backup.targets` defines. */
function requiredTargets(cfg: unknown, ctx: z.RefinementCtx): void {
  const c = cfg as {
    backup?: { targets?: unknown };
    cleanup?: { require?: unknown };
    archive?: { targets?: unknown };
  };
  const required = c.cleanup?.require;
  if (!Array.isArray(required)) return;
  const targets = [
    ...(Array.isArray(c.backup?.targets) ? c.backup.targets : []),
    ...(Array.isArray(c.archive?.targets) ? c.archive.targets : []), // archive targets too (issue #20)
  ];
  const names = [FILESYSTEM_TARGET, ...targets.map((t) => (t as { name?: unknown } | null)?.name)];
  const known = [...new Set(names.filter((n): n is string => typeof n === 'string'))];
  required.forEach((r, i) => {
    if (typeof r === 'string' && !known.includes(r)) {
      issue(
        ctx,
        ['cleanup', 'require', i],
        `unknown backup target: expected one of ${known.join(', ')} (backup.targets[].name or archive.targets[].name), found '${r}'`,
      );
    }
  });
  if (!required.includes(FILESYSTEM_TARGET)) {
    issue(
      ctx,
      ['cleanup', 'require'],
      `expected a list that includes '${FILESYSTEM_TARGET}' (the remover always re-reads the filesystem backup), found [${required.join(', ')}]; add ${FILESYSTEM_TARGET}`,
    );
  }
}

/** Checks that span sections or entries. They see partly invalid data, so they check types first. */
function crossSection(cfg: unknown, ctx: z.RefinementCtx): void {
  requiredTargets(cfg, ctx);
  acquisitionDoneRefs(cfg, (p, m) => issue(ctx, p, m));
  const c = cfg as { instruments?: unknown; projects?: unknown };
  if (typeof c.instruments !== 'object' || c.instruments === null) return;
  const projects = typeof c.projects === 'object' && c.projects !== null ? Object.keys(c.projects) : [];
  const watched: [id: string, watch: string][] = [];
  for (const [id, inst] of Object.entries(c.instruments)) {
    const { project, watch } = (inst ?? {}) as { project?: unknown; watch?: unknown };
    if (typeof project === 'string' && project !== '' && !projects.includes(project)) {
      issue(
        ctx,
        ['instruments', id, 'project'],
        `unknown project: expected the id of a project under projects: ` +
          `(${projects.length ? projects.join(', ') : 'none defined'}), found ${describeFound(project)}`,
      );
    }
    if (typeof watch === 'string' && watch !== '') {
      for (const [otherId, otherWatch] of watched) {
        if (foldersOverlap(watch, otherWatch)) {
          issue(
            ctx,
            ['instruments', id, 'watch'],
            `expected a folder no other instrument watches, found ${describeFound(watch)}, ` +
              `which overlaps instruments.${otherId}.watch; every file must belong to exactly one instrument`,
          );
          break;
        }
      }
      watched.push([id, watch]);
    }
  }
}

export const configSchema = z
  .strictObject(sections)
  .superRefine(crossSection, always)
  .transform((c) => ({
    ...c,
    backup: { ...c.backup, path: c.backup.path ?? join(c.data_dir, 'backup') },
    processing: { ...c.processing, output_path: c.processing.output_path ?? join(c.data_dir, 'output') },
    // each extra backup target's pool exists, sized TARGET_POOL_SIZE unless `pools:` says otherwise
    pools: {
      ...Object.fromEntries(c.backup.targets.map((t) => [targetPool(t), TARGET_POOL_SIZE])),
      ...(c.archive.targets.length ? ARCHIVE_POOL_SIZES : {}), // archive.write / archive.read
      ...c.pools,
    },
  }));

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
