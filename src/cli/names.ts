/**
 * File ids typed by an operator. The CLI prints ids escaped (core/visible.ts `visibleText`), so
 * what an operator copies from the screen may be the escaped form of the id rather than the id:
 * `fileIdCandidates` lists the ids it can stand for, `resolveFileId` finds the recorded one.
 */
import { isUtf8 } from 'node:buffer';
import type { Queryable } from '../core/db/db.ts';
import { nameToText, textToName } from '../core/names.ts';
import { getFile } from '../files/repo.ts';

/**
 * The ids `input` may stand for, most literal first: the input itself; the id of the bytes it
 * spells (what `visibleText` showed for a text form, e.g. `a\xc2\x9bb` for `a` U+009B `b`); and
 * those bytes read as UTF-8 (what was shown for an old record holding raw controls, `a\x0ab` for
 * `a` newline `b`).
 */
export function fileIdCandidates(input: string): string[] {
  const bytes = textToName(input);
  const out = [input, nameToText(bytes)];
  if (isUtf8(bytes)) out.push(bytes.toString('utf8'));
  return [...new Set(out)];
}

/**
 * The recorded id an argument names: as typed, or as the human output showed it. An id no file
 * has is returned as typed, for the command to report (or to read as a job number).
 */
export async function resolveFileId(db: Queryable, input: string): Promise<string> {
  for (const id of fileIdCandidates(input)) if (await getFile(db, id)) return id;
  return input;
}
