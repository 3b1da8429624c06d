/** Logging in, and changing a one-time password before anything else. */
import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useLocation } from 'wouter';
import { ApiError, api, setCsrfToken } from '../api/client.ts';
import type { Me } from '../api/types.ts';
import { ActionResult } from '../components/States.tsx';
import { ME_KEY } from '../session.tsx';

function formValue(form: HTMLFormElement, name: string): string {
  return String(new FormData(form).get(name) ?? '');
}

export function LoginPage({ next }: { next: string }) {
  const qc = useQueryClient();
  const [, navigate] = useLocation();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const r = await api.login(formValue(e.currentTarget, 'name'), formValue(e.currentTarget, 'password'));
      setCsrfToken(r.csrfToken);
      const me: Me = { ...r, via: 'session' };
      qc.setQueryData(ME_KEY, me);
      navigate(next, { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="narrow login" id="main">
      <h1>Sluice</h1>
      <p className="lede">Log in to see your instruments, files and processing.</p>
      <form onSubmit={submit} className="card stack">
        <label>
          User name
          <input name="name" autoComplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
        <ActionResult error={error} />
      </form>
      <p className="hint">
        The first start prints the admin's one-time password. A forgotten password: an admin runs{' '}
        <code>sluice users reset-password NAME</code>.
      </p>
    </main>
  );
}

export function ChangePasswordPage({ me }: { me: Me }) {
  const qc = useQueryClient();
  const [error, setError] = useState<unknown>();

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const password = formValue(form, 'password');
    if (password !== formValue(form, 'again')) {
      setError(new ApiError(400, { message: 'the two new passwords differ', field: 'again' }));
      return;
    }
    try {
      const r = await api.changePassword(formValue(form, 'current'), password);
      setCsrfToken(r.csrfToken);
      qc.setQueryData(ME_KEY, { ...me, csrfToken: r.csrfToken, mustChangePassword: false });
    } catch (err) {
      setError(err);
    }
  };

  return (
    <main className="narrow login" id="main">
      <h1>Choose your password</h1>
      <p className="lede">
        {me.user}, you logged in with a one-time password. Choose your own (at least 12 characters) to go on.
      </p>
      <form onSubmit={submit} className="card stack">
        <label>
          One-time password
          <input name="current" type="password" autoComplete="current-password" required />
        </label>
        <label>
          New password
          <input name="password" type="password" autoComplete="new-password" minLength={12} required />
        </label>
        <label>
          New password again
          <input name="again" type="password" autoComplete="new-password" minLength={12} required />
        </label>
        <button type="submit" className="primary">
          Save and continue
        </button>
        <ActionResult error={error} />
      </form>
    </main>
  );
}
