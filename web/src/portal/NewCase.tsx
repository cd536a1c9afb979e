import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, fieldSpecs, type Case, type FieldSpec, type User } from './api';
import { lang, messages } from './i18n';
import { linkClick, navigate } from '../router';
import { useSignal } from '../signal';
import { FieldInput, applies, errorFor, fieldsOf, invalidText, namesOf } from './fields';
import { BASE } from './shell';

type Kind = 'incident' | 'activation';

export function NewCase({ user, initialType }: { user: User; initialType: string | null }) {
  const l = useSignal(lang);
  const m = messages(l);
  const [type, setType] = useState<Kind>(initialType === 'activation' ? 'activation' : 'incident');
  const [specs, setSpecs] = useState<FieldSpec[]>([]);
  const [subject, setSubject] = useState('');
  const [description, setDescription] = useState('');
  // One set of typed values per type, so switching back and forth loses nothing.
  const [values, setValues] = useState<Record<Kind, Record<string, string>>>({
    incident: {},
    activation: { account_id: user.account ?? '' },
  });
  const [error, setError] = useState<{ field?: string; message: string } | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    fieldSpecs(type)
      .then((f) => live && setSpecs(f))
      .catch((e) => live && setError({ message: e instanceof Error ? e.message : String(e) }));
    return () => {
      live = false;
    };
  }, [type]);

  const v = values[type];
  const shown = specs.filter((s) => applies(s, v));
  const typed = fieldsOf(v, specs);
  const missing = shown.filter((s) => !(s.name in typed)).map((s) => s.name);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const created = await call<Case>('POST', '/cases', {
        type,
        subject: subject.trim(),
        description: description.trim(),
        channel: 'portal',
        fields: typed,
      });
      navigate(`${BASE}/cases/${encodeURIComponent(created.number)}?created=1`);
    } catch (err) {
      if (err instanceof ApiError) setError({ field: err.field, message: err.message });
      else setError({ message: err instanceof Error ? err.message : String(err) });
    } finally {
      setBusy(false);
    }
  }

  // The desk's answer about one field, in the reader's words where we have them.
  const fieldError = (name: string) => (error && errorFor(error.field, name) ? invalidText(name, error.message, m) : undefined);
  const generalError = error && !specs.some((s) => errorFor(error.field, s.name)) ? error : null;

  return (
    <section class="pf-page pf-narrow" aria-labelledby="new-title">
      <a href={BASE} class="pf-back" onClick={linkClick}>
        {m.backToCases}
      </a>
      <h1 id="new-title">{m.newCaseTitle}</h1>
      <form class="pf-form" onSubmit={submit} data-testid="new-case-form">
        <fieldset class="pf-kinds">
          <legend>{m.whatDoYouNeed}</legend>
          {(['incident', 'activation'] as Kind[]).map((k) => (
            <label class={`pf-kind${type === k ? ' on' : ''}`} key={k}>
              <input
                type="radio"
                name="type"
                value={k}
                checked={type === k}
                onChange={() => {
                  setType(k);
                  setError(null);
                }}
                data-testid={`type-${k}`}
              />
              <span class="pf-kind-title">{k === 'incident' ? m.incidentTitle : m.activationTitle}</span>
              <span class="pf-kind-lead">{k === 'incident' ? m.incidentLead : m.activationLead}</span>
            </label>
          ))}
        </fieldset>

        <div class="pf-card">
          <div class={`pf-field${error?.field === 'subject' ? ' is-error' : ''}`}>
            <label for="f-subject">
              <span>{m.subject}</span>
              <span class="pf-req">{m.required}</span>
            </label>
            <input
              id="f-subject"
              name="subject"
              required
              maxLength={300}
              value={subject}
              aria-describedby="f-subject-hint"
              onInput={(e) => setSubject(e.currentTarget.value)}
              data-testid="input-subject"
            />
            <small id="f-subject-hint" class="pf-hint">
              {m.subjectHint}
            </small>
          </div>
          <div class="pf-field">
            <label for="f-description">{m.description}</label>
            <textarea
              id="f-description"
              name="description"
              rows={4}
              value={description}
              aria-describedby="f-description-hint"
              onInput={(e) => setDescription(e.currentTarget.value)}
              data-testid="input-description"
            />
            <small id="f-description-hint" class="pf-hint">
              {m.descriptionHint}
            </small>
          </div>
        </div>

        <div class="pf-card">
          <h2>{m.requiredData}</h2>
          <p class="pf-muted pf-small">{m.requiredLead}</p>
          <div class="pf-grid-fields">
            {shown.map((s) => (
              <FieldInput
                key={s.name}
                spec={s}
                m={m}
                l={l}
                value={v[s.name] ?? ''}
                missing={!(s.name in typed)}
                error={fieldError(s.name)}
                onChange={(x) => {
                  setValues({ ...values, [type]: { ...v, [s.name]: x } });
                  if (error && errorFor(error.field, s.name)) setError(null);
                }}
              />
            ))}
          </div>
          <p class={missing.length ? 'pf-callout tone-you' : 'pf-callout tone-done'} aria-live="polite" data-testid="form-missing">
            {missing.length ? m.stillMissing(namesOf(missing, specs, l)) : m.allThere}
          </p>
        </div>

        {generalError && (
          <p class="pf-error" role="alert" data-testid="form-error">
            {generalError.field ? `${generalError.field}: ` : ''}
            {generalError.message}
          </p>
        )}
        <div class="pf-actions">
          <a href={BASE} class="pf-btn pf-btn-quiet" onClick={linkClick}>
            {m.cancel}
          </a>
          <button type="submit" class="pf-btn pf-btn-primary" disabled={busy || !subject.trim()} data-testid="submit-case">
            {busy ? m.sending : m.send}
          </button>
        </div>
      </form>
    </section>
  );
}
