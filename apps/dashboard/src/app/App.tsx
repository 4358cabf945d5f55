import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import type { Session } from '../api/types';
import { FleetPage } from '../features/fleet/FleetPage';
import { SignInPage } from '../features/session/SignInPage';
import { currentSession, type SessionState, signOut } from '../features/session/session';
import { LiveStore } from '../live/live-store';
import { ConnectionIndicator } from './ConnectionIndicator';
import { Link } from './Link';
import { match, navigate, usePath } from './router';
import { StoreContext, useStructure } from './store-context';
import { applyTheme, initialTheme, type Theme } from './theme';

// Charts (uPlot) and the administration screens load when first visited, keeping the first page small.
const DevicePage = lazy(() => import('../features/device/DevicePage'));
const ExplorerPage = lazy(() => import('../features/explorer/ExplorerPage'));
const AdminPage = lazy(() => import('../features/admin/AdminPage'));

export function App() {
  const [session, setSession] = useState<SessionState>({ kind: 'loading' });
  const signedOut = useCallback(
    (notice?: string) => setSession({ kind: 'signed-out', ...(notice ? { notice } : {}) }),
    [],
  );
  useEffect(() => {
    void currentSession().then(setSession);
  }, []);

  if (session.kind === 'loading') return <p className="loading">Loading…</p>;
  if (session.kind === 'unavailable') {
    return (
      <main className="signin">
        <div className="card signin-card" role="alert">
          <h1>edgewire</h1>
          <p className="error">{session.message}</p>
          <button type="button" onClick={() => location.reload()}>
            Try again
          </button>
        </div>
      </main>
    );
  }
  if (session.kind === 'signed-out') {
    return (
      <SignInPage notice={session.notice} onSignedIn={(s) => setSession({ kind: 'signed-in', session: s })} />
    );
  }
  return <SignedIn session={session.session} onSignedOut={signedOut} />;
}

function SignedIn({ session, onSignedOut }: { session: Session; onSignedOut(notice?: string): void }) {
  const [store, setStore] = useState<LiveStore>();
  useEffect(() => {
    const created = new LiveStore(location.origin, session.role === 'admin');
    setStore(created);
    const off = created.client.on('state', (s) => {
      // The hub refused the session cookie: it ended (signed out elsewhere, expired, or removed).
      if (s.state === 'stopped' && (s.code === 401 || s.code === 4003))
        onSignedOut('Your session ended; sign in again.');
    });
    return () => {
      off();
      created.close();
    };
  }, [session, onSignedOut]);
  const context = useMemo(() => (store ? { store, session } : null), [store, session]);
  if (!context) return <p className="loading">Connecting…</p>;
  return (
    <StoreContext.Provider value={context}>
      <Shell
        onSignOut={async () => {
          await signOut();
          onSignedOut();
        }}
      />
    </StoreContext.Provider>
  );
}

function Shell({ onSignOut }: { onSignOut(): void }) {
  const path = usePath();
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const admin = useStructure((s) => s.admin);
  const toggleTheme = () => {
    const next = theme === 'dark' ? 'light' : 'dark';
    applyTheme(next);
    setTheme(next);
  };
  const current = (prefix: string) =>
    (prefix === '/' ? path === '/' || path.startsWith('/devices') : path.startsWith(prefix))
      ? 'page'
      : undefined;

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link href="/" className="brand">
          edgewire
        </Link>
        <nav aria-label="Main">
          <Link href="/" aria-current={current('/')}>
            Fleet
          </Link>
          <Link href="/explorer" aria-current={current('/explorer')}>
            Topics
          </Link>
          {admin && (
            <Link href="/admin" aria-current={current('/admin')}>
              Admin
            </Link>
          )}
        </nav>
        <div className="topbar-end">
          <ConnectionIndicator />
          <button
            type="button"
            className="ghost"
            onClick={toggleTheme}
            aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
          >
            {theme === 'dark' ? '☀' : '☾'}
          </button>
          <button type="button" className="ghost" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<p className="loading">Loading…</p>}>
          <Routes path={path} admin={admin} />
        </Suspense>
      </main>
    </>
  );
}

function Routes({ path, admin }: { path: string; admin: boolean }) {
  if (path === '/' || path === '') return <FleetPage />;
  const device = match('/devices/:id', path);
  if (device) return <DevicePage deviceId={device.id!} />;
  if (path === '/explorer') return <ExplorerPage />;
  const adminTab = match('/admin/*', path) ?? (path === '/admin' ? { '*': '' } : undefined);
  if (adminTab) {
    if (!admin)
      return (
        <p className="error" role="alert">
          Administration is for admins; your role is viewer.
        </p>
      );
    return <AdminPage tab={adminTab['*'] || 'devices'} />;
  }
  return (
    <section>
      <h1>Not found</h1>
      <p>
        Nothing lives at {path}.{' '}
        <button type="button" className="link" onClick={() => navigate('/')}>
          Go to the fleet
        </button>
      </p>
    </section>
  );
}
