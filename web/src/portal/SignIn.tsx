import { useState } from 'preact/hooks';
import { ApiError, signIn, signOut, type User } from './api';
import { lang, languageChosen, messages, setLang, type Messages } from './i18n';
import { navigate } from '../router';
import { useSignal } from '../signal';
import { BASE, LangSwitch } from './shell';

export function SignIn({ onSignedIn }: { onSignedIn: (u: User) => void }) {
  const m = messages(useSignal(lang));
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  // A function of the messages, so the text follows the language switch.
  const [error, setError] = useState<((m: Messages) => string) | null>(null);
  const [staff, setStaff] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setStaff(false);
    try {
      const user = await signIn(email.trim(), password);
      if (user.role !== 'customer') {
        // The portal is the customers' view; staff work in the console.
        await signOut().catch(() => {});
        setStaff(true);
        return;
      }
      if (!languageChosen()) setLang(user.language, false);
      onSignedIn(user);
      const next = new URLSearchParams(location.search).get('next');
      // Only a portal path of this site: never an absolute or protocol-relative URL.
      navigate(next && next.startsWith(BASE) && !next.startsWith(`${BASE}/signin`) ? next : BASE, true);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 400)) setError(() => (x: Messages) => x.wrongCredentials);
      else if (err instanceof ApiError && err.status === 429) setError(() => (x: Messages) => x.tooManyAttempts);
      else {
        const detail = err instanceof Error ? err.message : '';
        setError(() => (x: Messages) => (detail ? `${x.unexpected}: ${detail}` : x.unexpected));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="pf-signin-page">
      <main class="pf-signin-wrap">
        <div class="pf-signin-brand">
          <span class="pf-logo big" aria-hidden="true">
            E
          </span>
          <div>
            <div class="pf-brand-name">Escala</div>
            <div class="pf-brand-tag">{m.portalName}</div>
          </div>
        </div>
        <form class="pf-card pf-signin" onSubmit={submit} data-testid="signin-form">
          <div class="pf-signin-head">
            <h1>{m.signInTitle}</h1>
            <LangSwitch />
          </div>
          <p class="pf-muted">{m.signInLead}</p>
          <div class="pf-field">
            <label for="signin-email">{m.email}</label>
            <input
              id="signin-email"
              type="email"
              name="email"
              autocomplete="username"
              required
              value={email}
              onInput={(e) => setEmail(e.currentTarget.value)}
            />
          </div>
          <div class="pf-field">
            <label for="signin-password">{m.password}</label>
            <input
              id="signin-password"
              type="password"
              name="password"
              autocomplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </div>
          {error && (
            <p class="pf-error" role="alert" data-testid="signin-error">
              {error(m)}
            </p>
          )}
          {staff && (
            <p class="pf-info" role="alert" data-testid="signin-staff">
              {m.staffHere} <a href="/">{m.openConsole}</a>
            </p>
          )}
          <button type="submit" class="pf-btn pf-btn-primary pf-btn-block" disabled={busy}>
            {busy ? m.signingIn : m.signIn}
          </button>
        </form>
      </main>
    </div>
  );
}
