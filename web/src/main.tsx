import { render, type ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { currentUser, restoreSession, setUnauthenticatedHandler, type User } from './api';
import { lang, messages } from './i18n';
import { navigate, path } from './router';
import { useSignal } from './signal';
import { SignIn } from './pages/SignIn';
import { Queue } from './pages/Queue';
import { CasePage } from './pages/CasePage';
import { NewCase } from './pages/NewCase';
import { ChangePassword } from './pages/ChangePassword';
import { Shell } from './Shell';
import './styles.css';

setUnauthenticatedHandler(() => {
  navigate('/signin?next=' + encodeURIComponent(location.pathname + location.search), true);
});
// The session cookie is HttpOnly: the desk says whether this browser is still signed in.
void restoreSession();

// The supervisor dashboard and its charting library are a chunk of their own, fetched the
// first time /dashboard opens: the queue's first load never carries them (ADR 0004).
let dashboardPage: Promise<ComponentType<{ user: User }>> | null = null;
function Dashboard({ user }: { user: User }) {
  const m = messages(useSignal(lang));
  const [page, setPage] = useState<{ Page: ComponentType<{ user: User }> } | 'failed' | null>(null);
  const allowed = user.role === 'supervisor' || user.role === 'admin';
  useEffect(() => {
    // Agents and customers have no dashboard (the API answers them 403): back to the queue,
    // without fetching the page's chunk.
    if (!allowed) {
      navigate('/cases', true);
      return;
    }
    dashboardPage ??= import('./pages/Dashboard').then((mod) => mod.default);
    dashboardPage.then(
      (Page) => setPage({ Page }),
      () => {
        dashboardPage = null;
        setPage('failed');
      },
    );
  }, []);
  if (page === 'failed') return <p class="error" role="alert">{m.loadFailed}</p>;
  if (!page) return <p class="muted" role="status">{m.loading}</p>;
  return <page.Page user={user} />;
}

// The canned-replies editor is a chunk of its own as well, fetched only for the roles that may
// change the replies (the API's rule: supervisors and administrators); anyone else who opens
// the URL is told so, without the chunk.
let cannedPage: Promise<ComponentType> | null = null;
function CannedReplies({ user }: { user: User }) {
  const m = messages(useSignal(lang));
  const [page, setPage] = useState<{ Page: ComponentType } | 'failed' | null>(null);
  const allowed = user.role === 'supervisor' || user.role === 'admin';
  useEffect(() => {
    if (!allowed) return;
    cannedPage ??= import('./pages/CannedReplies').then((mod) => mod.default);
    cannedPage.then(
      (Page) => setPage({ Page }),
      () => {
        cannedPage = null;
        setPage('failed');
      },
    );
  }, [allowed]);
  if (!allowed)
    return (
      <section class="card narrow">
        <h1>{m.cannedReplies}</h1>
        <p class="error" role="alert" data-testid="canned-forbidden">
          {m.cannedForbidden}
        </p>
      </section>
    );
  if (page === 'failed') return <p class="error" role="alert">{m.loadFailed}</p>;
  if (!page) return <p class="muted" role="status">{m.loading}</p>;
  return <page.Page />;
}

function App() {
  const p = useSignal(path);
  const l = useSignal(lang);
  const user = useSignal(currentUser);
  const pathname = p.split('?')[0];

  useEffect(() => {
    if (user === undefined) return;  // still asking the desk
    if (!user && pathname !== '/signin') navigate('/signin?next=' + encodeURIComponent(p), true);
    if (user && (pathname === '/signin' || pathname === '/')) navigate('/cases', true);
  }, [user, pathname]);

  if (user === undefined)
    return (
      <p class="muted boot" role="status">
        {messages(l).loading}
      </p>
    );
  if (!user || pathname === '/signin') return <SignIn />;
  const caseMatch = /^\/cases\/([A-Za-z0-9-]+)$/.exec(pathname);
  return (
    <Shell user={user}>
      {pathname === '/password' ? (
        <ChangePassword />
      ) : pathname === '/dashboard' ? (
        <Dashboard user={user} />
      ) : pathname === '/canned-replies' ? (
        <CannedReplies user={user} />
      ) : pathname === '/new' && user.role !== 'customer' ? (
        <NewCase user={user} />
      ) : caseMatch ? (
        <CasePage number={caseMatch[1]} user={user} />
      ) : (
        <Queue user={user} />
      )}
    </Shell>
  );
}

render(<App />, document.getElementById('app')!);
