import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { logout, type User } from './api';
import { lang, messages, setLang, type Lang } from './i18n';
import { navigate, linkClick } from './router';
import { useSignal } from './signal';
import { connectLive, disconnectLive, liveState } from './stream';
import { caseWords } from './pages/caseWords';

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

// Whether the push channel is up: a dot in the header, its state in words for screen readers.
function LiveDot() {
  const m = messages(useSignal(lang));
  const state = useSignal(liveState);
  const text = state === 'live' ? m.liveOn : state === 'connecting' ? m.liveConnecting : m.liveOff;
  return (
    <span class={`live live-${state}`} data-testid="live" data-state={state} title={text} role="status">
      <span class="dot" aria-hidden="true" />
      <span class="live-text">{text}</span>
    </span>
  );
}

export function Shell({ user, children }: { user: User; children: ComponentChildren }) {
  const m = messages(useSignal(lang));
  // Live updates while signed in (one stream per tab).
  useEffect(() => {
    connectLive();
    return disconnectLive;
  }, []);
  const who = user.role === 'agent' && user.level ? `${user.name} · ${m.levelN(user.level)}` : user.name;
  // The user menu closes on a click elsewhere and on Escape, like any menu.
  const menu = useRef<HTMLDetailsElement>(null);
  useEffect(() => {
    const close = (e: Event) => {
      const d = menu.current;
      if (!d?.open) return;
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !d.contains(e.target as Node)) d.open = false;
    };
    document.addEventListener('click', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('click', close);
      document.removeEventListener('keydown', close);
    };
  }, []);
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
          {(user.role === 'supervisor' || user.role === 'admin') && (
            <a href="/dashboard" onClick={linkClick} data-testid="dashboard-link">
              {m.dashboard}
            </a>
          )}
          {(user.role === 'supervisor' || user.role === 'admin') && (
            <a href="/canned-replies" onClick={linkClick} data-testid="canned-link">
              {m.cannedReplies}
            </a>
          )}
        </nav>
        <div class="spacer" />
        {user.role !== 'customer' && (
          <a href="/new" class="new-case-link" onClick={linkClick} data-testid="new-case-link">
            + {caseWords(lang.get()).newCase}
          </a>
        )}
        <LiveDot />
        <LangSwitch />
        <details class="user-menu" data-testid="user-menu" ref={menu}>
          <summary class="who" data-testid="who">
            {who}
          </summary>
          <div class="menu">
            <a
              href="/password"
              data-testid="change-password-link"
              onClick={(e) => {
                (e.currentTarget.closest('details') as HTMLDetailsElement | null)?.removeAttribute('open');
                linkClick(e);
              }}
            >
              {m.changePassword}
            </a>
            <button
              type="button"
              data-testid="sign-out"
              onClick={async () => {
                await logout().catch(() => {});
                navigate('/signin', true);
              }}
            >
              {m.signOut}
            </button>
          </div>
        </details>
      </header>
      <main>{children}</main>
    </div>
  );
}
