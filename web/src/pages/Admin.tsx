/**
 * Variables (with their audit trail), pools and users. Everyone sees variables and pools;
 * changing them, and anything about users, is for admins (the server refuses others with 403).
 */
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useState } from 'react';
import { api } from '../api/client.ts';
import type { ApiUser, ApiVariable, CreatedToken, CreatedUser, Role } from '../api/types.ts';
import { Badge } from '../components/Badge.tsx';
import { ConfirmButton } from '../components/Confirm.tsx';
import { QueryView } from '../components/Query.tsx';
import { ActionResult, Empty, roleRefusal } from '../components/States.tsx';
import { Table } from '../components/Table.tsx';
import { When } from '../components/When.tsx';
import { jsonText, relative } from '../lib/format.ts';
import { useAction } from '../lib/mutation.ts';
import { can } from '../lib/status.ts';
import { useMe } from '../session.tsx';

const ROLES: Role[] = ['viewer', 'operator', 'admin'];

/** What the user typed: JSON when it parses (42, true, null, "x"), else the text itself. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function VariableRow({ v, editable }: { v: ApiVariable; editable: boolean }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(jsonText(v.value));
  const refresh = [['vars'], ['var-history']];
  const save = useAction((value: unknown) => api.setVar(v.name, value), refresh);
  const unset = useAction(() => api.unsetVar(v.name), refresh);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(parseValue(text), { onSuccess: () => setEditing(false) });
  };
  return (
    <tr>
      <th scope="row">
        <code>{v.name}</code>
        <div className="muted small">{v.description}</div>
      </th>
      <td>
        {editing ? (
          <form onSubmit={submit} className="inline">
            <label>
              <span className="sr-only">New value for {v.name}</span>
              <input
                value={text}
                onChange={(e) => setText(e.target.value)}
                aria-describedby={`d-${v.name}`}
              />
            </label>
            <button type="submit" className="primary" disabled={save.isPending}>
              Save
            </button>
            <button
              type="button"
              onClick={() => {
                save.reset();
                setEditing(false);
              }}
            >
              Cancel
            </button>
            <span id={`d-${v.name}`} className="sr-only">
              JSON: a number, true or false, null, or text
            </span>
          </form>
        ) : (
          <code className="value">{jsonText(v.value)}</code>
        )}
        <ActionResult error={save.error ?? unset.error} />
      </td>
      <td>
        <Badge tone={v.source === 'override' ? 'working' : 'muted'}>{v.source}</Badge>
        {v.updatedBy && (
          <div className="muted small">
            by {v.updatedBy} {relative(v.updatedAt)}
          </div>
        )}
        {v.source === 'override' && <div className="muted small">otherwise {jsonText(v.default)}</div>}
      </td>
      <td className="row-actions">
        {!editing && (
          <button
            type="button"
            disabled={!editable}
            aria-label={`Edit ${v.name}`}
            onClick={() => {
              setText(jsonText(v.value));
              setEditing(true);
            }}
          >
            Edit
          </button>
        )}
        {v.source === 'override' && (
          <ConfirmButton
            label="Reset"
            title={`Reset ${v.name}?`}
            disabled={!editable}
            onConfirm={() => unset.mutate(undefined)}
          >
            The override is removed; the value from sluice.yaml (or the default), {jsonText(v.default)},
            applies again.
          </ConfirmButton>
        )}
      </td>
    </tr>
  );
}

function Variables({ admin, role }: { admin: boolean; role: Role }) {
  const vars = useQuery({ queryKey: ['vars'], queryFn: api.vars });
  const history = useQuery({ queryKey: ['var-history'], queryFn: () => api.varHistory(50) });
  return (
    <section aria-labelledby="vars-title">
      <h2 id="vars-title">Variables</h2>
      <p className="muted">
        Runtime settings, changed without a restart. Every change is recorded below with who made it.
      </p>
      {!admin && <p className="notice">{roleRefusal(role, 'change variables', 'admin')}</p>}
      <QueryView query={vars} loading="Loading variables">
        {(list) => (
          <Table className="vars" headers={['Variable', 'Value', 'Source', '']}>
            {list.map((v) => (
              <VariableRow key={v.name} v={v} editable={admin} />
            ))}
          </Table>
        )}
      </QueryView>
      <h3 id="audit-title">Audit trail</h3>
      <QueryView query={history} loading="Loading the audit trail">
        {(changes) =>
          changes.length === 0 ? (
            <Empty title="No changes yet">Every variable still has its configured or default value.</Empty>
          ) : (
            <Table
              className="audit"
              label={{ id: 'audit-title' }}
              headers={['When', 'Variable', 'Change', 'By']}
            >
              {changes.map((h) => (
                <tr key={`${h.at}-${h.name}-${h.actor}`}>
                  <td>
                    <When at={h.at} />
                  </td>
                  <td>
                    <code>{h.name}</code>
                  </td>
                  <td>
                    <code>{h.old_value === null ? 'unset' : jsonText(h.old_value)}</code> →{' '}
                    <code>{h.new_value === null ? 'unset' : jsonText(h.new_value)}</code>
                  </td>
                  <td>{h.actor}</td>
                </tr>
              ))}
            </Table>
          )
        }
      </QueryView>
    </section>
  );
}

function Pools({ admin, role }: { admin: boolean; role: Role }) {
  const pools = useQuery({ queryKey: ['pools'], queryFn: api.pools, refetchInterval: 10_000 });
  const setPool = useAction(
    ({ name, size }: { name: string; size: number | null }) => api.setPool(name, size),
    [['pools']],
  );
  const [sizes, setSizes] = useState<Record<string, string>>({});
  return (
    <section aria-labelledby="pools-title">
      <h2 id="pools-title">Pools</h2>
      <p className="muted">
        Limits on concurrent work across all machines. Size 0 drains a pool: running work finishes, nothing
        new starts.
      </p>
      {!admin && <p className="notice">{roleRefusal(role, 'change pool sizes', 'admin')}</p>}
      <QueryView query={pools} loading="Loading pools">
        {(list) => (
          <Table className="pools" headers={['Pool', 'Size', 'In use', 'Queued', 'Change']}>
            {list.map((p) => (
              <tr key={p.name}>
                <th scope="row">{p.name}</th>
                <td className="num">
                  {p.size === 0 ? <Badge tone="warn">drained</Badge> : p.size}
                  {p.override !== null && (
                    <div className="muted small">
                      configured {p.configured}; override by {p.updated_by}
                    </div>
                  )}
                </td>
                <td className="num">
                  {p.running} / {p.size}
                </td>
                <td className="num">{p.queued}</td>
                <td className="row-actions">
                  <form
                    className="inline"
                    onSubmit={(e) => {
                      e.preventDefault();
                      setPool.mutate({ name: p.name, size: Number(sizes[p.name] ?? p.size) });
                    }}
                  >
                    <label>
                      <span className="sr-only">New size of {p.name}</span>
                      <input
                        type="number"
                        min={0}
                        className="short"
                        disabled={!admin}
                        value={sizes[p.name] ?? String(p.size)}
                        onChange={(e) => setSizes({ ...sizes, [p.name]: e.target.value })}
                      />
                    </label>
                    <button type="submit" disabled={!admin}>
                      Set
                    </button>
                  </form>
                  {p.size > 0 ? (
                    <ConfirmButton
                      label="Drain"
                      title={`Drain pool ${p.name}?`}
                      danger
                      disabled={!admin}
                      onConfirm={() => setPool.mutate({ name: p.name, size: 0 })}
                    >
                      Work running in {p.name} finishes; nothing new starts until you restore it.
                    </ConfirmButton>
                  ) : null}
                  {p.override !== null && (
                    <button
                      type="button"
                      disabled={!admin}
                      onClick={() => setPool.mutate({ name: p.name, size: null })}
                    >
                      Restore {p.configured}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </Table>
        )}
      </QueryView>
      <ActionResult error={setPool.error} />
    </section>
  );
}

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

function Users() {
  const me = useMe();
  const users = useQuery({ queryKey: ['users'], queryFn: api.users });
  const add = useAction(
    ({ name, role }: { name: string; role: Role }) => api.addUser(name, role),
    [['users']],
  );
  const remove = useAction((name: string) => api.removeUser(name), [['users']]);
  const [created, setCreated] = useState<CreatedUser>();
  const [open, setOpen] = useState<string>();
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

export default function AdminPage() {
  const me = useMe();
  const admin = can(me.role, 'admin');
  return (
    <>
      <h1>Admin</h1>
      <Variables admin={admin} role={me.role} />
      <Pools admin={admin} role={me.role} />
      <section aria-labelledby="users-title">
        <h2 id="users-title">Users and tokens</h2>
        {admin ? (
          <Users />
        ) : (
          <p className="notice">{roleRefusal(me.role, 'manage users and tokens', 'admin')}</p>
        )}
      </section>
    </>
  );
}
