/**
 * Who makes a request (a user by session or an API token) and with which role; what the routes check.
 */
import type { Role } from './roles.ts';

/** Who makes a request, and how they proved it. */
export interface Principal {
  userId: string;
  user: string;
  /** The effective role: the user's, or for a token the lower of the token's and the user's. */
  role: Role;
  via: 'session' | 'token';
  /** For audit trails: `user:<name>`, or `token:<user>/<token name>`. */
  actor: string;
  /** Sessions only: the token writes must echo in X-CSRF-Token. */
  csrfToken?: string;
  /** Sessions only: the sha256 of the cookie value (the sessions row id). */
  sessionId?: string;
  mustChangePassword: boolean;
}
