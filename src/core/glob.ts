/**
 * A tiny glob matcher for single directory-entry names (used by the `generic` instrument type).
 *
 * Supported: `*` (any run of characters), `?` (one character), `[abc]`, `[a-z]`, `[!abc]` / `[^abc]`
 * (character classes), and `\x` to match `x` literally. Everything else matches itself. Matching is
 * case-insensitive (instrument PCs write to Windows shares, where `.TIF` and `.tif` are the same file)
 * and always covers the whole name.
 *
 * Why not `path.matchesGlob`: it exists in Node 20 but is experimental there (prints an
 * ExperimentalWarning) and matches paths, not names.
 */
import { ConfigError } from './errors.ts';

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\/-]/g;

function escapeRegex(s: string): string {
  return s.replace(REGEX_SPECIAL, '\\$&');
}

/** Compile `glob` into an anchored, case-insensitive RegExp. Throws ConfigError on an unusable glob. */
export function globToRegExp(glob: string): RegExp {
  if (glob.length === 0) throw new ConfigError('instrument glob is empty', 'use a pattern such as "*.tif"');
  if (glob.includes('/')) {
    throw new ConfigError(
      `instrument glob "${glob}" contains "/"; it is matched against entry names in the watch folder only`,
      'point the watch folder at the directory that holds the data and use a name pattern such as "*.tif"',
    );
  }
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      out += '.*';
    } else if (c === '?') {
      out += '.';
    } else if (c === '\\' && i + 1 < glob.length) {
      out += escapeRegex(glob[++i] as string);
    } else if (c === '[') {
      let start = i + 1;
      const negate = glob[start] === '!' || glob[start] === '^';
      if (negate) start++;
      const close = glob.indexOf(']', start + 1); // a ']' first in the class is a literal member
      if (close === -1) {
        out += '\\[';
        continue;
      }
      // Inside a class only '\', ']' and '^' are special; keep '-' as a range operator.
      const cls = glob.slice(start, close).replace(/[\\\]^]/g, '\\$&');
      out += `[${negate ? '^' : ''}${cls}]`;
      i = close;
    } else {
      out += escapeRegex(c);
    }
  }
  try {
    return new RegExp(`^${out}$`, 'is');
  } catch (err) {
    throw new ConfigError(`instrument glob "${glob}" is not a valid pattern`, 'check its [...] classes', err);
  }
}

/** Returns a matcher function for `glob` (compiled once). */
export function globMatcher(glob: string): (name: string) => boolean {
  const re = globToRegExp(glob);
  return (name) => re.test(name);
}
