import { z } from 'zod';
import { namedRecord, section, str, strList } from './common.ts';

export const PROJECT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

export const projectSchema = section(
  z.strictObject({
    name: str('a display name').optional(),
    /** A file whose name contains one of these tokens belongs to the project. */
    tokens: strList('a token (text to look for in file names)').default([]),
  }),
);

export const projectsSchema = section(
  namedRecord(projectSchema, {
    pattern: PROJECT_ID,
    form: "letters, digits, '-' and '_', starting with a letter or digit",
    noun: 'project id',
  }),
);

export const fallbackProjectSchema = str('a project id').default('_unassigned');
