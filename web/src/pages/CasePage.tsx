import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, type Case, type CaseEvent, type FieldSpec, type List, type User } from '../api';
import { lang, label, messages, type Messages } from '../i18n';
import { clockView, dateTime } from '../format';
import { linkClick } from '../router';
import { useSignal } from '../signal';

// Events shown as messages in the conversation; the others go to the history list.
const MESSAGE_TYPES = new Set(['customer_message', 'reply', 'note']);

function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? '✓' : '✗';
  if (Array.isArray(v)) return v.map(text).join(', ');
  return JSON.stringify(v);
}

function historyLine(e: CaseEvent, m: Messages): string {
  const d = e.data;
  switch (e.type) {
    case 'status_changed':
      return `${label(m, 'status.' + text(d.from))} → ${label(m, 'status.' + text(d.to))}`;
    case 'escalated':
      return `${m.levelN(Number(d.from))} → ${m.levelN(Number(d.to))}${d.reason ? ': ' + text(d.reason) : ''}`;
    case 'severity_changed':
      return `${text(d.old)} → ${text(d.new)}${d.reason ? ': ' + text(d.reason) : ''}`;
    case 'fields_updated':
      return Object.keys((d.changes as object) ?? {}).join(', ');
    case 'resolved':
      return text(d.resolution);
    case 'reopened':
      return text(d.reason);
    case 'assigned':
      return text(d.name);
    case 'created':
      return `${label(m, 'type.' + text(d.type))} · ${text(d.channel)}`;
    default:
      return '';
  }
}

export function CasePage({ number, user }: { number: string; user: User }) {
  const l = useSignal(lang);
  const m = messages(l);
  const [c, setCase] = useState<Case | null>(null);
  const [events, setEvents] = useState<CaseEvent[]>([]);
  const [specs, setSpecs] = useState<FieldSpec[]>([]);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [missing, setMissing] = useState(false);
  const [body, setBody] = useState('');
  const [internal, setInternal] = useState(false);
  const [pending, setPending] = useState(false);
  const [reason, setReason] = useState('');
  const [resolution, setResolution] = useState('');
  const [busy, setBusy] = useState(false);
  const [draft, setDraft] = useState<Record<string, string>>({});

  async function reload() {
    try {
      const [cs, ev] = await Promise.all([
        call<Case>('GET', `/cases/${encodeURIComponent(number)}`),
        call<List<CaseEvent>>('GET', `/cases/${encodeURIComponent(number)}/events?limit=1000`),
      ]);
      setCase(cs);
      setEvents(ev.items);
      setMissing(false);
      if (!specs.length || specs !== specCache[cs.type]) {
        const list = specCache[cs.type] ?? (await call<{ fields: FieldSpec[] }>('GET', `/fields/${cs.type}`)).fields;
        specCache[cs.type] = list;
        setSpecs(list);
      }
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 403)) setMissing(true);
      else setError(e instanceof Error ? e.message : String(e));
    }
  }

  useEffect(() => {
    setCase(null);
    reload();
  }, [number]);

  async function act(f: () => Promise<unknown>, after?: () => void) {
    setBusy(true);
    setError('');
    setNotice('');
    try {
      await f();
      after?.();
      setNotice(m.saved);
      await reload();
    } catch (e) {
      setError(e instanceof ApiError ? (e.field ? `${e.field}: ${e.message}` : e.message) : String(e));
    } finally {
      setBusy(false);
    }
  }

  if (missing)
    return (
      <section class="case">
        <a href="/cases" onClick={linkClick}>
          {m.backToQueue}
        </a>
        <p class="error" role="alert" data-testid="case-missing">
          {m.notFound}
        </p>
      </section>
    );
  if (!c) return <p class="muted">{error || m.loading}</p>;

  const path = `/cases/${encodeURIComponent(c.number)}`;
  const staff = user.role !== 'customer';
  const canEscalate = staff && c.level < 3 && c.status !== 'resolved' && c.status !== 'closed';
  const canFill = staff && c.status !== 'resolved' && c.status !== 'closed';
  const canResolve = staff && (c.status === 'open' || c.status === 'pending_customer');
  const conversation = events.filter((e) => MESSAGE_TYPES.has(e.type) || (e.type === 'created' && c.description));
  const history = events.filter((e) => !MESSAGE_TYPES.has(e.type));
  const fieldLabel = (name: string) => {
    const s = specs.find((x) => x.name === name);
    return s ? (l === 'en' ? s.label_en : s.label_es) : name;
  };
  const fieldNames = specs.length ? specs.map((s) => s.name) : [...Object.keys(c.fields), ...c.missing_fields];
  const shown = fieldNames.filter((n) => n in c.fields || c.missing_fields.includes(n));
  const resp = clockView(c, 'response', m);
  const resol = clockView(c, 'resolution', m);

  return (
    <section class="case" data-testid="case-page">
      <a href="/cases" onClick={linkClick} class="back">
        {m.backToQueue}
      </a>
      <header class="case-head">
        <div>
          <div class="muted num" data-testid="case-number">
            {c.number} · {label(m, 'type.' + c.type)}
          </div>
          <h1 data-testid="case-title">{c.subject}</h1>
        </div>
        <div class="badges">
          <span class={`badge st-${c.status}`} data-testid="case-status">
            {label(m, 'status.' + c.status)}
          </span>
          <span class={`badge sev-${c.severity}`}>{label(m, 'sev.' + c.severity)}</span>
          <span class="badge" data-testid="case-level">
            {m.levelN(c.level)}
          </span>
        </div>
      </header>
      {error && (
        <p class="error" role="alert" data-testid="case-error">
          {error}
        </p>
      )}
      {notice && !error && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <div class="case-grid">
        <div class="main-col">
          <section class="card">
            <h2>{m.conversation}</h2>
            <ol class="conversation" data-testid="conversation">
              {conversation.map((e) => {
                const kind = e.type === 'note' || e.internal && e.type !== 'created' ? 'internal' : e.type === 'reply' ? 'agent' : 'customer';
                const msg = e.type === 'created' ? c.description : text(e.data.body);
                return (
                  <li class={`msg msg-${kind}`} data-testid={`msg-${kind}`} key={e.seq}>
                    <div class="msg-head">
                      <strong>{e.actor.name || (e.actor.role === 'system' ? m.system : m.customer)}</strong>
                      {kind === 'internal' && <span class="tag">{m.internalNote}</span>}
                      <span class="muted">{dateTime(e.at, l)}</span>
                    </div>
                    <div class="msg-body">{msg}</div>
                  </li>
                );
              })}
            </ol>
            {staff && c.status !== 'closed' && (
              <form
                class="composer"
                onSubmit={(e) => {
                  e.preventDefault();
                  if (!body.trim()) return;
                  act(
                    () =>
                      call('POST', `${path}/replies`, internal ? { body, internal: true } : { body, pending }),
                    () => setBody(''),
                  );
                }}
              >
                <div class="tabs" role="tablist">
                  <button type="button" role="tab" aria-selected={!internal} class={!internal ? 'on' : ''} onClick={() => setInternal(false)} data-testid="tab-reply">
                    {m.reply}
                  </button>
                  <button type="button" role="tab" aria-selected={internal} class={internal ? 'on note' : ''} onClick={() => setInternal(true)} data-testid="tab-note">
                    {m.internalNote}
                  </button>
                </div>
                <textarea
                  name="body"
                  rows={4}
                  class={internal ? 'note' : ''}
                  placeholder={internal ? m.notePlaceholder : m.replyPlaceholder}
                  value={body}
                  onInput={(e) => setBody(e.currentTarget.value)}
                  data-testid="composer-body"
                />
                <div class="row">
                  {!internal && (
                    <label class="check">
                      <input type="checkbox" checked={pending} onChange={(e) => setPending(e.currentTarget.checked)} />
                      {m.asksCustomer}
                    </label>
                  )}
                  <div class="spacer" />
                  <button type="submit" class="primary" disabled={busy || !body.trim()} data-testid="composer-send">
                    {internal ? m.addNote : m.send}
                  </button>
                </div>
              </form>
            )}
          </section>
          <section class="card">
            <h2>{m.history}</h2>
            <ol class="history" data-testid="history">
              {history.map((e) => (
                <li key={e.seq} class={e.internal ? 'internal' : ''}>
                  <span class="muted">{dateTime(e.at, l)}</span> <strong>{label(m, 'ev.' + e.type)}</strong>{' '}
                  <span>{historyLine(e, m)}</span> <span class="muted">— {e.actor.name}</span>
                </li>
              ))}
            </ol>
          </section>
        </div>
        <aside class="side-col">
          <section class="card">
            <h2>
              {m.requiredData}{' '}
              <span class={c.missing_fields.length ? 'pill warn' : 'pill ok'} data-testid="missing-count">
                {c.missing_fields.length ? m.missingCount(c.missing_fields.length) : m.complete}
              </span>
            </h2>
            <form
              onSubmit={(e) => {
                e.preventDefault();
                const fields: Record<string, unknown> = {};
                for (const [name, v] of Object.entries(draft)) {
                  if (v === '' && name !== 'ring_groups') continue;
                  fields[name] = fieldValue(name, v);
                }
                if (Object.keys(fields).length) act(() => call('PATCH', path, { fields }), () => setDraft({}));
              }}
            >
              <dl class="fields">
                {shown.map((name) => {
                  const isMissing = c.missing_fields.includes(name);
                  const spec = specs.find((x) => x.name === name);
                  return (
                    <div class={isMissing ? 'field missing' : 'field'} data-testid={isMissing ? 'field-missing' : 'field'} data-field={name}>
                      <dt>
                        <label for={`f-${name}`}>{fieldLabel(name)}</label>
                      </dt>
                      <dd>
                        {isMissing && canFill ? (
                          <FieldInput name={name} spec={spec} m={m} value={draft[name] ?? ''} onChange={(v) => setDraft({ ...draft, [name]: v })} />
                        ) : isMissing ? (
                          m.missing
                        ) : name === 'occurred_at' ? (
                          dateTime(text(c.fields[name]), l)
                        ) : (
                          text(c.fields[name]) || '—'
                        )}
                      </dd>
                    </div>
                  );
                })}
              </dl>
              {canFill && c.missing_fields.length > 0 && (
                <div class="row end">
                  <button type="submit" class="primary" disabled={busy || !Object.values(draft).some((v) => v !== '')} data-testid="save-fields">
                    {m.saveData}
                  </button>
                </div>
              )}
            </form>
          </section>
          <section class="card">
            <h2>{m.sla}</h2>
            <dl class="fields">
              <div class="field">
                <dt>{m.response}</dt>
                <dd>
                  <span class={`sla sla-${resp.tone}`}>{resp.text}</span>
                </dd>
              </div>
              <div class="field">
                <dt>{m.resolution}</dt>
                <dd>
                  <span class={`sla sla-${resol.tone}`}>{resol.text}</span>
                </dd>
              </div>
            </dl>
            <dl class="fields">
              <div class="field">
                <dt>{m.account}</dt>
                <dd>{c.account ?? '—'}</dd>
              </div>
              <div class="field">
                <dt>{m.channel}</dt>
                <dd>{c.channel}</dd>
              </div>
              <div class="field">
                <dt>{m.created}</dt>
                <dd>{dateTime(c.created_at, l)}</dd>
              </div>
            </dl>
          </section>
          {staff && (canEscalate || canResolve) && (
            <section class="card">
              <h2>{m.actions}</h2>
              {canEscalate && (
                <form
                  class="action"
                  onSubmit={(e) => {
                    e.preventDefault();
                    act(() => call('POST', `${path}/escalate`, { reason: reason.trim() }), () => setReason(''));
                  }}
                >
                  <label>
                    {m.escalateReason}
                    <input name="reason" required value={reason} onInput={(e) => setReason(e.currentTarget.value)} data-testid="escalate-reason" />
                  </label>
                  <button type="submit" disabled={busy || !reason.trim()} data-testid="escalate">
                    {m.escalateTo(c.level + 1)}
                  </button>
                </form>
              )}
              {canResolve && (
                <form
                  class="action"
                  onSubmit={(e) => {
                    e.preventDefault();
                    act(() => call('POST', `${path}/resolve`, { resolution: resolution.trim() }), () => setResolution(''));
                  }}
                >
                  <label>
                    {m.resolution_}
                    <textarea name="resolution" rows={2} required value={resolution} onInput={(e) => setResolution(e.currentTarget.value)} data-testid="resolve-text" />
                  </label>
                  <button type="submit" class="primary" disabled={busy || !resolution.trim()} data-testid="resolve">
                    {m.resolve}
                  </button>
                </form>
              )}
            </section>
          )}
        </aside>
      </div>
    </section>
  );
}

const specCache: Record<string, FieldSpec[]> = {};

// The API's value for a field typed into the form (the server validates and normalises).
function fieldValue(name: string, v: string): unknown {
  if (name === 'direct_number') return v === 'true';
  if (name === 'ring_groups') return v.split(',').map((x) => x.trim()).filter(Boolean);
  if (name === 'occurred_at') {
    const d = new Date(v); // datetime-local: the viewer's zone
    return isNaN(d.getTime()) ? v : d.toISOString();
  }
  return v.trim();
}

function FieldInput(props: { name: string; spec?: FieldSpec; m: Messages; value: string; onChange: (v: string) => void }) {
  const { name, spec, m, value, onChange } = props;
  const common = { id: `f-${name}`, name, 'data-testid': `input-${name}` };
  if (name === 'direct_number')
    return (
      <select {...common} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="" />
        <option value="true">{m.yes}</option>
        <option value="false">{m.no}</option>
      </select>
    );
  if (spec?.choices?.length)
    return (
      <select {...common} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="" />
        {spec.choices.map((ch) => (
          <option value={ch}>{ch}</option>
        ))}
      </select>
    );
  if (name === 'occurred_at')
    return <input {...common} type="datetime-local" value={value} onInput={(e) => onChange(e.currentTarget.value)} />;
  return (
    <input
      {...common}
      type={name.endsWith('email') ? 'email' : 'text'}
      placeholder={name === 'ring_groups' ? m.listHint : ''}
      value={value}
      onInput={(e) => onChange(e.currentTarget.value)}
    />
  );
}
