// The agent's queues: my cases, my level's unassigned cases (supervisors: all unassigned),
// all cases (supervisors and administrators); filters, full-text search, sort by SLA due,
// saved views, counts per queue; a virtualised list (only the rows in sight are in the
// DOM), updated live from the desk's push channel (stream.ts). Everything is in the URL,
// so a view can be bookmarked, saved, and Back works.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { call, query, type Case, type List, type User } from '../api';
import { lang, label, messages, type Messages } from '../i18n';
import { slaView, dateTime } from '../format';
import { linkClick, navigate, path } from '../router';
import { useSignal } from '../signal';
import { onCaseChange } from '../stream';
import { deleteView, loadViews, savedViews, saveView, viewsError } from '../views';

const STATUSES = ['awaiting_info', 'open', 'pending_customer', 'resolved', 'closed'];
const SEVERITIES = ['S1', 'S2', 'S3', 'S4'];
const TYPES = ['incident', 'activation', 'request'];
const CHANNELS = ['email', 'phone', 'chat', 'click2call', 'whatsapp', 'portal', 'web', 'api', 'walk_in'];
const LEVELS = ['1', '2', '3'];

const ROW_H = 58; // px; every row has the same height (see .vrow in styles.css)
const OVERSCAN = 8;
const FIRST_PAGE = 200;
const NEXT_PAGE = 500;

interface View {
  queue: string;
  status: string; // '' active (not resolved or closed), 'any', or one status
  severity: string;
  type: string;
  channel: string;
  account: string;
  level: string;
  q: string;
  sort: string; // '' newest first, 'sla' by SLA due
}
const KEYS: (keyof View)[] = ['queue', 'status', 'severity', 'type', 'channel', 'account', 'level', 'q', 'sort'];

function viewFrom(search: string): View {
  const p = new URLSearchParams(search);
  const v = {} as View;
  for (const k of KEYS) v[k] = p.get(k) ?? '';
  return v;
}

function viewQuery(v: View): string {
  return query(Object.fromEntries(KEYS.map((k) => [k, v[k]])));
}

interface QueueDef {
  id: string;
  name: (m: Messages) => string;
  scope: Record<string, string>;
}

export function queuesFor(user: User): QueueDef[] {
  const staffLead = user.role === 'supervisor' || user.role === 'admin';
  const out: QueueDef[] = [{ id: 'mine', name: (m) => m.queueMine, scope: { assignee: 'me' } }];
  if (!staffLead && user.level)
    out.push({
      id: 'level',
      name: (m) => m.queueLevel(user.level!),
      scope: { assignee: 'none', level: String(user.level) },
    });
  else out.push({ id: 'unassigned', name: (m) => m.queueUnassigned, scope: { assignee: 'none' } });
  if (staffLead) out.push({ id: 'all', name: (m) => m.queueAll, scope: {} });
  return out;
}

function defaultQueue(user: User): string {
  return user.role === 'supervisor' || user.role === 'admin' ? 'all' : user.level ? 'level' : 'unassigned';
}

// The API query of a view. A search looks through every case the user may see.
function apiParams(v: View, queue: QueueDef): Record<string, string | undefined> {
  const scope = v.q ? {} : queue.scope;
  const status =
    v.status === '' ? (v.q ? {} : { active: 'true' }) : v.status === 'any' ? {} : { status: v.status };
  return {
    ...scope,
    ...status,
    severity: v.severity,
    type: v.type,
    channel: v.channel,
    account: v.account,
    level: scope.level ?? v.level,
    q: v.q,
    sort: v.sort === 'sla' ? 'sla_due' : undefined,
  };
}

export function Queue({ user }: { user: User }) {
  const l = useSignal(lang);
  const m = messages(l);
  const p = useSignal(path);
  const search = p.includes('?') ? p.slice(p.indexOf('?')) : '';
  const view = viewFrom(search);
  const queues = useMemo(() => queuesFor(user), [user.id, user.role, user.level]);
  const queue = queues.find((q) => q.id === view.queue) ?? queues.find((q) => q.id === defaultQueue(user))!;
  const params = apiParams(view, queue);
  const key = JSON.stringify(params);

  const [items, setItems] = useState<Case[] | null>(null);
  const [total, setTotal] = useState(0);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState('');
  const [text, setText] = useState(view.q);
  const [counts, setCounts] = useState<Record<string, number>>({});
  const [flash, setFlash] = useState<Set<string>>(new Set());
  const seq = useRef(0);
  const loadingMore = useRef(false);
  const countsAsked = useRef(false);
  const state = useRef({ items: [] as Case[], next: null as string | null, key });
  state.current.key = key;
  const changed = useRef(new Set<string>());

  function go(v: Partial<View>) {
    navigate('/cases' + viewQuery({ ...view, ...v }));
  }

  async function load(mode: 'reset' | 'more' | 'refresh') {
    if (mode === 'more') {
      if (loadingMore.current || !state.current.next) return;
      loadingMore.current = true;
    }
    const mine = mode === 'more' ? seq.current : ++seq.current;
    const limit =
      mode === 'reset' ? FIRST_PAGE : mode === 'more' ? NEXT_PAGE : Math.min(1000, Math.max(FIRST_PAGE, state.current.items.length));
    if (mode !== 'more') setError('');
    try {
      const page = await call<List<Case>>(
        'GET',
        '/cases' + query({ ...params, limit, cursor: mode === 'more' ? state.current.next ?? undefined : undefined }),
      );
      if (mine !== seq.current) return;
      const all = mode === 'more' ? [...state.current.items, ...page.items] : page.items;
      state.current.items = all;
      state.current.next = page.next;
      setItems(all);
      setTotal(page.total);
      setNext(page.next);
      // The counts (a request per queue) wait for the list, so as not to slow its first rows.
      if (!countsAsked.current) {
        countsAsked.current = true;
        loadCounts();
      }
      if (mode === 'refresh' && changed.current.size) {
        const now = new Set(changed.current);
        changed.current.clear();
        setFlash(now);
        setTimeout(() => setFlash((f) => (f === now ? new Set() : f)), 2500);
      }
    } catch (e) {
      if (mine === seq.current) setError(e instanceof Error ? e.message : String(e));
    } finally {
      if (mode === 'more') loadingMore.current = false;
    }
  }

  async function loadCounts() {
    const got: Record<string, number> = {};
    await Promise.all(
      queues.map(async (q) => {
        try {
          const page = await call<List<Case>>('GET', '/cases' + query({ ...q.scope, active: 'true', limit: 1 }));
          got[q.id] = page.total;
        } catch {
          /* the count stays unknown */
        }
      }),
    );
    setCounts(got);
  }

  useEffect(() => {
    setItems(null);
    state.current.items = [];
    state.current.next = null;
    setText(view.q);
    if (scroller.current) scroller.current.scrollTop = 0;
    setScrollTop(0);
    load('reset');
  }, [key]);

  // Live: a change anywhere refetches what is shown (debounced), and the counts.
  useEffect(() => {
    let listTimer: number | undefined;
    let countTimer: number | undefined;
    const off = onCaseChange((c) => {
      if (c) changed.current.add(c.case);
      clearTimeout(listTimer);
      listTimer = window.setTimeout(() => load('refresh'), 80);
      clearTimeout(countTimer);
      countTimer = window.setTimeout(loadCounts, 400);
    });
    // The SLA figures move with time: refresh every minute.
    const tick = window.setInterval(() => {
      if (document.visibilityState === 'visible') load('refresh');
    }, 60_000);
    return () => {
      off();
      clearTimeout(listTimer);
      clearTimeout(countTimer);
      clearInterval(tick);
    };
  }, [key]);

  useEffect(() => {
    void loadViews(user.id);
  }, [user.id]);
  const views = useSignal(savedViews);
  const viewsProblem = useSignal(viewsError);

  // ---- the virtual window ----
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const frame = useRef(0);
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    setHeight(el.clientHeight);
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, [!!items && items.length > 0]);

  const rows = useMemo(() => (items ? items.map((c) => ({ c, sla: slaView(c, m) })) : null), [items, l]);
  const count = rows?.length ?? 0;
  const first = Math.max(0, Math.floor(scrollTop / ROW_H) - OVERSCAN);
  const last = Math.min(count, Math.ceil((scrollTop + height) / ROW_H) + OVERSCAN);
  useEffect(() => {
    if (next && count > 0 && last >= count - 60) load('more');
  }, [last, count, next]);

  // Keyboard: arrows, Page Up/Down, Home/End move between the rows' links.
  const pendingFocus = useRef<number | null>(null);
  function onKey(e: KeyboardEvent) {
    const row = (e.target as HTMLElement).closest<HTMLElement>('[data-index]');
    if (!row || !scroller.current) return;
    const at = Number(row.dataset.index);
    const page = Math.max(1, Math.floor(height / ROW_H) - 1);
    const to =
      e.key === 'ArrowDown' ? at + 1 : e.key === 'ArrowUp' ? at - 1 : e.key === 'PageDown' ? at + page
        : e.key === 'PageUp' ? at - page : e.key === 'Home' ? 0 : e.key === 'End' ? count - 1 : null;
    if (to === null) return;
    e.preventDefault();
    const target = Math.max(0, Math.min(count - 1, to));
    const el = scroller.current;
    if (target * ROW_H < el.scrollTop) el.scrollTop = target * ROW_H;
    else if ((target + 1) * ROW_H > el.scrollTop + el.clientHeight) el.scrollTop = (target + 1) * ROW_H - el.clientHeight;
    setScrollTop(el.scrollTop);
    const a = el.querySelector<HTMLElement>(`[data-index="${target}"] a.subject-link`);
    if (a) a.focus({ preventScroll: true });
    else pendingFocus.current = target; // rendered with the next window
  }
  useEffect(() => {
    if (pendingFocus.current === null) return;
    const a = scroller.current?.querySelector<HTMLElement>(`[data-index="${pendingFocus.current}"] a.subject-link`);
    if (a) {
      a.focus({ preventScroll: true });
      pendingFocus.current = null;
    }
  });

  const [viewName, setViewName] = useState('');
  const filtered = KEYS.some((k) => k !== 'queue' && k !== 'sort' && view[k] !== '');

  const select = (name: keyof View, values: string[], show: (v: string) => string, first: [string, string][] = [['', m.any]]) => (
    <label class="filter">
      {name === 'type' ? m.type : name === 'channel' ? m.channel : m[name as 'status' | 'severity' | 'level']}
      <select name={name} value={view[name]} onChange={(e) => go({ [name]: e.currentTarget.value })} data-testid={`filter-${name}`}>
        {first.map(([v, t]) => (
          <option value={v}>{t}</option>
        ))}
        {values.map((v) => (
          <option value={v}>{show(v)}</option>
        ))}
      </select>
    </label>
  );

  return (
    <section class="queue">
      <h1 class="sr-only" data-testid="queue-title">
        {view.q ? m.searchResults : queue.name(m)}
      </h1>
      <nav class="queues" aria-label={m.queues} data-testid="queues">
        {queues.map((q) => {
          const current = !view.q && q.id === queue.id;
          return (
            <a
              href={'/cases' + viewQuery({ ...viewFrom(''), queue: q.id, sort: view.sort })}
              onClick={linkClick}
              aria-current={current ? 'page' : undefined}
              class={current ? 'on' : ''}
              data-testid={`queue-${q.id}`}
            >
              {q.name(m)}
              <span class="count" data-testid={`count-${q.id}`}>
                {counts[q.id] ?? '…'}
              </span>
            </a>
          );
        })}
        {view.q && <span class="on results">{m.searchResults}</span>}
      </nav>
      <div class="toolbar">
        <form
          class="search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            go({ q: text.trim() });
          }}
        >
          <input
            type="search"
            name="q"
            aria-label={m.search}
            placeholder={m.searchPlaceholder}
            maxLength={500}
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            data-testid="search"
          />
          <button type="submit">{m.search}</button>
        </form>
        {select('status', STATUSES, (v) => label(m, 'status.' + v), [
          ['', m.statusActive],
          ['any', m.statusAny],
        ])}
        {select('severity', SEVERITIES, (v) => label(m, 'sev.' + v))}
        {select('type', TYPES, (v) => label(m, 'type.' + v))}
        {select('channel', CHANNELS, (v) => label(m, 'channel.' + v))}
        <label class="filter">
          {m.account}
          <input
            name="account"
            class="account"
            value={view.account}
            placeholder={m.accountCode}
            maxLength={32}
            onChange={(e) => go({ account: e.currentTarget.value.trim() })}
            data-testid="filter-account"
          />
        </label>
        {!queue.scope.level && select('level', LEVELS, (v) => m.levelN(Number(v)))}
        <label class="filter">
          {m.sortBy}
          <select name="sort" value={view.sort} onChange={(e) => go({ sort: e.currentTarget.value })} data-testid="sort">
            <option value="">{m.sortNewest}</option>
            <option value="sla">{m.sortSla}</option>
          </select>
        </label>
        {filtered && (
          <button type="button" onClick={() => go({ ...viewFrom(''), queue: view.queue, sort: view.sort })} data-testid="clear-filters">
            {m.clearFilters}
          </button>
        )}
      </div>
      <div class="views" data-testid="views">
        <span class="views-title">{m.views}:</span>
        {views.length === 0 && <span class="muted">{m.noViews}</span>}
        {views.map((v) => (
          <span class={'view' + (v.query === search ? ' on' : '')}>
            <a href={'/cases' + v.query} onClick={linkClick} data-testid="saved-view" aria-current={v.query === search ? 'true' : undefined}>
              {v.name}
            </a>
            <button type="button" class="x" aria-label={m.deleteView(v.name)} title={m.deleteView(v.name)} onClick={() => void deleteView(v.name)}>
              ×
            </button>
          </span>
        ))}
        <form
          class="save-view"
          onSubmit={(e) => {
            e.preventDefault();
            const name = viewName.trim();
            if (!name) return;
            void saveView(name, search);
            setViewName('');
          }}
        >
          <input
            name="view_name"
            aria-label={m.viewName}
            placeholder={m.viewName}
            maxLength={60}
            value={viewName}
            onInput={(e) => setViewName(e.currentTarget.value)}
            data-testid="view-name"
          />
          <button type="submit" data-testid="save-view">
            {m.saveView}
          </button>
        </form>
        {viewsProblem && (
          <span class="error" role="alert" data-testid="views-error">
            {viewsProblem}
          </span>
        )}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {rows === null ? (
        <p class="muted">{m.loading}</p>
      ) : rows.length === 0 ? (
        <p class="muted empty" data-testid="no-cases">
          {m.noCases}
        </p>
      ) : (
        <>
          <div class="cases vtable" role="table" aria-label={m.casesTable} aria-rowcount={total + 1} data-testid="case-table">
            <div class="vhead" role="rowgroup">
              <div class="vcols" role="row" aria-rowindex={1}>
                <span role="columnheader">{m.number}</span>
                <span role="columnheader">{m.subject}</span>
                <span role="columnheader">{m.status}</span>
                <span role="columnheader">{m.severity}</span>
                <span role="columnheader">{m.level}</span>
                <span role="columnheader" aria-sort={view.sort === 'sla' ? 'ascending' : 'none'}>
                  <button type="button" class="sort" title={m.slaSort} onClick={() => go({ sort: view.sort === 'sla' ? '' : 'sla' })} data-testid="sort-sla">
                    {m.sla} {view.sort === 'sla' ? '▲' : '↕'}
                  </button>
                </span>
              </div>
            </div>
            <div
              class="vlist"
              role="rowgroup"
              ref={scroller}
              onKeyDown={onKey}
              onScroll={(e) => {
                const el = e.currentTarget;
                cancelAnimationFrame(frame.current);
                frame.current = requestAnimationFrame(() => setScrollTop(el.scrollTop));
              }}
              data-testid="case-scroller"
            >
              <div class="vspace" style={{ height: `${count * ROW_H}px` }}>
                {rows.slice(first, last).map(({ c, sla }, i) => {
                  const index = first + i;
                  return (
                    <div
                      key={c.number}
                      role="row"
                      aria-rowindex={index + 2}
                      class={'vrow vcols' + (flash.has(c.number) ? ' flash' : '')}
                      style={{ transform: `translateY(${index * ROW_H}px)` }}
                      data-index={index}
                      data-testid="case-row"
                      data-number={c.number}
                      data-tone={sla.tone}
                      data-due={sla.due ?? ''}
                      data-severity={c.severity}
                      data-channel={c.channel}
                      data-status={c.status}
                    >
                      <span role="cell" class="num">
                        <a href={`/cases/${c.number}`} onClick={linkClick} tabIndex={-1}>
                          {c.number}
                        </a>
                      </span>
                      <span role="cell" class="subject">
                        <a href={`/cases/${c.number}`} onClick={linkClick} class="subject-link" data-testid="case-subject">
                          {c.subject}
                        </a>
                        <span class="sub muted">
                          {c.account ?? '—'} · {label(m, 'channel.' + c.channel)} · {dateTime(c.created_at, l)}
                        </span>
                      </span>
                      <span role="cell">
                        <span class={`badge st-${c.status}`}>{label(m, 'status.' + c.status)}</span>
                      </span>
                      <span role="cell">
                        <span class={`badge sev-${c.severity}`}>{c.severity}</span>
                      </span>
                      <span role="cell">{m.levelN(c.level)}</span>
                      <span role="cell">
                        <span class={`sla sla-${sla.tone}`} data-testid="sla" title={sla.due ? dateTime(sla.due, l) : ''}>
                          {sla.which && sla.tone !== 'idle' ? (sla.which === 'response' ? m.response : m.resolution) + ': ' : ''}
                          {sla.text}
                        </span>
                      </span>
                    </div>
                  );
                })}
              </div>
            </div>
          </div>
          <div class="pager muted">
            <span data-testid="shown" aria-live="polite">
              {m.shownOf(count, total)}
            </span>
            {next && (
              <button type="button" onClick={() => load('more')} data-testid="load-more">
                {m.loadMore}
              </button>
            )}
          </div>
        </>
      )}
    </section>
  );
}
