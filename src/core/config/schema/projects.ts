/**
 * Config schema: `projects` (how a raw file's name maps to its project).
 */
import { z } from 'zod';
import { describeFound } from '../describe.ts';
import { always, namedRecord, section, str, strList } from './building-blocks.ts';

export const PROJECT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
/** What file names are split at into tokens (intake/projects.ts): `_`, `-`, `.` and white space. */
export const TOKEN_SEPARATORS = /[_\-.\s]+/;

export const projectSchema = section(
  z
    .strictObject({
      name: str('a display name').optional(),
      /** A file belongs to the project when one of its name's tokens equals one of these. */
      tokens: strList('a token (a part of file names between _ - . or spaces)').default([]),
    })
    .superRefine((p, ctx) => {
      const tokens = (p as { tokens?: unknown }).tokens;
      if (!Array.isArray(tokens)) return;
      tokens.forEach((t, i) => {
        if (typeof t === 'string' && TOKEN_SEPARATORS.test(t)) {
          ctx.addIssue({
            code: 'custom',
            path: ['tokens', i],
            message:
              `expected a token without _ - . or spaces (file names are split there, so it could never ` +
              `match), found ${describeFound(t)}; list each part as its own token, or only the part that names the project`,
            params: { full: true },
          });
        }
      });
    }, always),
);

export const projectsSchema = section(
  namedRecord(projectSchema, {
    pattern: PROJECT_ID,
    form: "letters, digits, '-' and '_', starting with a letter or digit",
    noun: 'project id',
  }),
);

export const fallbackProjectSchema = str('a project id').default('_unassigned');
