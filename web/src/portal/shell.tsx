// The portal's frame: its base path, the signed-in user, the language switch and the header.
import { lang, messages, setLang, type Lang } from './i18n';
import { signOut, type User } from './api';
import { linkClick, navigate } from '../router';
import { signal, useSignal } from '../signal';

export const BASE = '/portal';

// The signed-in user: undefined while the page finds out, null when signed out.
export const currentUser = signal<User | null | undefined>(undefined);

export function LangSwitch() {
  const l = useSignal(lang);
  const m = messages(l);
  return (
    <div class="pf-lang" role="group" aria-label={m.language}>
      {(['es', 'en'] as Lang[]).map((code) => (
        <button
          type="button"
          aria-pressed={code === l}
          lang={code}
          onClick={() => setLang(code)}
          data-testid={`lang-${code}`}
          key={code}
        >
          {code === 'es' ? 'Español' : 'English'}
        </button>
      ))}
    </div>
  );
}

export function Header({ user }: { user: User }) {
  const m = messages(useSignal(lang));
  return (
    <header class="pf-top">
      <div class="pf-top-in">
        <a href={BASE} class="pf-brand" onClick={linkClick}>
          <span class="pf-logo" aria-hidden="true">
            E
          </span>
          <span>
            Escala <span class="pf-brand-sub">{m.portalName}</span>
          </span>
        </a>
        <nav class="pf-nav" aria-label={m.portalName}>
          <a href={BASE} onClick={linkClick}>
            {m.myCases}
          </a>
          <a href={`${BASE}/new`} onClick={linkClick} class="pf-nav-new" data-testid="nav-new">
            + {m.newCase}
          </a>
        </nav>
        <div class="pf-spacer" />
        <LangSwitch />
        <span class="pf-who" data-testid="who">
          {user.name}
          {user.account && <span class="pf-acct"> · {user.account}</span>}
        </span>
        <button
          type="button"
          class="pf-btn pf-btn-quiet"
          onClick={async () => {
            await signOut().catch(() => {});
            currentUser.set(null);
            navigate(`${BASE}/signin`, true);
          }}
          data-testid="sign-out"
        >
          {m.signOut}
        </button>
      </div>
    </header>
  );
}
