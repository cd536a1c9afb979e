// The customer portal (/portal): a customer of an account signs in, follows the account's
// cases, opens activations and incidents with the deck's required data, adds what is
// missing, replies, and confirms a resolution or says it is not solved (R2, R3.3, D4).
// A Vite entry of its own (portal.html), so the agent console's first load does not carry it.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { restoreSession, setSignedOutHandler } from './api';
import { lang, languageChosen, messages, setLang } from './i18n';
import { navigate, path } from '../router';
import { useSignal } from '../signal';
import { BASE, currentUser, Header } from './shell';
import { SignIn } from './SignIn';
import { CaseList } from './CaseList';
import { NewCase } from './NewCase';
import { CaseView } from './CaseView';
import './portal.css';

setSignedOutHandler(() => {
  currentUser.set(null);
  navigate(`${BASE}/signin`, true);
});

function App() {
  const p = useSignal(path);
  const user = useSignal(currentUser);
  const l = useSignal(lang);
  const m = messages(l);
  const [failed, setFailed] = useState('');
  const [pathname, search] = p.split('?');
  const sub = pathname.replace(/\/+$/, '').slice(BASE.length) || '/';

  useEffect(() => {
    restoreSession()
      .then((u) => {
        if (u && !languageChosen()) setLang(u.language, false);
        currentUser.set(u);
      })
      .catch((e) => setFailed(e instanceof Error ? e.message : String(e)));
  }, []);

  useEffect(() => {
    if (user === null && sub !== '/signin') navigate(`${BASE}/signin?next=${encodeURIComponent(p)}`, true);
    if (user && sub === '/signin') navigate(BASE, true);
  }, [user, sub]);

  // Each page names itself in the tab.
  useEffect(() => {
    document.title = `${m.portalName} · Escala`;
  }, [l]);

  if (failed) return <p class="pf-error pf-center">{`${m.unexpected}: ${failed}`}</p>;
  if (user === undefined) return <p class="pf-muted pf-center">{m.loading}</p>;
  if (user === null || sub === '/signin') return <SignIn onSignedIn={(u) => currentUser.set(u)} />;

  const caseMatch = /^\/cases\/([A-Za-z0-9-]+)$/.exec(sub);
  let page;
  if (caseMatch) page = <CaseView number={caseMatch[1]} user={user} created={new URLSearchParams(search).has('created')} />;
  else if (sub === '/new') page = <NewCase user={user} initialType={new URLSearchParams(search).get('type')} />;
  else page = <CaseList user={user} />;
  return (
    <div class="pf-shell">
      <a href="#main" class="pf-skip">
        {m.skipToContent}
      </a>
      <Header user={user} />
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
