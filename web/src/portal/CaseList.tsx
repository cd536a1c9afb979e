import { useEffect, useState } from 'preact/hooks';
import { call, fieldSpecs, type Case, type CaseType, type FieldSpec, type List, type User } from './api';
import { label, lang, messages } from './i18n';
import { dateTime } from '../format';
import { linkClick } from '../router';
import { useSignal } from '../signal';
import { nextStep } from './fields';
import { BASE } from './shell';

// Cases that wait on the customer come first: they are what the customer came for.
const WAITS_ON_YOU = new Set(['awaiting_info', 'pending_customer', 'resolved']);

export function CaseList({ user }: { user: User }) {
  const l = useSignal(lang);
  const m = messages(l);
  const [cases, setCases] = useState<Case[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [specs, setSpecs] = useState<Record<string, FieldSpec[]>>({});
  const [tab, setTab] = useState<'active' | 'closed'>('active');
  const [error, setError] = useState('');

  async function load(cursor?: string) {
    try {
      const q = new URLSearchParams({ limit: '100' });
      if (cursor) q.set('cursor', cursor);
      const page = await call<List<Case>>('GET', `/cases?${q}`);
      setCases((prev) => (cursor && prev ? [...prev, ...page.items] : page.items));
      setNext(page.next);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }

  useEffect(() => {
    load();
    // Field names for "we need: …" lines.
    (['incident', 'activation'] as CaseType[]).forEach((t) =>
      fieldSpecs(t)
        .then((f) => setSpecs((s) => ({ ...s, [t]: f })))
        .catch(() => {}),
    );
  }, []);

  if (error) return <p class="pf-error" role="alert">{error}</p>;
  if (!cases) return <p class="pf-muted">{m.loading}</p>;

  const active = cases
    .filter((c) => c.status !== 'closed')
    .sort((a, b) => Number(WAITS_ON_YOU.has(b.status)) - Number(WAITS_ON_YOU.has(a.status)) || b.updated_at.localeCompare(a.updated_at));
  const closed = cases.filter((c) => c.status === 'closed');
  const shown = tab === 'active' ? active : closed;

  return (
    <section class="pf-page" aria-labelledby="list-title">
      <div class="pf-page-head">
        <div>
          <h1 id="list-title">{m.myCases}</h1>
          <p class="pf-muted">{user.account}</p>
        </div>
        <a href={`${BASE}/new`} class="pf-btn pf-btn-primary" onClick={linkClick} data-testid="new-case">
          + {m.newCase}
        </a>
      </div>
      <div class="pf-tabs" role="group" aria-label={m.myCases}>
        <button type="button" aria-pressed={tab === 'active'} onClick={() => setTab('active')} data-testid="tab-active">
          {m.active} <span class="pf-count">{active.length}</span>
        </button>
        <button type="button" aria-pressed={tab === 'closed'} onClick={() => setTab('closed')} data-testid="tab-closed">
          {m.closedTab} <span class="pf-count">{closed.length}</span>
        </button>
      </div>
      {shown.length === 0 ? (
        <div class="pf-empty" data-testid="no-cases">
          <p>{tab === 'active' ? m.noActive : m.noClosed}</p>
          {tab === 'active' && (
            <a href={`${BASE}/new`} class="pf-btn" onClick={linkClick}>
              + {m.newCase}
            </a>
          )}
        </div>
      ) : (
        <ul class="pf-cases" data-testid="case-list">
          {shown.map((c) => {
            const step = nextStep(c, specs[c.type] ?? [], m, l);
            return (
              <li class={`pf-case-item tone-${step.tone}`} data-testid="case-item" data-number={c.number} key={c.number}>
                <div class="pf-case-main">
                  <div class="pf-case-meta">
                    <span class="pf-num">{c.number}</span>
                    <span aria-hidden="true">·</span>
                    <span>{label(m, 'type.' + c.type)}</span>
                  </div>
                  <a href={`${BASE}/cases/${encodeURIComponent(c.number)}`} onClick={linkClick} class="pf-case-subject" data-testid="case-subject">
                    {c.subject}
                  </a>
                  <div class="pf-case-step" data-testid="case-next-step">
                    <span class="pf-sr">{m.nextStep}: </span>
                    {step.short}
                  </div>
                </div>
                <div class="pf-case-side">
                  <span class={`pf-status st-${c.status}`} data-testid="case-status">
                    {label(m, 'status.' + c.status)}
                  </span>
                  <span class="pf-muted pf-small">
                    {m.updated} <time dateTime={c.updated_at}>{dateTime(c.updated_at, l)}</time>
                  </span>
                </div>
              </li>
            );
          })}
        </ul>
      )}
      {next && (
        <div class="pf-more">
          <button type="button" class="pf-btn" onClick={() => load(next)}>
            {m.loadMore}
          </button>
        </div>
      )}
    </section>
  );
}
