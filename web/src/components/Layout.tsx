/** The frame of every page: skip link, navigation, live status, who is logged in. */
import { useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useEffect, useRef } from 'react';
import { Link, useLocation } from 'wouter';
import { api, setCsrfToken } from '../api/client.ts';
import { useLiveState } from '../live.tsx';
import { ME_KEY, useMe } from '../session.tsx';

const NAV = [
  { href: '/', label: 'Overview' },
  { href: '/files', label: 'Files' },
  { href: '/qc', label: 'Metrics' },
  { href: '/streams', label: 'Streams' },
  { href: '/items', label: 'Items' },
  { href: '/health', label: 'Health' },
  { href: '/retrievals', label: 'Retrievals' },
  { href: '/projects', label: 'Catalog' },
  { href: '/admin', label: 'Admin' },
];

const LIVE_TEXT = {
  live: 'Live',
  connecting: 'Connecting…',
  off: 'Live updates off — retrying',
} as const;

function isCurrent(location: string, href: string): boolean {
  return href === '/' ? location === '/' : location.startsWith(href);
}

export function Layout({ children }: { children: ReactNode }) {
  const me = useMe();
  const [location] = useLocation();
  const live = useLiveState();
  const qc = useQueryClient();
  const current = (href: string) => isCurrent(location, href);
  const main = useRef<HTMLElement>(null);
  const firstPage = useRef(true);
  // On every page change (not filter changes: those stay on the page) the title names the page,
  // and keyboard and screen reader users land on its content instead of staying on the link.
  useEffect(() => {
    const file = /^\/files\/(.+)$/.exec(location);
    const page = file
      ? decodeURIComponent(file[1]!)
      : (NAV.find((n) => isCurrent(location, n.href))?.label ?? 'Not found');
    document.title = `${page} · Sluice`;
    if (firstPage.current) firstPage.current = false;
    else main.current?.focus();
  }, [location]);

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
      <main id="main" tabIndex={-1} ref={main}>
        {children}
      </main>
    </>
  );
}
