import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import { session, setUnauthenticatedHandler } from './api';
import { lang } from './i18n';
import { navigate, path } from './router';
import { useSignal } from './signal';
import { sessionVersion } from './state';
import { SignIn } from './pages/SignIn';
import { Queue } from './pages/Queue';
import { CasePage } from './pages/CasePage';
import { Shell } from './Shell';
import './styles.css';

setUnauthenticatedHandler(() => {
  sessionVersion.set(sessionVersion.get() + 1);
  navigate('/signin', true);
});

function App() {
  const p = useSignal(path);
  useSignal(lang);
  useSignal(sessionVersion);
  const s = session();
  const pathname = p.split('?')[0];

  useEffect(() => {
    if (!s && pathname !== '/signin') navigate('/signin?next=' + encodeURIComponent(p), true);
    if (s && (pathname === '/signin' || pathname === '/')) navigate('/cases', true);
  }, [s, pathname]);

  if (!s || pathname === '/signin') return <SignIn />;
  const caseMatch = /^\/cases\/([A-Za-z0-9-]+)$/.exec(pathname);
  return (
    <Shell user={s.user}>
      {caseMatch ? <CasePage number={caseMatch[1]} user={s.user} /> : <Queue />}
    </Shell>
  );
}

render(<App />, document.getElementById('app')!);
