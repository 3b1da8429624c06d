/** Loading, error and empty states that say what is going on and what to do. */
import type { ReactNode } from 'react';
import { ApiError } from '../api/client.ts';
import type { Role } from '../api/types.ts';

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="state loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {what}…
    </p>
  );
}

/** "Your role viewer cannot …; ask an admin." */
export function roleRefusal(role: Role, what: string, needs: Role): string {
  return `Your role ${role} cannot ${what}; ask an admin for the ${needs} role.`;
}

export function ErrorState({ error, retry, role }: { error: unknown; retry?: () => void; role?: Role }) {
  const e = error instanceof ApiError ? error : undefined;
  let title = 'Something went wrong';
  if (e?.status === 403) title = role ? `Your role ${role} cannot do this; ask an admin` : 'Not allowed';
  else if (e?.status === 404) title = 'Not found';
  else if (e?.code === 'network') title = 'Cannot reach Sluice';
  return (
    <div className="state error" role="alert">
      <strong>{title}</strong>
      <p>{error instanceof Error ? error.message : String(error)}</p>
      {e?.hint && <p className="hint">What to do: {e.hint}</p>}
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state empty">
      <strong>{title}</strong>
      {children && <div>{children}</div>}
    </div>
  );
}

/** A message under a form after an action: the API's error with its hint, or a success. */
export function ActionResult({ error, ok }: { error?: unknown; ok?: ReactNode }) {
  if (error)
    return (
      <p className="result bad" role="alert">
        {error instanceof Error ? error.message : String(error)}
        {error instanceof ApiError && error.hint && <span className="hint"> — {error.hint}</span>}
      </p>
    );
  if (ok)
    return (
      <p className="result good" role="status">
        {ok}
      </p>
    );
  return null;
}
