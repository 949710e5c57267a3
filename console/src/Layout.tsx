/** The frame of every page: a skip link, the sidebar (only the pages the session's scopes can read), the page. */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { Link, useLocation } from 'wouter';
import { api } from './api/client.js';
import type { Scope } from './api/types.js';
import { holds, useSession } from './session.js';
import { applyTheme, savedTheme, type Theme } from './theme.js';

const PAGES: { href: string; label: string; scope: Scope }[] = [
  { href: '/', label: 'Overview', scope: 'runs:read' },
  { href: '/runs', label: 'Runs', scope: 'runs:read' },
  { href: '/events', label: 'Events', scope: 'events:read' },
  { href: '/automations', label: 'Automations', scope: 'definitions:read' },
  { href: '/people', label: 'People', scope: 'directory:read' },
  { href: '/functions', label: 'Functions', scope: 'functions:read' },
  { href: '/approvals', label: 'Approvals', scope: 'approvals:read' },
  { href: '/guard', label: 'Guard', scope: 'runs:read' },
  { href: '/schedules', label: 'Schedules', scope: 'definitions:read' },
  { href: '/audit', label: 'Audit log', scope: 'admin' },
];

const THEMES: Theme[] = ['system', 'light', 'dark'];

/** The dev outbox exists only under `idflow dev`: shown when the API has it. */
function useHasOutbox(enabled: boolean): boolean {
  const probe = useQuery({
    queryKey: ['outbox-probe'],
    queryFn: () => api.get<unknown>('/v1/outbox').then(() => true),
    enabled,
    retry: false,
    staleTime: Infinity,
  });
  return probe.data === true;
}

function isCurrent(location: string, href: string): boolean {
  return href === '/' ? location === '/' : location === href || location.startsWith(`${href}/`);
}

export function Layout({ children }: { children: ReactNode }) {
  const session = useSession();
  const client = useQueryClient();
  const [location, navigate] = useLocation();
  const [theme, setTheme] = useState<Theme>(savedTheme);
  const pages = PAGES.filter((page) => holds(session, page.scope));
  if (useHasOutbox(holds(session, 'runs:read'))) pages.push({ href: '/outbox', label: 'Dev outbox', scope: 'runs:read' });
  const nextTheme = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
  const signOut = async () => {
    await api.delete('/v1/console/session').catch(() => undefined);
    client.setQueryData(['session'], null);
    client.removeQueries({ predicate: (query) => query.queryKey[0] !== 'session' });
    navigate('/signin');
  };
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <aside className="sidebar">
        <div className="brand">
          <span aria-hidden="true" className="logo">
            ◆
          </span>{' '}
          idflow
        </div>
        <nav aria-label="Console">
          <ul>
            {pages.map((page) => (
              <li key={page.href}>
                <Link href={page.href} aria-current={isCurrent(location, page.href) ? 'page' : undefined}>
                  {page.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="sidebar-foot">
          <p className="who" title={session.scopes.join(', ')}>
            Signed in as <strong>{session.name}</strong>
          </p>
          <button
            type="button"
            className="button ghost"
            onClick={() => {
              applyTheme(nextTheme);
              setTheme(nextTheme);
            }}
            aria-label={`Theme: ${theme}. Switch to ${nextTheme}`}
          >
            Theme: {theme}
          </button>
          <button type="button" className="button ghost" onClick={signOut}>
            Sign out
          </button>
        </div>
      </aside>
      <main id="main" tabIndex={-1} className="content">
        {children}
      </main>
    </div>
  );
}
