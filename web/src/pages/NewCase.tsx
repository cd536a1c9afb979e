// New case from a phone call or a walk-in (staff): an activation (R2.1) or an incident (R2.2)
// with the deck's required data from the desk (GET /api/v1/fields/{type}), the account, the
// impact questions with the severity the desk suggests (GET /api/v1/severity-suggestion, D3)
// and an override that needs a reason. The form checks what the desk checks so the agent
// hears about a mistake while the caller is still on the line; the desk's own 4xx answer is
// always shown next to the field it names.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call, type Account, type Case, type FieldSpec, type List, type Severity, type User } from '../api';
import { lang, label, messages } from '../i18n';
import { linkClick, navigate } from '../router';
import { useSignal } from '../signal';
import { AFFECTED, DISRUPTION, caseWords, word, type CaseWords } from './caseWords';
import './case.css';

type Kind = 'incident' | 'activation';
type Channel = 'phone' | 'walk_in';
const SEVERITIES: Severity[] = ['S1', 'S2', 'S3', 'S4'];
const specCache: Partial<Record<Kind, FieldSpec[]>> = {};

// Whether a field applies given the values so far (the Teams email only for Teams).
function applies(spec: FieldSpec, values: Record<string, string>): boolean {
  return spec.name !== 'teams_email' || values.extension_type === 'teams';
}

// The API's value of a typed value; undefined when nothing was typed.
function toApi(name: string, v: string): unknown {
  const t = v.trim();
  if (t === '') return undefined;
  if (name === 'direct_number') return t === 'true';
  if (name === 'ring_groups') {
    if (/^(none|ninguno|ninguna|no|-)$/i.test(t)) return [];
    return t.split(',').map((x) => x.trim()).filter(Boolean);
  }
  if (name === 'occurred_at') {
    const d = new Date(t); // datetime-local: the viewer's zone
    return isNaN(d.getTime()) ? t : d.toISOString();
  }
  return t;
}

// Lengths are counted in bytes of UTF-8, as the desk counts them.
const encoder = new TextEncoder();
const bytes = (t: string) => encoder.encode(t).length;

// core/text.cpp is_email_address: one '@' not first, a dotted domain not ending in '.',
// no spaces, quotes, commas or angle brackets, at most 254 bytes.
function isEmail(t: string): boolean {
  const at = t.indexOf('@');
  if (!t || bytes(t) > 254 || at <= 0 || at !== t.lastIndexOf('@')) return false;
  const domain = t.slice(at + 1);
  const dot = domain.indexOf('.');
  if (dot <= 0 || domain.endsWith('.')) return false;
  return !/[\s<>,"]/.test(t);
}

// The desk's checks of a typed value (core/rules.cpp), in the reader's words.
function checkValue(name: string, v: string, w: CaseWords): string | null {
  const t = v.trim();
  if (t === '') return null;
  if (name === 'extension') return /^[0-9]{1,16}$/.test(t) ? null : w.badExtension;
  if (name === 'counterpart_number') {
    if (!/^\+?[0-9 ().-]+$/.test(t)) return w.badPhone;
    const digits = t.replace(/[^0-9]/g, '').length;
    return digits >= 2 && digits <= 20 ? null : w.badPhone;
  }
  if (name === 'teams_email') return isEmail(t) ? null : w.badEmail;
  if (name === 'occurred_at') return isNaN(new Date(t).getTime()) ? w.badDate : null;
  if (name === 'ring_groups') return t.split(',').some((x) => bytes(x.trim()) > 500) ? w.tooLong(500) : null;
  return bytes(t) > 500 ? w.tooLong(500) : null;
}

// The form's key for the field a desk error names: "fields.extension" → "extension",
// "impact.affected" → "affected", "severity_reason" → "reason".
function keyOf(field: string | undefined): string | undefined {
  if (!field) return undefined;
  if (field.startsWith('fields.')) return field.slice(7);
  if (field.startsWith('impact.')) return field.slice(7);
  if (field === 'severity_reason') return 'reason';
  if (field === 'impact') return 'affected';
  return field;
}

export function NewCase(_props: { user: User }) {
  const l = useSignal(lang);
  const m = messages(l);
  const w = caseWords(l);
  const [type, setType] = useState<Kind>('incident');
  const [channel, setChannel] = useState<Channel>('phone');
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [account, setAccount] = useState('');
  const [subject, setSubject] = useState('');
  const [description, setDescription] = useState('');
  const [specs, setSpecs] = useState<FieldSpec[]>(specCache.incident ?? []);
  // One set of typed values per type, so switching back and forth loses nothing.
  const [values, setValues] = useState<Record<Kind, Record<string, string>>>({ incident: {}, activation: {} });
  const [affected, setAffected] = useState('');
  const [disruption, setDisruption] = useState('');
  const [suggestion, setSuggestion] = useState<Severity | null>(null);
  const [severity, setSeverity] = useState<'' | Severity>('');
  const [reason, setReason] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState('');
  const [showMissing, setShowMissing] = useState(false);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);

  useEffect(() => {
    call<List<Account>>('GET', '/accounts?limit=1000')
      .then((r) => setAccounts(r.items))
      .catch(() => setAccounts([]));
  }, []);
  useEffect(() => {
    let live = true;
    const cached = specCache[type];
    if (cached) setSpecs(cached);
    else
      call<{ fields: FieldSpec[] }>('GET', `/fields/${type}`)
        .then((r) => {
          specCache[type] = r.fields;
          if (live) setSpecs(r.fields);
        })
        .catch((e) => live && setGeneral(e instanceof Error ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [type]);
  useEffect(() => {
    setSuggestion(null);
    if (!affected || !disruption) return;
    let live = true;
    call<{ severity: Severity }>('GET', `/severity-suggestion?affected=${affected}&disruption=${disruption}`)
      .then((r) => live && setSuggestion(r.severity))
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [affected, disruption]);

  // An activation's "account ID" is the account picked, unless typed otherwise.
  const v: Record<string, string> = { ...values[type] };
  if (type === 'activation' && v.account_id === undefined && account) v.account_id = account;
  const shown = specs.filter((s) => applies(s, v));
  const missing = shown.filter((s) => toApi(s.name, v[s.name] ?? '') === undefined).map((s) => s.name);
  const specLabel = (name: string) => {
    const s = specs.find((x) => x.name === name);
    return s ? (l === 'en' ? s.label_en : s.label_es) : name;
  };
  const overridden = severity !== '' && suggestion !== null && severity !== suggestion;

  function setValue(name: string, x: string) {
    setValues({ ...values, [type]: { ...v, [name]: x } });
    if (errors[name]) setErrors({ ...errors, [name]: '' });
  }

  // What the desk would refuse, by form key (missing required data is not an error: the
  // desk takes it and waits for the rest).
  function validate(): Record<string, string> {
    const e: Record<string, string> = {};
    if (!subject.trim()) e.subject = w.isRequired;
    else if (bytes(subject.trim()) > 300) e.subject = w.tooLong(300);
    for (const s of shown) {
      const msg = checkValue(s.name, v[s.name] ?? '', w);
      if (msg) e[s.name] = msg;
    }
    if (affected && !disruption) e.disruption = w.needBoth;
    if (disruption && !affected) e.affected = w.needBoth;
    if (overridden && !reason.trim()) e.reason = w.reasonRequired;
    if (bytes(reason.trim()) > 2000) e.reason = w.tooLong(2000);
    return Object.fromEntries(Object.entries(e).filter(([, x]) => x));
  }

  function focusFirst(keys: string[]) {
    requestAnimationFrame(() => {
      for (const k of keys) {
        const el = form.current?.querySelector<HTMLElement>(`[data-key="${k}"]`);
        if (el) {
          el.focus();
          return;
        }
      }
    });
  }

  async function submit(anyway: boolean) {
    setGeneral('');
    const e = validate();
    setErrors(e);
    if (Object.keys(e).length) {
      focusFirst(['subject', ...shown.map((s) => s.name), 'affected', 'disruption', 'reason'].filter((k) => e[k]));
      return;
    }
    if (missing.length && !anyway) {
      setShowMissing(true);
      focusFirst(missing);
      return;
    }
    const fields: Record<string, unknown> = {};
    for (const s of shown) {
      const x = toApi(s.name, v[s.name] ?? '');
      if (x !== undefined) fields[s.name] = x;
    }
    const body: Record<string, unknown> = {
      type,
      channel,
      subject: subject.trim(),
      description: description.trim(),
      fields,
    };
    if (account) body.account = account;
    if (affected && disruption) body.impact = { affected, disruption };
    if (severity) body.severity = severity;
    if (severity && reason.trim()) body.severity_reason = reason.trim();
    setBusy(true);
    try {
      const created = await call<Case>('POST', '/cases', body);
      navigate(`/cases/${encodeURIComponent(created.number)}`);
    } catch (err) {
      if (err instanceof ApiError) {
        const k = keyOf(err.field);
        if (k && form.current?.querySelector(`[data-key="${k}"]`)) {
          setErrors({ [k]: err.message });
          focusFirst([k]);
        } else setGeneral(err.field ? `${err.field}: ${err.message}` : err.message);
      } else setGeneral(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  const errOf = (k: string) =>
    errors[k] ? (
      <small id={`nc-${k}-err`} class="nc-err" role="alert" data-testid={`error-${k}`}>
        {errors[k]}
      </small>
    ) : null;
  const aria = (k: string, hint?: string) => ({
    'data-key': k,
    'aria-invalid': errors[k] ? true : undefined,
    'aria-describedby': [hint, errors[k] ? `nc-${k}-err` : ''].filter(Boolean).join(' ') || undefined,
  });

  return (
    <section class="newcase" aria-labelledby="nc-title">
      <a href="/cases" onClick={linkClick} class="back">
        {m.backToQueue}
      </a>
      <h1 id="nc-title">{w.newCaseTitle}</h1>
      <p class="muted nc-lead">{w.newCaseLead}</p>
      <form
        ref={form}
        class="nc-form"
        noValidate
        data-testid="new-case-form"
        onSubmit={(e) => {
          e.preventDefault();
          submit(false);
        }}
      >
        <div class="nc-row">
          <fieldset class="card nc-kinds">
            <legend>{w.kind}</legend>
            {(['incident', 'activation'] as Kind[]).map((k) => (
              <label class={`nc-choice${type === k ? ' on' : ''}`} key={k}>
                <input
                  type="radio"
                  name="type"
                  value={k}
                  checked={type === k}
                  onChange={() => {
                    setType(k);
                    setErrors({});
                    setShowMissing(false);
                  }}
                  data-testid={`type-${k}`}
                />
                <span>
                  <strong>{k === 'incident' ? w.incidentTitle : w.activationTitle}</strong>
                  <small class="muted">{k === 'incident' ? w.incidentLead : w.activationLead}</small>
                </span>
              </label>
            ))}
          </fieldset>
          <fieldset class="card nc-kinds">
            <legend>{w.channel}</legend>
            {(['phone', 'walk_in'] as Channel[]).map((ch) => (
              <label class={`nc-choice${channel === ch ? ' on' : ''}`} key={ch}>
                <input type="radio" name="channel" value={ch} checked={channel === ch} onChange={() => setChannel(ch)} data-testid={`channel-${ch}`} />
                <span>
                  <strong>{ch === 'phone' ? w.phone : w.walkIn}</strong>
                </span>
              </label>
            ))}
          </fieldset>
        </div>

        <div class="card nc-grid">
          <div class={`nc-field${errors.account ? ' is-error' : ''}`}>
            <label for="nc-account">{w.account}</label>
            <select id="nc-account" value={account} onChange={(e) => setAccount(e.currentTarget.value)} data-testid="input-account" {...aria('account', 'nc-account-hint')}>
              <option value="">{w.noAccount}</option>
              {accounts.map((a) => (
                <option value={a.code} key={a.code}>
                  {a.code} · {a.name}
                </option>
              ))}
            </select>
            <small id="nc-account-hint" class="muted">
              {w.accountHint}
            </small>
            {errOf('account')}
          </div>
          <div class={`nc-field nc-wide${errors.subject ? ' is-error' : ''}`}>
            <label for="nc-subject">
              {w.subject} <span class="nc-req">{w.required}</span>
            </label>
            <input id="nc-subject" maxLength={300} value={subject} onInput={(e) => setSubject(e.currentTarget.value)} data-testid="input-subject" {...aria('subject', 'nc-subject-hint')} />
            <small id="nc-subject-hint" class="muted">
              {w.subjectHint}
            </small>
            {errOf('subject')}
          </div>
          <div class={`nc-field nc-wide${errors.description ? ' is-error' : ''}`}>
            <label for="nc-description">{w.description}</label>
            <textarea id="nc-description" rows={3} value={description} onInput={(e) => setDescription(e.currentTarget.value)} data-testid="input-description" {...aria('description')} />
            {errOf('description')}
          </div>
        </div>

        <fieldset class="card">
          <legend>{w.requiredData}</legend>
          <div class="nc-grid">
            {shown.map((s) => {
              const isMissing = showMissing && missing.includes(s.name);
              const hint = s.name === 'ring_groups' ? `nc-${s.name}-hint` : undefined;
              const common = { id: `nc-${s.name}`, name: s.name, 'data-testid': `input-${s.name}`, ...aria(s.name, hint) };
              const value = v[s.name] ?? '';
              const onChange = (e: Event) => setValue(s.name, (e.currentTarget as HTMLInputElement).value);
              let input;
              if (s.name === 'direct_number')
                input = (
                  <select {...common} value={value} onChange={onChange}>
                    <option value="">{w.choose}</option>
                    <option value="true">{w.yes}</option>
                    <option value="false">{w.no}</option>
                  </select>
                );
              else if (s.choices?.length)
                input = (
                  <select {...common} value={value} onChange={onChange}>
                    <option value="">{w.choose}</option>
                    {s.choices.map((ch) => (
                      <option value={ch} key={ch}>
                        {word(w, 'choice.' + ch)}
                      </option>
                    ))}
                  </select>
                );
              else if (s.name === 'occurred_at') input = <input {...common} type="datetime-local" value={value} onInput={onChange} />;
              else
                input = (
                  <input
                    {...common}
                    type={s.name.endsWith('email') ? 'email' : s.name === 'counterpart_number' ? 'tel' : 'text'}
                    inputMode={s.name === 'extension' ? 'numeric' : undefined}
                    autocomplete="off"
                    value={value}
                    onInput={onChange}
                  />
                );
              return (
                <div
                  class={`nc-field${isMissing ? ' is-missing' : ''}${errors[s.name] ? ' is-error' : ''}`}
                  key={s.name}
                  data-field={s.name}
                  data-testid={isMissing ? 'nc-missing' : 'nc-field'}
                >
                  <label for={`nc-${s.name}`}>
                    {specLabel(s.name)} <span class="nc-req">{s.required === 'always' ? w.required : w.requiredTeams}</span>
                  </label>
                  {input}
                  {hint && (
                    <small id={hint} class="muted">
                      {w.listHint}
                    </small>
                  )}
                  {errOf(s.name)}
                </div>
              );
            })}
          </div>
          {showMissing && (
            <div class={missing.length ? 'nc-callout warn' : 'nc-callout ok'} role="status" data-testid="missing-summary">
              {missing.length ? (
                <>
                  <strong>{w.missingSummary(missing.map(specLabel).join(', '))}</strong> {w.missingChoice}
                </>
              ) : (
                w.allThere
              )}
            </div>
          )}
        </fieldset>

        <fieldset class="card">
          <legend>{w.impact}</legend>
          <p class="muted nc-small">{w.impactLead}</p>
          <div class="nc-grid">
            <div class={`nc-field${errors.affected ? ' is-error' : ''}`}>
              <label for="nc-affected">{w.affected}</label>
              <select id="nc-affected" value={affected} onChange={(e) => setAffected(e.currentTarget.value)} data-testid="input-affected" {...aria('affected')}>
                <option value="">{w.choose}</option>
                {AFFECTED.map((a) => (
                  <option value={a} key={a}>
                    {word(w, 'affected.' + a)}
                  </option>
                ))}
              </select>
              {errOf('affected')}
            </div>
            <div class={`nc-field${errors.disruption ? ' is-error' : ''}`}>
              <label for="nc-disruption">{w.disruption}</label>
              <select id="nc-disruption" value={disruption} onChange={(e) => setDisruption(e.currentTarget.value)} data-testid="input-disruption" {...aria('disruption')}>
                <option value="">{w.choose}</option>
                {DISRUPTION.map((d) => (
                  <option value={d} key={d}>
                    {word(w, 'disruption.' + d)}
                  </option>
                ))}
              </select>
              {errOf('disruption')}
            </div>
            <div class="nc-field">
              <span class="nc-label">{w.suggested}</span>
              <output data-testid="suggested-severity" aria-live="polite">
                {suggestion ? <span class={`badge sev-${suggestion}`}>{label(m, 'sev.' + suggestion)}</span> : <span class="muted nc-small">{w.noSuggestion}</span>}
              </output>
            </div>
            <div class={`nc-field${errors.severity ? ' is-error' : ''}`}>
              <label for="nc-severity">{w.severity}</label>
              <select id="nc-severity" value={severity} onChange={(e) => setSeverity(e.currentTarget.value as '' | Severity)} data-testid="input-severity" {...aria('severity')}>
                <option value="">{suggestion ? w.followSuggestion(suggestion) : w.defaultSeverity}</option>
                {SEVERITIES.map((s) => (
                  <option value={s} key={s}>
                    {label(m, 'sev.' + s)}
                  </option>
                ))}
              </select>
              {errOf('severity')}
            </div>
            {(overridden || errors.reason) && (
              <div class={`nc-field nc-wide${errors.reason ? ' is-error' : ''}`}>
                <label for="nc-reason">
                  {w.overrideReason} <span class="nc-req">{w.required}</span>
                </label>
                <textarea id="nc-reason" rows={2} maxLength={2000} value={reason} onInput={(e) => setReason(e.currentTarget.value)} data-testid="input-reason" {...aria('reason', 'nc-reason-hint')} />
                <small id="nc-reason-hint" class="muted">
                  {w.overrideHint}
                </small>
                {errOf('reason')}
              </div>
            )}
          </div>
        </fieldset>

        {general && (
          <p class="error" role="alert" data-testid="form-error">
            {general}
          </p>
        )}
        {Object.values(errors).some(Boolean) && (
          <p class="error" role="alert" data-testid="form-errors">
            {w.fixErrors}
          </p>
        )}
        <div class="nc-actions">
          <a href="/cases" onClick={linkClick}>
            {w.cancel}
          </a>
          <div class="spacer" />
          {showMissing && missing.length > 0 && (
            <button type="button" disabled={busy} onClick={() => submit(true)} data-testid="create-anyway">
              {w.createAnyway}
            </button>
          )}
          <button type="submit" class="primary" disabled={busy} data-testid="create-case">
            {busy ? w.creating : w.create}
          </button>
        </div>
      </form>
    </section>
  );
}
