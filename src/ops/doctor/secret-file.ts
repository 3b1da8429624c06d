/**
 * Doctor check `secret file`: every `${file:...}` in the config files is a regular file that others
 * cannot read (640 is fine). `secretFileRefs` finds them; `judgeSecretMode` decides on a mode.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { parseDocument, visit } from 'yaml';
import { errorMessage } from '../../core/errors.ts';
import { type CheckResult, fail, fileMode, ok } from './result.ts';

/** Every `${file:...}` named in the config files (base and overlay), resolved like the loader does. */
export async function secretFileRefs(configFiles: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const f of configFiles) {
    // Only values count, not comments (the starter config shows examples in comments).
    const values: string[] = [];
    visit(parseDocument(await fsp.readFile(f, 'utf8')), {
      Scalar(_, node) {
        if (typeof node.value === 'string') values.push(node.value);
      },
    });
    for (const m of values.join('\n').matchAll(/(?<!\$)\$\{file:([^}]*)\}/g)) {
      const ref = m[1]?.trim() ?? '';
      if (ref === '') continue;
      out.add(path.isAbsolute(ref) ? ref : path.resolve(path.dirname(f), ref));
    }
  }
  return [...out].sort();
}

/** The row for the regular secret file `file` with mode `m`: failing when others may read it. */
export function judgeSecretMode(file: string, m: number): CheckResult {
  if ((m & 0o004) !== 0) {
    return fail('secret file', file, `is readable by others (mode ${fileMode(m)})`, `chmod 600 ${file}`);
  }
  return ok('secret file', file, `mode ${fileMode(m)}${(m & 0o040) !== 0 ? ' (group may read it)' : ''}`);
}

/** A secret file exists, is regular and is not readable by others (640 is fine). */
export async function checkSecretFile(file: string): Promise<CheckResult> {
  let st: Awaited<ReturnType<typeof fsp.stat>>;
  try {
    st = await fsp.stat(file);
  } catch (err) {
    return fail(
      'secret file',
      file,
      `cannot be read: ${errorMessage(err)}`,
      `create it and chmod 600 ${file}`,
    );
  }
  if (!st.isFile())
    return fail('secret file', file, 'is not a regular file', `point the \${file:...} reference at a file`);
  return judgeSecretMode(file, Number(st.mode));
}
