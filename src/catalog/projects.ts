/**
 * Projects in the database, kept in step with the config (`projects:` and
 * `catalog.project_visibility`), plus those added by hand; their members; and the visibility rule
 * (who sees a project's samples, files and metrics). Owns `projects` and `project_members`.
 */
import type { Config } from '../core/config/index.ts';
import { PROJECT_ID } from '../core/config/schema/projects.ts';
import type { Queryable } from '../core/db/db.ts';
import { UsageError } from '../core/errors.ts';
import { ownEntry } from '../core/own.ts';
import { recordHistory } from './history.ts';

export type Visibility = 'all' | 'members';

export interface ProjectRow {
  id: string;
  name: string;
  in_config: boolean;
  visibility: Visibility;
  created_by: string;
  created_at: Date;
  members: string[];
}

/** Who asks: a user name and role (a principal, or the CLI acting as admin). */
export interface Viewer {
  user: string;
  role: 'viewer' | 'operator' | 'admin';
}

/**
 * Pure: the project ids `viewer` may NOT see. Admins see everything; everyone else sees projects
 * whose visibility is `all` and those they are a member of.
 */
export function hiddenProjects(
  viewer: Viewer,
  projects: readonly Pick<ProjectRow, 'id' | 'visibility' | 'members'>[],
): string[] {
  if (viewer.role === 'admin') return [];
  return projects
    .filter((p) => p.visibility === 'members' && !p.members.includes(viewer.user))
    .map((p) => p.id);
}

/** The fallback project (`_unassigned`) and every project of the config, with their visibility. */
export function configProjects(config: Config): { id: string; name: string; visibility: Visibility }[] {
  const vis: Record<string, string> = config.catalog?.project_visibility ?? {}; // hand-built configs (tests) have none
  const out = Object.entries(config.projects).map(([id, p]) => ({
    id,
    name: p.name ?? id,
    visibility: (ownEntry(vis, id) ?? 'all') as Visibility,
  }));
  // own entries only: a project may be named `constructor`, which every object has
  if (!ownEntry(config.projects, config.fallback_project)) {
    out.push({ id: config.fallback_project, name: config.fallback_project, visibility: 'all' });
  }
  return out;
}

/**
 * Creates the config's projects that are missing and brings name and visibility in step; projects no
 * longer in the config stay (samples refer to them) with `in_config` false. Idempotent.
 */
export async function syncProjects(q: Queryable, config: Config): Promise<void> {
  const want = configProjects(config);
  await q.exec(
    `with want as (select * from unnest($1::text[], $2::text[], $3::text[]) as w(id, name, visibility))
     insert into projects (id, name, in_config, visibility, created_by)
     select id, name, true, visibility, 'config' from want
     on conflict (id) do update set name = excluded.name, visibility = excluded.visibility, in_config = true,
       updated_at = now()
     where projects.name <> excluded.name or projects.visibility <> excluded.visibility or not projects.in_config`,
    [want.map((p) => p.id), want.map((p) => p.name), want.map((p) => p.visibility)],
  );
  await q.exec(
    `update projects set in_config = false, updated_at = now() where in_config and id <> all($1::text[])`,
    [want.map((p) => p.id)],
  );
}

export async function listProjects(q: Queryable): Promise<ProjectRow[]> {
  return q.query<ProjectRow>(
    `select p.id, p.name, p.in_config, p.visibility, p.created_by, p.created_at,
       coalesce(array_agg(m.user_name order by m.user_name) filter (where m.user_name is not null), '{}') as members
     from projects p left join project_members m on m.project_id = p.id
     group by p.id order by p.id`,
  );
}

/** The project ids hidden from `viewer` (one query; see `hiddenProjects`). */
export async function projectsHiddenFrom(q: Queryable, viewer: Viewer): Promise<string[]> {
  if (viewer.role === 'admin') return [];
  return hiddenProjects(viewer, await listProjects(q));
}

export async function requireProject(q: Queryable, id: string): Promise<ProjectRow> {
  const p = (await listProjects(q)).find((r) => r.id === id);
  if (!p) {
    throw new UsageError(
      `no project '${id}'`,
      'list projects with `sluice projects list`, add one with `sluice projects add`',
    );
  }
  return p;
}

/** Adds a project by hand (not in the config). */
export async function addProject(
  q: Queryable,
  p: { id: string; name?: string; visibility?: Visibility },
  actor: string,
): Promise<void> {
  if (!PROJECT_ID.test(p.id)) {
    throw new UsageError(
      `project id '${p.id}' is not allowed: expected letters, digits, '-' and '_', starting with a letter or digit`,
    );
  }
  const row = await q.maybeOne<{ id: string }>(
    `insert into projects (id, name, visibility, created_by) values ($1, $2, $3, $4)
     on conflict (id) do nothing returning id`,
    [p.id, p.name ?? p.id, p.visibility ?? 'all', actor],
  );
  if (!row) throw new UsageError(`project '${p.id}' exists already`, 'choose another id');
  await recordHistory(
    q,
    [
      {
        entity: 'project',
        entityId: p.id,
        action: 'create',
        before: null,
        after: { name: p.name ?? p.id, visibility: p.visibility ?? 'all' },
      },
    ],
    actor,
  );
}

/** Sets a project's visibility (a config project's comes back from the config at the next start). */
export async function setVisibility(
  q: Queryable,
  id: string,
  visibility: Visibility,
  actor: string,
): Promise<void> {
  const before = await requireProject(q, id);
  await q.exec('update projects set visibility = $2, updated_at = now() where id = $1', [id, visibility]);
  await recordHistory(
    q,
    [
      {
        entity: 'project',
        entityId: id,
        action: 'update',
        before: { visibility: before.visibility },
        after: { visibility },
      },
    ],
    actor,
  );
}

export async function addMember(q: Queryable, project: string, user: string, actor: string): Promise<void> {
  await requireProject(q, project);
  const n = await q.exec(
    `insert into project_members (project_id, user_name, added_by) values ($1, $2, $3) on conflict do nothing`,
    [project, user, actor],
  );
  if (n > 0) {
    await recordHistory(
      q,
      [
        {
          entity: 'project',
          entityId: project,
          action: 'update',
          before: null,
          after: { member_added: user },
        },
      ],
      actor,
    );
  }
}

export async function removeMember(
  q: Queryable,
  project: string,
  user: string,
  actor: string,
): Promise<void> {
  const n = await q.exec('delete from project_members where project_id = $1 and user_name = $2', [
    project,
    user,
  ]);
  if (n === 0) throw new UsageError(`'${user}' is not a member of project '${project}'`);
  await recordHistory(
    q,
    [
      {
        entity: 'project',
        entityId: project,
        action: 'update',
        before: { member: user },
        after: { member_removed: user },
      },
    ],
    actor,
  );
}
