import { useState } from 'preact/hooks';
import { ApiError, login } from '../api';
import { lang, messages, setLang, type Messages } from '../i18n';
import { navigate } from '../router';
import { useSignal } from '../signal';
import { LangSwitch } from '../Shell';

export function SignIn() {
  const m = messages(useSignal(lang));
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  // A function of the messages, so the text follows the language switch.
  const [error, setError] = useState<((m: Messages) => string) | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const user = await login(email.trim(), password);
      if (!localStorage.getItem('escala.lang')) setLang(user.language);
      const next = new URLSearchParams(location.search).get('next');
      // Only a path of this site: never an absolute or protocol-relative URL.
      navigate(next && next.startsWith('/') && !next.startsWith('//') && next !== '/signin' ? next : '/cases', true);
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
    // The page's one landmark: everything on it is inside <main> (axe: region, landmark-one-main).
    <main class="signin-page">
      <form class="signin card" onSubmit={submit} data-testid="signin-form">
        <div class="signin-head">
          <div>
            <div class="brand big">Escala</div>
            <p class="muted">{m.signInLead}</p>
          </div>
          <LangSwitch />
        </div>
        <h1>{m.signInTitle}</h1>
        <label>
          {m.email}
          <input
            type="email"
            name="email"
            autocomplete="username"
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={error ? 'signin-error' : undefined}
          />
        </label>
        <label>
          {m.password}
          <input
            type="password"
            name="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={error ? 'signin-error' : undefined}
          />
        </label>
        {error && (
          <p class="error" role="alert" id="signin-error" data-testid="signin-error">
            {error(m)}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? m.signingIn : m.signIn}
        </button>
      </form>
    </main>
  );
}
