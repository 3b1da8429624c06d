/**
 * Per-project visibility outside the catalog's own routes (issue #22): with
 * `catalog.project_visibility`, a viewer who is not a member of a members-only project does not see
 * its files (list, CSV, file page), their events on the live feed, nor their metric points. The rule
 * itself is the catalog's (`hiddenProjects` in src/catalog/projects.ts); this module applies it to
 * what the files, events and metrics routes answer. Admins see everything.
 */
import type { Principal } from '../auth/principal.ts';
import { hiddenProjects, listProjects, projectsHiddenFrom, type Viewer } from '../catalog/projects.ts';
import type { Queryable } from '../core/db/db.ts';
import { projectsOfFiles } from '../files/catalog-reads.ts';
import { notFound } from './errors.ts';

export const viewerOf = (p: Principal | undefined): Viewer => ({
  user: p?.user ?? '',
  role: p?.role ?? 'viewer',
});

/** The project ids hidden from the caller ([] for admins, and when no project is members-only). */
export function hiddenFor(q: Queryable, p: Principal | undefined): Promise<string[]> {
  return projectsHiddenFrom(q, viewerOf(p));
}

/**
 * A project named in a request's body (a re-run's, a relink's, a new data set's, a retrieval's
 * scope): one hidden from the caller is answered 404 exactly as one that does not exist, before
 * anything is recorded (so a write neither reaches nor reveals a members-only project). The projects
 * are read once: whether it exists and what is hidden from the caller (`hiddenProjects`, the same
 * rule as `hiddenFor`) come from the same rows; those hidden ids are returned for the route's use.
 */
export async function requireVisibleProject(
  q: Queryable,
  id: string,
  p: Principal | undefined,
): Promise<string[]> {
  const projects = await listProjects(q);
  const hidden = hiddenProjects(viewerOf(p), projects);
  if (hidden.includes(id) || !projects.some((r) => r.id === id))
    throw notFound('project', id, 'list projects with GET /api/projects');
  return hidden;
}

/** Pure: keeps the items whose file is known and not of a hidden project (an unknown file is not shown). */
export function visibleItems<T>(
  items: readonly T[],
  fileOf: (item: T) => string,
  projectOf: ReadonlyMap<string, string>,
  hidden: readonly string[],
): T[] {
  return items.filter((i) => {
    const p = projectOf.get(fileOf(i));
    return p !== undefined && !hidden.includes(p);
  });
}

/** Items (events, points) of files in visible projects; all of them when nothing is hidden. */
export async function withoutHidden<T>(
  q: Queryable,
  items: readonly T[],
  fileOf: (item: T) => string,
  hidden: readonly string[],
): Promise<T[]> {
  if (hidden.length === 0) return [...items];
  const projects = await projectsOfFiles(q, [...new Set(items.map(fileOf))]);
  return visibleItems(items, fileOf, projects, hidden);
}

interface Points {
  t: number[];
  value: (number | null)[];
  file: string[];
  truncated: boolean;
}

/**
 * Metric series (JSON text per name, as the metrics store builds them) without the points of hidden
 * projects' files. Unchanged (not even parsed) when nothing is hidden.
 */
export async function seriesWithoutHidden(
  q: Queryable,
  rows: { name: string; series: string }[],
  hidden: readonly string[],
): Promise<{ name: string; series: string }[]> {
  if (hidden.length === 0) return rows;
  const parsed = rows.map((r) => ({ name: r.name, s: JSON.parse(r.series) as Points }));
  const projects = await projectsOfFiles(q, [...new Set(parsed.flatMap((p) => p.s.file))]);
  return parsed.map(({ name, s }) => {
    const keep = visibleItems(
      s.file.map((_, i) => i),
      (i) => s.file[i]!,
      projects,
      hidden,
    );
    const series: Points = {
      ...s,
      t: keep.map((i) => s.t[i]!),
      value: keep.map((i) => s.value[i] ?? null),
      file: keep.map((i) => s.file[i]!),
    };
    return { name, series: JSON.stringify(series) };
  });
}
