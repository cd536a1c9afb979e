import type { ComponentChildren } from 'preact';
import { logout, type User } from './api';
import { lang, messages, setLang, type Lang } from './i18n';
import { navigate, linkClick } from './router';
import { useSignal } from './signal';
import { sessionVersion } from './state';

export function LangSwitch() {
  const l = useSignal(lang);
  const m = messages(l);
  return (
    <div class="lang" role="group" aria-label={m.language}>
      {(['es', 'en'] as Lang[]).map((code) => (
        <button
          type="button"
          class={code === l ? 'on' : ''}
          aria-pressed={code === l}
          onClick={() => setLang(code)}
          data-testid={`lang-${code}`}
        >
          {code.toUpperCase()}
        </button>
      ))}
    </div>
  );
}

export function Shell({ user, children }: { user: User; children: ComponentChildren }) {
  const m = messages(useSignal(lang));
  const who = user.role === 'agent' && user.level ? `${user.name} · ${m.levelN(user.level)}` : user.name;
  return (
    <div class="shell">
      <header class="top">
        <a href="/cases" class="brand" onClick={linkClick}>
          Escala
        </a>
        <nav>
          <a href="/cases" onClick={linkClick}>
            {m.queue}
          </a>
        </nav>
        <div class="spacer" />
        <LangSwitch />
        <span class="who" data-testid="who">
          {who}
        </span>
        <button
          type="button"
          class="link"
          onClick={async () => {
            await logout().catch(() => {});
            sessionVersion.set(sessionVersion.get() + 1);
            navigate('/signin', true);
          }}
        >
          {m.signOut}
        </button>
      </header>
      <main>{children}</main>
    </div>
  );
}
