/**
 * `sluice users`: local accounts of the web server and the API, and API tokens for scripts.
 * Generated passwords and tokens are printed once and never stored in clear.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { ensureFirstAdmin } from '../auth/first-admin.ts';
import { ROLES } from '../auth/roles.ts';
import { createToken, listTokens, revokeToken } from '../auth/tokens.ts';
import {
  checkName,
  checkPassword,
  checkRole,
  createUser,
  listUsers,
  removeUser,
  setPassword,
} from '../auth/users.ts';
import type { Queryable } from '../core/db/db.ts';
import { errorMessage, UsageError } from '../core/errors.ts';
import { actor, withContext } from './context.ts';
import { printJson, printTable } from './output.ts';

/** Reads a password piped on stdin (one line; a trailing newline is dropped). */
export async function readPasswordStdin(stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
  if (stdin.isTTY)
    throw new UsageError(
      '--password-stdin reads a password piped in, not typed at a terminal',
      'e.g. `sluice users add alice --role viewer --password-stdin < secret.txt`, or leave it out to get a generated one-time password',
    );
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(Buffer.from(c as Buffer));
  const pw = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (pw.includes('\n')) throw new UsageError('--password-stdin: expected one line, got several');
  checkPassword(pw);
  return pw;
}

function oneTime(name: string, password: string): string {
  return `one-time password: ${password}\n  (shown once; ${name} chooses a new password at the first login)\n`;
}

/** Where the first admin's one-time password is written when nobody watches the terminal. */
export const FIRST_ADMIN_FILE = 'first-admin-password';

/**
 * Creates the first admin on a database without users and tells how to log in (once). Call it after
 * migrating, from `sluice start` and `sluice demo`. Returns whether an admin was created. The
 * one-time password is printed only when `out` is a terminal; otherwise (a service, whose output
 * lands in its logs) it is written to `<dataDir>/first-admin-password` (mode 0600) and only that path
 * is printed.
 */
export async function announceFirstAdmin(
  db: Queryable,
  out: NodeJS.WritableStream & { isTTY?: boolean },
  url: string | undefined,
  dataDir: string,
): Promise<boolean> {
  const created = await ensureFirstAdmin(db);
  if (!created) return false;
  const intro = `\nCreated the first user: ${created.name} (admin)${url ? `; log in at ${url}` : ''}\n`;
  const lost = '  lost it? `sluice users reset-password admin` prints a new one\n\n';
  if (out.isTTY) {
    out.write(`${intro}${oneTime(created.name, created.password)}${lost}`);
    return true;
  }
  const file = path.resolve(dataDir, FIRST_ADMIN_FILE);
  try {
    await writeSecretFile(file, `${created.password}\n`);
  } catch (err) {
    // never the password itself: this output is a log; whoever reads it can ask for a new one
    out.write(
      `${intro}  its one-time password is not printed (this output is not a terminal) and could not be written to ${file}: ${errorMessage(err)}\n` +
        `  get a new one at a terminal: \`sluice users reset-password ${created.name}\`\n\n`,
    );
    return true;
  }
  out.write(
    `${intro}  its one-time password is in ${file} (readable only by this user; not printed, as this output is not a terminal)\n` +
      `  delete that file after the first login (${created.name} then chooses a new password)\n${lost}`,
  );
  return true;
}

/** Writes `text` to a new file readable only by this user (0600), creating its directory. */
async function writeSecretFile(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o750 });
  await rm(file, { force: true }); // a stale one (another mode, another owner) is not reused
  await writeFile(file, text, { mode: 0o600, flag: 'wx' });
}

/** `sluice users add`: create a user; prints a generated one-time password unless --password-stdin */
function addCommand(users: Command): void {
  users
    .command('add <name>')
    .description('create a user; prints a generated one-time password unless --password-stdin')
    .requiredOption('-r, --role <role>', `${ROLES.join(', ')}`)
    .option('--password-stdin', 'read the password from stdin instead of generating one')
    .action(async (name: string, opts: { role: string; passwordStdin?: boolean }, cmd: Command) => {
      checkName('user', name);
      checkRole(opts.role);
      const password = opts.passwordStdin ? await readPasswordStdin() : undefined;
      await withContext(cmd, async ({ db }) => {
        const r = await db.tx((tx) => createUser(tx, { name, role: opts.role, password }, actor()));
        process.stdout.write(`created user ${name} (${r.user.role})\n`);
        if (r.password) process.stdout.write(oneTime(name, r.password));
      });
    });
}

/** `sluice users list`: users with their role, active tokens and last activity */
function listCommand(users: Command): void {
  users
    .command('list')
    .description('users with their role, active tokens and last activity')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async ({ db }) => {
        const rows = await listUsers(db);
        if (opts.json) return printJson(rows);
        printTable(
          rows.map((u) => ({
            name: u.name,
            role: u.role,
            tokens: u.tokens,
            state: u.disabled ? 'disabled' : u.must_change_password ? 'one-time password' : 'active',
            last_seen: u.last_seen_at,
            created: u.created_at,
            by: u.created_by,
          })),
          '(no users: `sluice users add NAME --role admin`)',
        );
      });
    });
}

/** `sluice users remove`: remove a user with their sessions and tokens (not the last admin) */
function removeCommand(users: Command): void {
  users
    .command('remove <name>')
    .description('remove a user with their sessions and tokens (not the last admin)')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      checkName('user', name);
      await withContext(cmd, async ({ db }) => {
        await db.tx((tx) => removeUser(tx, name, actor()));
        process.stdout.write(`removed user ${name}\n`);
      });
    });
}

/** `sluice users token`: create an API token for scripts (role at most the user's); prints it once */
function tokenCommand(users: Command): void {
  users
    .command('token <user>')
    .description("create an API token for scripts (role at most the user's); prints it once")
    .requiredOption('-n, --name <token>', 'a name for the token, e.g. the script using it')
    .option('-r, --role <role>', "the token's role (default: the user's)")
    .action(async (user: string, opts: { name: string; role?: string }, cmd: Command) => {
      checkName('user', user);
      checkName('token', opts.name);
      if (opts.role !== undefined) checkRole(opts.role);
      await withContext(cmd, async ({ db }) => {
        const r = await db.tx((tx) => createToken(tx, { user, name: opts.name, role: opts.role }, actor()));
        process.stdout.write(
          `${r.token}\n  (token '${r.row.name}' of ${user}, role ${r.row.role}; shown once: send it as \`Authorization: Bearer <token>\`)\n`,
        );
      });
    });
}

/** `sluice users tokens`: active API tokens (names and roles; the tokens themselves are never shown again) */
function tokensCommand(users: Command): void {
  users
    .command('tokens [user]')
    .description('active API tokens (names and roles; the tokens themselves are never shown again)')
    .option('--json', 'machine-readable output')
    .action(async (user: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      if (user !== undefined) checkName('user', user);
      await withContext(cmd, async ({ db }) => {
        const rows = await listTokens(db, user);
        if (opts.json) return printJson(rows);
        printTable(
          rows.map((t) => ({
            user: t.user,
            name: t.name,
            role: t.role,
            last_used: t.last_used_at,
            created: t.created_at,
          })),
          '(no active tokens)',
        );
      });
    });
}

/** `sluice users revoke`: revoke an API token by name */
function revokeCommand(users: Command): void {
  users
    .command('revoke <user> <token>')
    .description('revoke an API token by name')
    .action(async (user: string, token: string, _opts: unknown, cmd: Command) => {
      checkName('user', user);
      await withContext(cmd, async ({ db }) => {
        const ok = await db.tx((tx) => revokeToken(tx, user, token, actor()));
        if (!ok)
          throw new UsageError(
            `${user} has no active token named '${token}'`,
            'list them with `sluice users tokens`',
          );
        process.stdout.write(`revoked token ${token} of ${user}\n`);
      });
    });
}

/** `sluice users reset-password`: set a new password and end the user's sessions; prints a generated one-time password */
function resetPasswordCommand(users: Command): void {
  users
    .command('reset-password <name>')
    .description("set a new password and end the user's sessions; prints a generated one-time password")
    .option('--password-stdin', 'read the new password from stdin instead of generating one')
    .action(async (name: string, opts: { passwordStdin?: boolean }, cmd: Command) => {
      checkName('user', name);
      const password = opts.passwordStdin ? await readPasswordStdin() : undefined;
      await withContext(cmd, async ({ db }) => {
        const generated = await db.tx((tx) => setPassword(tx, name, actor(), password));
        process.stdout.write(`password of ${name} changed; their sessions ended\n`);
        if (generated) process.stdout.write(oneTime(name, generated));
      });
    });
}

export function registerUserCommands(program: Command): void {
  const users = program
    .command('users')
    .description('users of the web server and API (roles viewer, operator, admin) and API tokens');

  addCommand(users);
  listCommand(users);
  removeCommand(users);
  tokenCommand(users);
  tokensCommand(users);
  revokeCommand(users);
  resetPasswordCommand(users);
}
