/** The admin page's users: list, add and remove users, and each user's API tokens. */
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useState } from 'react';
import { api } from '../../api/client.ts';
import type { ApiUser, CreatedToken, CreatedUser, Role } from '../../api/types.ts';
import { ConfirmButton } from '../../components/Confirm.tsx';
import { QueryView } from '../../components/Query.tsx';
import { ActionResult } from '../../components/States.tsx';
import { Table } from '../../components/Table.tsx';
import { When } from '../../components/When.tsx';
import { relative } from '../../lib/format.ts';
import { useAction } from '../../lib/mutation.ts';
import { useMe } from '../../session.tsx';

const ROLES: Role[] = ['viewer', 'operator', 'admin'];

function Tokens({ user }: { user: ApiUser }) {
  const tokens = useQuery({ queryKey: ['tokens', user.name], queryFn: () => api.tokens(user.name) });
  const refresh = [['tokens', user.name], ['users']];
  const add = useAction(
    ({ name, role }: { name: string; role: Role }) => api.addToken(user.name, name, role),
    refresh,
  );
  const revoke = useAction((name: string) => api.revokeToken(user.name, name), refresh);
  const [created, setCreated] = useState<CreatedToken>();
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    add.mutate(
      { name: String(f.get('name')), role: String(f.get('role')) as Role },
      { onSuccess: (t) => setCreated(t) },
    );
  };
  return (
    <div className="tokens">
      <QueryView query={tokens} loading="Loading tokens">
        {(list) =>
          list.length === 0 ? (
            <p className="muted">No active tokens.</p>
          ) : (
            <ul>
              {list.map((t) => (
                <li key={t.id}>
                  <code>{t.name}</code> ({t.role}) · created {relative(t.created_at)} by {t.created_by} · last
                  used {relative(t.last_used_at)}{' '}
                  <ConfirmButton
                    label="Revoke"
                    title={`Revoke token ${t.name} of ${user.name}?`}
                    danger
                    onConfirm={() => revoke.mutate(t.name)}
                  >
                    Scripts using it are refused from now on.
                  </ConfirmButton>
                </li>
              ))}
            </ul>
          )
        }
      </QueryView>
      <form onSubmit={submit} className="inline">
        <label>
          Token name
          <input name="name" required pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,63}" />
        </label>
        <label>
          Role
          <select name="role" defaultValue={user.role}>
            {ROLES.slice(0, ROLES.indexOf(user.role) + 1).map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit">Create token</button>
      </form>
      {created && (
        <p className="result good" role="status">
          Token <code>{created.name}</code>: <code className="secret">{created.token}</code> — copy it now, it
          is not shown again.
        </p>
      )}
      <ActionResult error={add.error ?? revoke.error} />
    </div>
  );
}

/** The form that adds a user, and the one-time password it was given. */
function AddUser() {
  const add = useAction(
    ({ name, role }: { name: string; role: Role }) => api.addUser(name, role),
    [['users']],
  );
  const [created, setCreated] = useState<CreatedUser>();
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    add.mutate(
      { name: String(f.get('name')), role: String(f.get('role')) as Role },
      {
        onSuccess: (u) => {
          setCreated(u);
          form.reset();
        },
      },
    );
  };
  return (
    <>
      <h3>Add a user</h3>
      <form onSubmit={submit} className="inline">
        <label>
          Name
          <input name="name" required pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,63}" autoComplete="off" />
        </label>
        <label>
          Role
          <select name="role" defaultValue="viewer">
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit" className="primary">
          Add user
        </button>
      </form>
      {created?.password && (
        <p className="result good" role="status">
          {created.user} ({created.role}) can log in once with{' '}
          <code className="secret">{created.password}</code> and must then choose a password. It is not shown
          again.
        </p>
      )}
      <ActionResult error={add.error} />
    </>
  );
}

function UserRows({
  u,
  open,
  onToggle,
  children,
}: {
  u: ApiUser;
  open: boolean;
  onToggle: () => void;
  children: ReactNode;
}) {
  return (
    <>
      <tr>
        <th scope="row">
          {u.name}
          {u.must_change_password && <div className="muted small">has a one-time password</div>}
        </th>
        <td>{u.role}</td>
        <td className="num">{u.tokens}</td>
        <td>
          <When at={u.last_seen_at} />
        </td>
        <td className="row-actions">
          <button type="button" aria-expanded={open} onClick={onToggle}>
            Tokens
          </button>
          {children}
        </td>
      </tr>
      {open && (
        <tr>
          <td colSpan={5}>
            <Tokens user={u} />
          </td>
        </tr>
      )}
    </>
  );
}

export function Users() {
  const me = useMe();
  const users = useQuery({ queryKey: ['users'], queryFn: api.users });
  const remove = useAction((name: string) => api.removeUser(name), [['users']]);
  const [open, setOpen] = useState<string>();
  return (
    <>
      <QueryView query={users} loading="Loading users" role={me.role}>
        {(list) => (
          <Table className="users" headers={['User', 'Role', 'Tokens', 'Last seen', '']}>
            {list.map((u) => (
              <UserRows
                key={u.id}
                u={u}
                open={open === u.name}
                onToggle={() => setOpen(open === u.name ? undefined : u.name)}
              >
                <ConfirmButton
                  label="Remove"
                  title={`Remove user ${u.name}?`}
                  danger
                  disabled={u.name === me.user}
                  disabledReason="you cannot remove yourself"
                  onConfirm={() => remove.mutate(u.name)}
                >
                  Their sessions end and their API tokens stop working.
                </ConfirmButton>
              </UserRows>
            ))}
          </Table>
        )}
      </QueryView>
      <ActionResult error={remove.error} />
      <AddUser />
    </>
  );
}
