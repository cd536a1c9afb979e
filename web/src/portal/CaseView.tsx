import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call, caseUrl, fieldSpecs, type Case, type CaseEvent, type FieldSpec, type List, type User } from './api';
import { label, lang, messages, type Messages } from './i18n';
import { dateTime } from '../format';
import { linkClick } from '../router';
import { useSignal } from '../signal';
import { FieldInput, applies, errorFor, fieldLabel, fieldsOf, invalidText, nextStep, showValue } from './fields';
import { BASE } from './shell';

// The events the portal shows: the conversation, and a short public activity list.
const CONVERSATION = new Set(['created', 'customer_message', 'reply']);
// (The resolution and reopening show as status changes; the resolution's text is above.)
const ACTIVITY = new Set(['created', 'status_changed', 'fields_updated']);

// Messages written by the support team (a case opened by phone is the agent's writing).
const STAFF = new Set(['agent', 'supervisor', 'admin']);

const str = (v: unknown) => (typeof v === 'string' ? v : '');

export function CaseView({ number, user, created }: { number: string; user: User; created: boolean }) {
  const l = useSignal(lang);
  const m = messages(l);
  const [c, setCase] = useState<Case | null>(null);
  const [events, setEvents] = useState<CaseEvent[]>([]);
  const [specs, setSpecs] = useState<FieldSpec[]>([]);
  const [notFound, setNotFound] = useState(false);
  const [error, setError] = useState<{ field?: string; message: string } | null>(null);
  // A function of the messages, so the notice follows the language switch.
  const [notice, setNotice] = useState<((m: Messages) => string) | null>(created ? () => (x: Messages) => x.caseCreated(number) : null);
  const [busy, setBusy] = useState(false);
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [body, setBody] = useState('');
  const [reopening, setReopening] = useState(false);
  const [reason, setReason] = useState('');
  const reasonRef = useRef<HTMLTextAreaElement>(null);

  async function reload() {
    try {
      const [cs, ev] = await Promise.all([
        call<Case>('GET', caseUrl(number)),
        call<List<CaseEvent>>('GET', `${caseUrl(number)}/events?limit=1000`),
      ]);
      setSpecs(await fieldSpecs(cs.type));
      setCase(cs);
      setEvents(ev.items);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 403)) setNotFound(true);
      else setError({ message: e instanceof Error ? e.message : String(e) });
    }
  }

  useEffect(() => {
    setCase(null);
    setNotFound(false);
    reload();
    // The "created" notice is for this visit only: a reload or a shared link shows none.
    if (created) history.replaceState(null, '', location.pathname);
  }, [number]);

  useEffect(() => {
    if (reopening) reasonRef.current?.focus();
  }, [reopening]);

  async function act(f: () => Promise<unknown>, done: (m: Messages) => string, after?: () => void) {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      await f();
      after?.();
      setNotice(() => done);
      await reload();
    } catch (e) {
      if (e instanceof ApiError) setError({ field: e.field, message: e.message });
      else setError({ message: e instanceof Error ? e.message : String(e) });
    } finally {
      setBusy(false);
    }
  }

  if (notFound)
    return (
      <section class="pf-page pf-narrow">
        <a href={BASE} class="pf-back" onClick={linkClick}>
          {m.backToCases}
        </a>
        <div class="pf-card pf-notfound" data-testid="case-not-found">
          <h1>{number}</h1>
          <p role="alert">{m.notFound}</p>
        </div>
      </section>
    );
  if (!c) return <p class="pf-muted">{error ? error.message : m.loading}</p>;

  const path = caseUrl(c.number);
  const step = nextStep(c, specs, m, l);
  const conversation = events.filter((e) => CONVERSATION.has(e.type) && !e.internal && (e.type !== 'created' || c.description));
  const activity = events.filter((e) => ACTIVITY.has(e.type) && !e.internal);
  const lastResolution = [...events].reverse().find((e) => e.type === 'resolved');
  const lastQuestion = c.status === 'pending_customer' ? [...events].reverse().find((e) => e.type === 'reply') : undefined;
  const missingSpecs = specs.filter((s) => c.missing_fields.includes(s.name));
  // What the customer typed into the missing fields, as the API takes it (the Teams email
  // may become required by the extension type typed right here).
  const known = { extension_type: c.fields.extension_type };
  const typed = fieldsOf(draft, missingSpecs, known);
  const fieldNames = [...specs.map((s) => s.name).filter((n) => n in c.fields || c.missing_fields.includes(n))];
  const fieldError = (name: string) => (error && errorFor(error.field, name) ? invalidText(name, error.message, m) : undefined);
  const generalError = error && !specs.some((s) => errorFor(error.field, s.name)) ? error : null;

  return (
    <section class="pf-page" data-testid="case-page" aria-labelledby="case-title">
      <a href={BASE} class="pf-back" onClick={linkClick}>
        {m.backToCases}
      </a>
      <header class="pf-case-head">
        <div>
          <div class="pf-case-meta" data-testid="case-number">
            <span class="pf-num">{c.number}</span> <span aria-hidden="true">·</span> {label(m, 'type.' + c.type)}{' '}
            <span aria-hidden="true">·</span> {m.created} <time dateTime={c.created_at}>{dateTime(c.created_at, l)}</time>
          </div>
          <h1 id="case-title" data-testid="case-title">
            {c.subject}
          </h1>
        </div>
        <span class={`pf-status big st-${c.status}`} data-testid="case-status" data-status={c.status}>
          {label(m, 'status.' + c.status)}
        </span>
      </header>

      {notice && !error && (
        <p class="pf-notice" role="status" data-testid="notice">
          {notice(m)}
        </p>
      )}
      {generalError && (
        <p class="pf-error" role="alert" data-testid="case-error">
          {generalError.message}
        </p>
      )}

      <section class={`pf-step tone-${step.tone}`} aria-labelledby="step-title" data-testid="next-step">
        <h2 id="step-title">{m.nextStep}</h2>
        <p data-testid="next-step-text">{step.long}</p>

        {c.status === 'awaiting_info' && missingSpecs.length > 0 && (
          <form
            class="pf-step-form"
            data-testid="fill-form"
            onSubmit={(e) => {
              e.preventDefault();
              if (Object.keys(typed).length)
                act(() => call('PATCH', path, { fields: typed }), (x) => x.dataSaved, () => setDraft({}));
            }}
          >
            <h3>{m.addInfo}</h3>
            <div class="pf-grid-fields">
              {missingSpecs
                .filter((s) => applies(s, { ...known, ...draft }))
                .map((s) => (
                  <FieldInput
                    key={s.name}
                    spec={s}
                    m={m}
                    l={l}
                    value={draft[s.name] ?? ''}
                    missing={!(s.name in typed)}
                    error={fieldError(s.name)}
                    onChange={(x) => {
                      setDraft({ ...draft, [s.name]: x });
                      if (error && errorFor(error.field, s.name)) setError(null);
                    }}
                  />
                ))}
            </div>
            <div class="pf-actions">
              <button type="submit" class="pf-btn pf-btn-primary" disabled={busy || !Object.keys(typed).length} data-testid="save-fields">
                {m.saveData}
              </button>
            </div>
          </form>
        )}

        {lastQuestion && (
          <blockquote class="pf-quote" data-testid="question">
            {str(lastQuestion.data.body)}
          </blockquote>
        )}

        {c.status === 'resolved' && (
          <div class="pf-confirm">
            {lastResolution && str(lastResolution.data.resolution) && (
              <div class="pf-resolution">
                <h3>{m.resolutionGiven}</h3>
                <p class="pf-prewrap" data-testid="resolution">
                  {str(lastResolution.data.resolution)}
                </p>
              </div>
            )}
            <h3>{m.confirmQuestion}</h3>
            {!reopening ? (
              <div class="pf-actions start">
                <button
                  type="button"
                  class="pf-btn pf-btn-primary"
                  disabled={busy}
                  onClick={() => act(() => call('POST', `${path}/confirm`, {}), (x) => x.confirmed)}
                  data-testid="confirm"
                >
                  ✓ {m.confirmYes}
                </button>
                <button type="button" class="pf-btn" disabled={busy} onClick={() => setReopening(true)} data-testid="not-solved">
                  {m.confirmNo}
                </button>
              </div>
            ) : null}
          </div>
        )}

        {c.status === 'closed' && !reopening && (
          <div class="pf-actions start">
            <button type="button" class="pf-btn" onClick={() => setReopening(true)} data-testid="reopen-closed">
              {m.reopenClosed}
            </button>
          </div>
        )}

        {reopening && (c.status === 'resolved' || c.status === 'closed') && (
          <form
            class="pf-step-form"
            data-testid="reopen-form"
            onSubmit={(e) => {
              e.preventDefault();
              act(
                () => call('POST', `${path}/reopen`, { reason: reason.trim() }),
                (x) => x.reopenedMsg,
                () => {
                  setReason('');
                  setReopening(false);
                },
              );
            }}
          >
            <div class="pf-field">
              <label for="reopen-reason">{c.status === 'resolved' ? m.notSolvedReason : m.reopenReason}</label>
              <textarea
                id="reopen-reason"
                ref={reasonRef}
                rows={3}
                required
                maxLength={2000}
                value={reason}
                onInput={(e) => setReason(e.currentTarget.value)}
                data-testid="reopen-reason"
              />
            </div>
            <div class="pf-actions start">
              <button type="submit" class="pf-btn pf-btn-primary" disabled={busy || !reason.trim()} data-testid="reopen">
                {m.sendNotSolved}
              </button>
              <button type="button" class="pf-btn pf-btn-quiet" onClick={() => setReopening(false)}>
                {m.cancel}
              </button>
            </div>
          </form>
        )}
      </section>

      <div class="pf-case-grid">
        <div class="pf-col">
          <section class="pf-card" aria-labelledby="conv-title">
            <h2 id="conv-title">{m.conversation}</h2>
            <ol class="pf-conversation" data-testid="conversation">
              {conversation.map((e) => {
                const mine = e.actor.role === 'customer' || (e.type === 'created' && !STAFF.has(e.actor.role));
                const who = e.actor.id === user.id ? m.you : e.actor.name || (mine ? m.you : m.support);
                const text = e.type === 'created' ? c.description : str(e.data.body);
                return (
                  <li class={`pf-msg ${mine ? 'from-customer' : 'from-team'}`} data-testid={mine ? 'msg-customer' : 'msg-team'} key={e.seq}>
                    <div class="pf-msg-head">
                      <strong>{who}</strong>
                      {!mine && <span class="pf-tag">{m.support}</span>}
                      <time class="pf-muted" dateTime={e.at}>
                        {dateTime(e.at, l)}
                      </time>
                    </div>
                    <div class="pf-msg-body pf-prewrap" data-testid="msg-body">
                      {text}
                    </div>
                  </li>
                );
              })}
            </ol>
            {c.status !== 'closed' && (
              <form
                class="pf-composer"
                onSubmit={(e) => {
                  e.preventDefault();
                  if (body.trim()) act(() => call('POST', `${path}/replies`, { body }), (x) => x.replySent, () => setBody(''));
                }}
              >
                <label for="reply-body">{m.reply}</label>
                <textarea
                  id="reply-body"
                  rows={4}
                  placeholder={m.replyPlaceholder}
                  value={body}
                  onInput={(e) => setBody(e.currentTarget.value)}
                  data-testid="reply-body"
                />
                <div class="pf-actions">
                  <button type="submit" class="pf-btn pf-btn-primary" disabled={busy || !body.trim()} data-testid="reply-send">
                    {m.sendReply}
                  </button>
                </div>
              </form>
            )}
          </section>
        </div>
        <aside class="pf-col">
          <section class="pf-card" aria-labelledby="data-title">
            <h2 id="data-title">{m.caseData}</h2>
            <dl class="pf-data" data-testid="case-data">
              {fieldNames.map((name) => {
                const isMissing = c.missing_fields.includes(name);
                return (
                  <div class={isMissing ? 'is-missing' : ''} data-field={name} data-testid={isMissing ? 'data-missing' : 'data'} key={name}>
                    <dt>{fieldLabel(specs.find((s) => s.name === name), name, l)}</dt>
                    <dd>{isMissing ? m.missing : showValue(name, c.fields[name], m, l)}</dd>
                  </div>
                );
              })}
            </dl>
          </section>
          <section class="pf-card" aria-labelledby="act-title">
            <h2 id="act-title">{m.activity}</h2>
            <ol class="pf-activity" data-testid="activity">
              {activity.map((e) => (
                <li key={e.seq}>
                  <time class="pf-muted" dateTime={e.at}>
                    {dateTime(e.at, l)}
                  </time>{' '}
                  <span>{activityLine(e, m, specs, l)}</span>
                </li>
              ))}
            </ol>
          </section>
        </aside>
      </div>
    </section>
  );
}

function activityLine(e: CaseEvent, m: Messages, specs: FieldSpec[], l: 'es' | 'en'): string {
  switch (e.type) {
    case 'status_changed':
      return `${m['ev.status_changed']}: ${label(m, 'st.' + str(e.data.to))}`;
    case 'fields_updated':
      return `${m['ev.fields_updated']}: ${Object.keys((e.data.changes as object) ?? {})
        .map((n) => fieldLabel(specs.find((s) => s.name === n), n, l))
        .join(', ')}`;
    default:
      return label(m, 'ev.' + e.type);
  }
}
