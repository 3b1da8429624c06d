/** The admin page's variables: each with its value and source, edited inline, and the audit trail. */
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api } from '../../api/client.ts';
import type { ApiVariable, Role } from '../../api/types.ts';
import { Badge } from '../../components/Badge.tsx';
import { ConfirmButton } from '../../components/Confirm.tsx';
import { QueryView } from '../../components/Query.tsx';
import { ActionResult, Empty, roleRefusal } from '../../components/States.tsx';
import { Table } from '../../components/Table.tsx';
import { When } from '../../components/When.tsx';
import { jsonText, relative } from '../../lib/format.ts';
import { useAction } from '../../lib/mutation.ts';

/** What the user typed: JSON when it parses (42, true, null, "x"), else the text itself. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The inline form that edits a variable's value (as JSON, or plain text). */
function ValueEditor({
  name,
  text,
  setText,
  saving,
  onSubmit,
  onCancel,
}: {
  name: string;
  text: string;
  setText: (t: string) => void;
  saving: boolean;
  onSubmit: (e: FormEvent) => void;
  onCancel: () => void;
}) {
  return (
    <form onSubmit={onSubmit} className="inline">
      <label>
        <span className="sr-only">New value for {name}</span>
        <input value={text} onChange={(e) => setText(e.target.value)} aria-describedby={`d-${name}`} />
      </label>
      <button type="submit" className="primary" disabled={saving}>
        Save
      </button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
      <span id={`d-${name}`} className="sr-only">
        JSON: a number, true or false, null, or text
      </span>
    </form>
  );
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
          <ValueEditor
            name={v.name}
            text={text}
            setText={setText}
            saving={save.isPending}
            onSubmit={submit}
            onCancel={() => {
              save.reset();
              setEditing(false);
            }}
          />
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

/** Every variable change: when, what, from which value to which, by whom (the last 50). */
function AuditTrail() {
  const history = useQuery({ queryKey: ['var-history'], queryFn: () => api.varHistory(50) });
  return (
    <>
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
    </>
  );
}

export function Variables({ admin, role }: { admin: boolean; role: Role }) {
  const vars = useQuery({ queryKey: ['vars'], queryFn: api.vars });
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
      <AuditTrail />
    </section>
  );
}
