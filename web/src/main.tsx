import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import { currentUser, restoreSession, setUnauthenticatedHandler } from './api';
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
