/**
 * Roles, lowest first. Each includes the ones before it:
 *   viewer    reads everything (files, timelines, metrics, status, variables, pools)
 *   operator  + acts on files and jobs (retry, ignore, accept an overwrite, cancel)
 *   admin     + changes variables and pool sizes, manages users and tokens
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

/** Does `role` include everything `required` may do? */
export function atLeast(role: Role, required: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(required);
}

/** The lower of two roles (a token never does more than its user). */
export function lower(a: Role, b: Role): Role {
  return ROLES.indexOf(a) <= ROLES.indexOf(b) ? a : b;
}

/** User and token names: letters, digits, `.`, `_`, `-`; 1–64 characters, not starting with a sign. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
