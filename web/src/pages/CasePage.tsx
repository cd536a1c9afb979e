import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call, query, type Account, type CannedReply, type Case, type CaseEvent, type Contact, type FieldSpec, type List, type User } from '../api';
import { lang, label, messages, type Messages } from '../i18n';
import { clockView, dateTime } from '../format';
import { linkClick } from '../router';
import { useSignal } from '../signal';
import { onCaseChange } from '../stream';
import { AFFECTED, DISRUPTION, SEVERITIES, caseWords, fillPlaceholders, word, type CaseWords } from './caseWords';
import './case.css';

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
  const [account, setAccount] = useState<Account | null>(null);
  const [contact, setContact] = useState<Contact | null>(null);
  const [others, setOthers] = useState<{ items: Case[]; total: number } | null>(null);
  const [matrix, setMatrix] = useState<Matrix | null>(matrixCache);
  const [canned, setCanned] = useState<CannedReply[] | null>(null);
  const staffUser = user.role !== 'customer';
  // Live refresh: events that arrived through the push channel (highlighted for a moment)
  // and the polite announcement of them.
  const [fresh, setFresh] = useState<Set<number>>(new Set());
  const [liveNote, setLiveNote] = useState('');
  const loadSeq = useRef(0);
  const known = useRef<{ number: string; seq: number }>({ number: '', seq: -1 });
  const ownActions = useRef(0);
  const wordsNow = useRef<CaseWords>(caseWords(l));
  wordsNow.current = caseWords(l);

  // The desk's impact matrix (D3) and the saved replies, once per page.
  useEffect(() => {
    if (!matrixCache)
      call<{ severity_matrix?: Matrix }>('GET', '/config')
        .then((cfg) => {
          matrixCache = cfg.severity_matrix ?? null;
          setMatrix(matrixCache);
        })
        .catch(() => {});
    if (staffUser)
      call<List<CannedReply>>('GET', '/canned-replies')
        .then((r) => setCanned(r.items))
        .catch(() => setCanned([]));
  }, []);

  // The customer's account: its contract, zone and its other open cases.
  const accountCode = c?.account ?? null;
  const contactId = c?.contact ?? null;
  useEffect(() => {
    setAccount(null);
    setOthers(null);
    setContact(null);
    if (!accountCode) return;
    let live = true;
    const code = encodeURIComponent(accountCode);
    call<Account>('GET', `/accounts/${code}`)
      .then((a) => live && setAccount(a))
      .catch(() => {});
    call<List<Case>>('GET', '/cases' + query({ account: accountCode, active: 'true', limit: 11 }))
      .then((r) => live && setOthers(r))
      .catch(() => {});
    if (contactId && staffUser)
      call<List<Contact>>('GET', `/accounts/${code}/contacts`)
        .then((r) => live && setContact(r.items.find((x) => x.id === contactId) ?? null))
        .catch(() => {});
    return () => {
      live = false;
    };
  }, [accountCode, contactId, number]);

  // The case and its events. Only the latest of overlapping loads is shown (a live refresh
  // can cross the reload after an action). `live`: a change pushed by the desk, so new events
  // are highlighted and announced; what is being typed lives in other state and stays.
  async function reload(live = false) {
    const mine = ++loadSeq.current;
    try {
      const [cs, ev] = await Promise.all([
        call<Case>('GET', `/cases/${encodeURIComponent(number)}`),
        call<List<CaseEvent>>('GET', `/cases/${encodeURIComponent(number)}/events?limit=1000`),
      ]);
      if (mine !== loadSeq.current) return;
      const before = known.current.number === number ? known.current.seq : -1;
      const last = ev.items.reduce((x, e) => Math.max(x, e.seq), -1);
      known.current = { number, seq: Math.max(before, last) };
      setCase(cs);
      setEvents(ev.items);
      setMissing(false);
      if (live && before >= 0) {
        // Not the agent's own action in this page (its answer reloads and says "Saved").
        const added = ev.items.filter((e) => e.seq > before && !(ownActions.current > 0 && e.actor.id === user.id));
        if (added.length) {
          const seqs = new Set(added.map((e) => e.seq));
          setFresh(seqs);
          setLiveNote(wordsNow.current.liveUpdated(added.length));
          window.setTimeout(() => setFresh((f) => (f === seqs ? new Set() : f)), 2500);
        }
      }
      if (!specs.length || specs !== specCache[cs.type]) {
        const list = specCache[cs.type] ?? (await call<{ fields: FieldSpec[] }>('GET', `/fields/${cs.type}`)).fields;
        specCache[cs.type] = list;
        setSpecs(list);
      }
    } catch (e) {
      if (mine !== loadSeq.current) return;
      if (e instanceof ApiError && (e.status === 404 || e.status === 403)) setMissing(true);
      // A live refresh that fails keeps what is shown; the next change or reconnection retries.
      else if (!live) setError(e instanceof Error ? e.message : String(e));
    }
  }
  const reloadNow = useRef(reload);
  reloadNow.current = reload;

  // Another case (the page stays mounted from one case to the next): what was typed for the
  // previous one must not be sent to this one.
  useEffect(() => {
    setCase(null);
    setFresh(new Set());
    setLiveNote('');
    setBody('');
    setInternal(false);
    setPending(false);
    setReason('');
    setResolution('');
    setDraft({});
    setError('');
    setNotice('');
    reload();
  }, [number]);

  // Live: a committed change of this case (or `null`: reconnected, changes may have been
  // missed) refetches it, debounced; changes of other cases are ignored.
  useEffect(() => {
    let timer: number | undefined;
    const off = onCaseChange((change) => {
      if (change && change.case !== number) return;
      clearTimeout(timer);
      timer = window.setTimeout(() => reloadNow.current(true), 80);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, [number]);

  // The announcement goes once said; the highlight has gone by then too.
  useEffect(() => {
    if (!liveNote) return;
    const t = window.setTimeout(() => setLiveNote(''), 8000);
    return () => clearTimeout(t);
  }, [liveNote]);

  async function act(f: () => Promise<unknown>, after?: () => void) {
    setBusy(true);
    setError('');
    setNotice('');
    ownActions.current++;
    try {
      await f();
      after?.();
      setNotice(m.saved);
      await reload();
    } catch (e) {
      setError(e instanceof ApiError ? (e.field ? `${e.field}: ${e.message}` : e.message) : String(e));
    } finally {
      setBusy(false);
      // The push of this change may come a little after the answer.
      window.setTimeout(() => ownActions.current--, 1000);
    }
  }

  // The severity panel's change: the desk's answer, or its refusal as an ApiError.
  async function changeSeverity(severity: string, why: string): Promise<Case> {
    setBusy(true);
    setNotice('');
    ownActions.current++;
    try {
      const body: Record<string, string> = { severity };
      if (why) body.reason = why;
      const updated = await call<Case>('PATCH', `/cases/${encodeURIComponent(number)}`, body);
      await reload();
      return updated;
    } finally {
      setBusy(false);
      window.setTimeout(() => ownActions.current--, 1000);
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
  const w = caseWords(l);
  const customerName = c.requester?.name || contact?.name || account?.name || c.account || '';
  const customerLang: 'es' | 'en' =
    c.requester?.language === 'en' || c.requester?.language === 'es'
      ? c.requester.language
      : contact?.language === 'en' || contact?.language === 'es'
        ? contact.language
        : account?.language ?? 'es';
  const placeholders = {
    case: c.number,
    customer: customerName,
    agent: user.name,
    subject: c.subject,
    account: account?.name ?? c.account ?? '',
  };

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
      <p class="live-note" aria-live="polite" data-testid="case-live">
        {liveNote}
      </p>
      <div class="case-grid">
        <div class="main-col">
          <section class="card">
            <h2>{m.conversation}</h2>
            <ol class="conversation" data-testid="conversation">
              {conversation.map((e) => {
                const kind = e.type === 'note' || e.internal && e.type !== 'created' ? 'internal' : e.type === 'reply' ? 'agent' : 'customer';
                const msg = e.type === 'created' ? c.description : text(e.data.body);
                return (
                  <li class={`msg msg-${kind}${fresh.has(e.seq) ? ' fresh' : ''}`} data-testid={`msg-${kind}`} data-seq={e.seq} key={e.seq}>
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
                {canned !== null && (
                  <CannedPicker
                    replies={canned}
                    w={w}
                    initialLang={customerLang}
                    onPick={(text) => {
                      const filled = fillPlaceholders(text, placeholders);
                      setBody(body.trim() ? `${body.replace(/\s+$/, '')}\n\n${filled}` : filled);
                    }}
                  />
                )}
                <textarea
                  name="body"
                  aria-label={internal ? m.internalNote : m.reply}
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
                <li key={e.seq} class={(e.internal ? 'internal' : '') + (fresh.has(e.seq) ? ' fresh' : '')} data-seq={e.seq} data-type={e.type}>
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
          <AccountPanel c={c} account={account} contact={contact} others={others} w={w} m={m} l={l} />
          <SeverityPanel c={c} matrix={matrix} w={w} m={m} canChange={staff && c.status !== 'closed'} busy={busy} onChange={changeSeverity} />
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
                <dt>{m.channel}</dt>
                <dd>{label(m, 'channel.' + c.channel)}</dd>
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

// disruption → affected → severity, as GET /api/v1/config has it.
type Matrix = Record<string, Record<string, string>>;
let matrixCache: Matrix | null = null;

function localTime(zone: string, l: string): string {
  try {
    return new Intl.DateTimeFormat(l === 'en' ? 'en-US' : 'es-MX', { timeZone: zone, weekday: 'short', hour: '2-digit', minute: '2-digit' }).format(new Date());
  } catch {
    return '';
  }
}

function money(cents: number, currency: string, l: string): string {
  try {
    return new Intl.NumberFormat(l === 'en' ? 'en-US' : 'es-MX', { style: 'currency', currency }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`;
  }
}

// The customer and their account: contract, zone, language, the account's other open cases.
function AccountPanel(props: { c: Case; account: Account | null; contact: Contact | null; others: { items: Case[]; total: number } | null; w: CaseWords; m: Messages; l: string }) {
  const { c, account, contact, others, w, m, l } = props;
  const rest = others ? others.items.filter((x) => x.number !== c.number).slice(0, 10) : [];
  const restTotal = others ? others.total - (others.items.some((x) => x.number === c.number) ? 1 : 0) : 0;
  const who = c.requester?.name || c.requester?.email;
  return (
    <section class="card" data-testid="account-panel" aria-labelledby="acct-title">
      <h2 id="acct-title">{w.customerData}</h2>
      <dl class="fields">
        {who && (
          <div class="field">
            <dt>{w.requester}</dt>
            <dd>
              {c.requester?.name}
              {c.requester?.name && c.requester?.email ? ' · ' : ''}
              {c.requester?.email}
            </dd>
          </div>
        )}
        {contact && (
          <div class="field" data-testid="account-contact">
            <dt>{w.contact}</dt>
            <dd>{[contact.name, contact.phone, contact.email].filter(Boolean).join(' · ')}</dd>
          </div>
        )}
        <div class="field">
          <dt>{m.account}</dt>
          <dd data-testid="account-name">{c.account ? (account ? `${account.name} (${account.code})` : c.account) : w.noAccountOnCase}</dd>
        </div>
        {account && (
          <>
            <div class="field">
              <dt>{w.contract}</dt>
              <dd data-testid="account-contract">
                {account.contract ? account.contract.name || '—' : w.noContract}
                {account.contract && account.contract.activation_charge.amount_cents > 0 && (
                  <div class="muted">
                    {w.activationCharge}: {money(account.contract.activation_charge.amount_cents, account.contract.activation_charge.currency, l)}
                  </div>
                )}
              </dd>
            </div>
            <div class="field">
              <dt>{w.timezone}</dt>
              <dd data-testid="account-timezone">
                {account.timezone}
                <div class="muted">{w.localTime(localTime(account.timezone, l))}</div>
              </dd>
            </div>
            <div class="field">
              <dt>{w.language}</dt>
              <dd>{word(w, 'lang.' + account.language)}</dd>
            </div>
          </>
        )}
      </dl>
      {c.account && others && (
        <>
          <h3 class="panel-sub">{w.otherOpen}</h3>
          {rest.length ? (
            <ul class="acct-open" data-testid="account-open-cases">
              {rest.map((x) => (
                <li key={x.number}>
                  <a href={`/cases/${encodeURIComponent(x.number)}`} onClick={linkClick}>
                    {x.number}
                  </a>
                  <span class={`badge st-${x.status}`}>{label(m, 'status.' + x.status)}</span>
                  <span class={`badge sev-${x.severity}`}>{x.severity}</span>
                  <span class="subj">{x.subject}</span>
                </li>
              ))}
              {restTotal > rest.length && <li class="muted">{w.moreOpen(restTotal - rest.length)}</li>}
            </ul>
          ) : (
            <p class="muted" data-testid="account-no-open">
              {w.noOtherOpen}
            </p>
          )}
          <a href={`/cases?account=${encodeURIComponent(c.account)}`} onClick={linkClick}>
            {w.allOfAccount}
          </a>
        </>
      )}
    </section>
  );
}

// The severity, the impact answers in the matrix (D3) and, when it differs from the
// suggestion, who changed it and why; staff change it here (PATCH with a reason, which the
// desk requires unless the new severity is the matrix's suggestion).
function SeverityPanel(props: {
  c: Case;
  matrix: Matrix | null;
  w: CaseWords;
  m: Messages;
  canChange: boolean;
  busy: boolean;
  onChange: (severity: string, reason: string) => Promise<Case>;
}) {
  const { c, matrix, w, m, canChange, busy, onChange } = props;
  const overridden = !!c.suggested_severity && c.suggested_severity !== c.severity;
  // null: the case's severity (it follows a change made elsewhere until one is picked here).
  const [chosen, setChosen] = useState<string | null>(null);
  const [why, setWhy] = useState('');
  const [error, setError] = useState('');
  const [saved, setSaved] = useState<string | null>(null);
  const reasonBox = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    setChosen(null);
    setWhy('');
    setError('');
    setSaved(null);
  }, [c.number]);
  const target = chosen ?? c.severity;
  const differs = target !== c.severity;
  const needsReason = differs && target !== c.suggested_severity;

  async function submit(e: Event) {
    e.preventDefault();
    if (!differs || busy) return;
    setSaved(null);
    if (needsReason && !why.trim()) {
      setError(w.severityReasonRequired);
      reasonBox.current?.focus();
      return;
    }
    setError('');
    try {
      const updated = await onChange(target, why.trim());
      setChosen(null);
      setWhy('');
      setSaved(updated.severity);
    } catch (err) {
      setError(w.severityRefused(err instanceof ApiError && err.field ? `${err.field}: ${err.message}` : err instanceof Error ? err.message : String(err)));
    }
  }

  return (
    <section class="card" data-testid="severity-panel" aria-labelledby="sev-title">
      <h2 id="sev-title">
        {w.severityTitle}{' '}
        <span class={`badge sev-${c.severity}`} data-testid="case-severity">
          {label(m, 'sev.' + c.severity)}
        </span>
      </h2>
      {c.impact ? (
        <p class="muted nc-small">
          {word(w, 'affected.' + c.impact.affected)} · {word(w, 'disruption.' + c.impact.disruption)}
        </p>
      ) : (
        <p class="muted nc-small">{w.noImpact}</p>
      )}
      {c.suggested_severity && <p class="nc-small" data-testid="severity-suggested">{w.suggestedIs(c.suggested_severity)}</p>}
      {overridden && (
        <div class="override" data-testid="severity-override">
          <strong>{w.overridden(c.suggested_severity!, c.severity)}</strong>
          {c.severity_reason && (
            <div>
              {w.reasonLabel}: {c.severity_reason}
            </div>
          )}
        </div>
      )}
      {matrix && (
        <table class="matrix" data-testid="severity-matrix">
          <caption>{w.matrixCaption}</caption>
          <thead>
            <tr>
              <td />
              {AFFECTED.map((a) => (
                <th scope="col" key={a}>
                  {word(w, 'affected.' + a)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {DISRUPTION.map((d) => (
              <tr key={d}>
                <th scope="row">{word(w, 'disruption.' + d)}</th>
                {AFFECTED.map((a) => {
                  const hit = c.impact?.affected === a && c.impact?.disruption === d;
                  return (
                    <td key={a} class={hit ? 'hit' : ''} aria-current={hit ? 'true' : undefined} data-testid={hit ? 'matrix-hit' : undefined}>
                      {matrix[d]?.[a] ?? '—'}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canChange && (
        <form class="sev-change" onSubmit={submit} noValidate data-testid="severity-form" aria-labelledby="sev-change-title">
          <h3 class="panel-sub" id="sev-change-title">
            {w.changeSeverity}
          </h3>
          <label for="sev-new">{w.newSeverity}</label>
          <select
            id="sev-new"
            value={target}
            data-testid="severity-select"
            onChange={(e) => {
              setChosen(e.currentTarget.value);
              setError('');
              setSaved(null);
            }}
          >
            {SEVERITIES.map((s) => (
              <option value={s} key={s}>
                {label(m, 'sev.' + s)}
                {s === c.suggested_severity ? ` · ${w.suggestedTag}` : ''}
                {s === c.severity ? ` · ${w.currentTag}` : ''}
              </option>
            ))}
          </select>
          <label for="sev-reason">
            {w.overrideReason}
            {needsReason && <span class="nc-req"> ({w.required})</span>}
          </label>
          <textarea
            id="sev-reason"
            ref={reasonBox}
            rows={2}
            value={why}
            aria-required={needsReason}
            aria-invalid={error && needsReason && !why.trim() ? 'true' : undefined}
            aria-describedby={error ? 'sev-hint sev-error' : 'sev-hint'}
            onInput={(e) => setWhy(e.currentTarget.value)}
            data-testid="severity-reason"
          />
          <small id="sev-hint" class="muted">
            {differs && !needsReason ? w.reasonOptional : w.overrideHint}
          </small>
          {error && (
            <p class="error" role="alert" id="sev-error" data-testid="severity-error">
              {error}
            </p>
          )}
          <div class="row end">
            <button type="submit" disabled={busy || !differs} data-testid="severity-save">
              {differs ? w.changeSeverityTo(target) : w.changeSeverity}
            </button>
          </div>
          {saved && saved === c.severity && (
            <p class="notice" role="status" data-testid="severity-saved">
              {w.severitySaved(label(m, 'sev.' + c.severity), clockView(c, 'response', m).text, clockView(c, 'resolution', m).text)}
            </p>
          )}
        </form>
      )}
    </section>
  );
}

// A saved reply into the reply box, in the customer's language by default.
function CannedPicker(props: { replies: CannedReply[]; w: CaseWords; initialLang: 'es' | 'en'; onPick: (text: string) => void }) {
  const { replies, w, initialLang, onPick } = props;
  const [lang_, setLang_] = useState<'es' | 'en'>(initialLang);
  useEffect(() => setLang_(initialLang), [initialLang]);
  if (!replies.length) return <p class="muted nc-small">{w.cannedNone}</p>;
  return (
    <div class="canned">
      <select
        aria-label={w.canned}
        value=""
        data-testid="canned-pick"
        onChange={(e) => {
          const r = replies.find((x) => x.id === e.currentTarget.value);
          e.currentTarget.value = '';
          if (!r) return;
          const text = (lang_ === 'en' ? r.body_en : r.body_es) || r.body_es || r.body_en;
          onPick(text);
        }}
      >
        <option value="">{w.cannedPick}</option>
        {replies.map((r) => (
          <option value={r.id} key={r.id}>
            {r.title}
          </option>
        ))}
      </select>
      <div class="lang" role="group" aria-label={w.cannedLang}>
        {(['es', 'en'] as const).map((code) => (
          <button type="button" key={code} class={code === lang_ ? 'on' : ''} aria-pressed={code === lang_} onClick={() => setLang_(code)} data-testid={`canned-lang-${code}`}>
            {code.toUpperCase()}
          </button>
        ))}
      </div>
    </div>
  );
}

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
