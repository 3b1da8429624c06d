/**
 * Project assignment from file-name tokens.
 *
 * The name's last extension is dropped (`.raw`, `.d`, `.wiff`), the rest is split on `_`, `-`, `.` and
 * whitespace, and the tokens are tried left to right. The first token that equals (ignoring case) a
 * project's id or one of its tokens decides. Precedence when several match:
 *  - the earliest token in the name wins (`20240101_ALPHA_BETA.raw` → ALPHA's project);
 *  - when one token belongs to several projects, the project listed first wins.
 * No match → the fallback project. A project token containing a separator could never match, so it is
 * rejected (ConfigError); an id containing one (e.g. `PRJ-1`) matches only through its tokens.
 */
import { TOKEN_SEPARATORS } from '../core/config/schema/projects.ts';
import { ConfigError } from '../core/errors.ts';

export interface ProjectTokens {
  id: string;
  tokens: string[];
}

/** The tokens of a file name, in order (extension removed, empty tokens dropped). */
export function nameTokens(name: string): string[] {
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  return stem.split(TOKEN_SEPARATORS).filter((t) => t.length > 0);
}

/** Compile the project list once into a matcher (useful when assigning many files). */
export function projectMatcher(projects: readonly ProjectTokens[]): (name: string) => string | undefined {
  const byToken = new Map<string, string>();
  const add = (token: string, id: string) => {
    const key = token.toLowerCase();
    if (key.length > 0 && !byToken.has(key)) byToken.set(key, id); // first listed project wins
  };
  for (const p of projects) {
    // An id with a separator (e.g. "PRJ-1") cannot match by itself; its tokens still can.
    if (!TOKEN_SEPARATORS.test(p.id)) add(p.id, p.id);
    for (const t of p.tokens) {
      if (TOKEN_SEPARATORS.test(t)) {
        throw new ConfigError(
          `project ${p.id}: token "${t}" contains a separator (_ - . or space) and can never match a file-name token`,
          'list each part as its own token, or only the part that identifies the project',
        );
      }
      add(t, p.id);
    }
  }
  return (name) => {
    for (const t of nameTokens(name)) {
      const id = byToken.get(t.toLowerCase());
      if (id !== undefined) return id;
    }
    return undefined;
  };
}

/** The project of `name`: the first token matching a project id or token, else `fallback`. */
export function assignProject(name: string, projects: readonly ProjectTokens[], fallback: string): string {
  return projectMatcher(projects)(name) ?? fallback;
}
