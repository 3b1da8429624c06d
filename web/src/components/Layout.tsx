/** The frame of every page: skip link, navigation, live status, who is logged in. */
import { useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link, useLocation } from 'wouter';
import { api, setCsrfToken } from '../api/client.ts';
import { useLiveState } from '../live.tsx';
import { ME_KEY, useMe } from '../session.tsx';

const NAV = [
  { href: '/', label: 'Overview' },
  { href: '/files', label: 'Files' },
  { href: '/qc', label: 'Metrics' },
  { href: '/admin', label: 'Admin' },
];

const LIVE_TEXT = {
  live: 'Live',
  connecting: 'Connecting…',
  off: 'Live updates off — retrying',
} as const;

export function Layout({ children }: { children: ReactNode }) {
  const me = useMe();
  const [location] = useLocation();
  const live = useLiveState();
  const qc = useQueryClient();
  const current = (href: string) => (href === '/' ? location === '/' : location.startsWith(href));

  const logout = async () => {
    try {
      await api.logout();
    } finally {
      setCsrfToken(null);
      qc.setQueryData(ME_KEY, null);
      // nothing of this session stays in memory for the next user of this browser
      qc.removeQueries({ predicate: (q) => q.queryKey[0] !== ME_KEY[0] });
    }
  };

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand">
          Sluice
        </Link>
        <nav aria-label="Pages">
          <ul>
            {NAV.map((n) => (
              <li key={n.href}>
                <Link href={n.href} aria-current={current(n.href) ? 'page' : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span className={`live live-${live}`} role="status" title="Updates from the server's event stream">
            {LIVE_TEXT[live]}
          </span>
          <span className="user">
            {me.user} <span className="role">({me.role})</span>
          </span>
          <button type="button" onClick={logout}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
