import { useState } from 'preact/hooks';
import { ApiError, changePassword } from '../api';
import { lang, messages, type Messages } from '../i18n';
import { useSignal } from '../signal';

// The signed-in user's password: the current one, the new one twice. The desk keeps this
// session and signs out every other one of the user.
export function ChangePassword() {
  const m = messages(useSignal(lang));
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [busy, setBusy] = useState(false);
  // Functions of the messages, so the text follows the language switch.
  const [error, setError] = useState<((m: Messages) => string) | null>(null);
  const [done, setDone] = useState<((m: Messages) => string) | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    setDone(null);
    if ([...next].length < 8) return setError(() => (x: Messages) => x.passwordTooShort);
    if (next !== again) return setError(() => (x: Messages) => x.passwordsDiffer);
    setBusy(true);
    try {
      const ended = await changePassword(current, next);
      setCurrent('');
      setNext('');
      setAgain('');
      setDone(() => (x: Messages) => x.passwordChanged(ended));
    } catch (err) {
      if (err instanceof ApiError && err.field === 'current_password')
        setError(() => (x: Messages) => x.wrongCurrentPassword);
      else if (err instanceof ApiError && err.status === 429)
        setError(() => (x: Messages) => x.tooManyAttempts);
      else if (err instanceof ApiError && err.field === 'new_password' && /differ/.test(err.message))
        setError(() => (x: Messages) => x.passwordSame);
      else if (err instanceof ApiError && err.field === 'new_password')
        setError(() => (x: Messages) => x.passwordTooShort);
      else {
        const detail = err instanceof Error ? err.message : '';
        setError(() => (x: Messages) => (detail ? `${x.unexpected}: ${detail}` : x.unexpected));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card narrow" data-testid="password-page">
      <h1>{m.changePassword}</h1>
      <form class="form-grid" onSubmit={submit} data-testid="password-form">
        <label>
          {m.currentPassword}
          <input
            type="password"
            name="current_password"
            autocomplete="current-password"
            required
            value={current}
            onInput={(e) => setCurrent(e.currentTarget.value)}
          />
        </label>
        <label>
          {m.newPassword}
          <input
            type="password"
            name="new_password"
            autocomplete="new-password"
            required
            aria-describedby="password-hint"
            value={next}
            onInput={(e) => setNext(e.currentTarget.value)}
          />
          <span id="password-hint" class="hint muted">
            {m.passwordHint}
          </span>
        </label>
        <label>
          {m.confirmPassword}
          <input
            type="password"
            name="confirm_password"
            autocomplete="new-password"
            required
            value={again}
            onInput={(e) => setAgain(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p class="error" role="alert" data-testid="password-error">
            {error(m)}
          </p>
        )}
        {done && (
          <p class="notice" role="status" data-testid="password-done">
            {done(m)}
          </p>
        )}
        <div>
          <button type="submit" class="primary" disabled={busy} data-testid="password-submit">
            {busy ? m.savingPassword : m.savePassword}
          </button>
        </div>
      </form>
    </section>
  );
}
