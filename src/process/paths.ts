/**
 * Paths of processing: a path as the cluster sees it, a job's output folder, a job's key.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Config } from '../core/config/index.ts';

/** Rewrites a path from Sluice's view to the cluster's (`processing.path_map`, longest prefix first). */
export function clusterPath(config: Config, p: string): string {
  const entries = Object.entries(config.processing.path_map).sort((a, b) => b[0].length - a[0].length);
  for (const [from, to] of entries) {
    const f = from.endsWith('/') ? from.slice(0, -1) : from;
    if (p === f || p.startsWith(`${f}/`)) return to.replace(/\/$/, '') + p.slice(f.length);
  }
  return p;
}

/** `<output_path>/<project>/<file id>/<settings>-v<version>` as Sluice sees it. */
export function outputDirFor(
  config: Config,
  file: { id: string; project_id: string },
  name: string,
  version: number,
): string {
  return path.join(config.processing.output_path, file.project_id, file.id, `${name}-v${version}`);
}

/** Job keys: stable per file + settings version + attempt, safe for scheduler job names. */
export function jobKey(fileId: string, name: string, version: number, attempt: number): string {
  const safe = fileId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60);
  const h = createHash('sha1').update(fileId).digest('hex').slice(0, 8); // distinct ids stay distinct after replacement
  return `sluice.${safe}.${h}.${name}.v${version}.a${attempt}`;
}
