import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { call, query, type Case, type List } from '../api';
import { lang, label, messages } from '../i18n';
import { slaView, dateTime } from '../format';
import { linkClick, navigate, path } from '../router';
import { useSignal } from '../signal';

const STATUSES = ['awaiting_info', 'open', 'pending_customer', 'resolved', 'closed'];
const SEVERITIES = ['S1', 'S2', 'S3', 'S4'];
const LEVELS = ['1', '2', '3'];

interface Filters {
  status: string;
  severity: string;
  level: string;
  q: string;
}

function filtersFrom(search: string): Filters {
  const p = new URLSearchParams(search);
  return { status: p.get('status') ?? '', severity: p.get('severity') ?? '', level: p.get('level') ?? '', q: p.get('q') ?? '' };
}

export function Queue() {
  const l = useSignal(lang);
  const m = messages(l);
  const p = useSignal(path);
  const search = p.includes('?') ? p.slice(p.indexOf('?')) : '';
  const filters = filtersFrom(search);
  const [items, setItems] = useState<Case[] | null>(null);
  const [total, setTotal] = useState(0);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState('');
  const [sortBySla, setSortBySla] = useState(false);
  const [text, setText] = useState(filters.q);
  const seq = useRef(0);

  // The filters live in the URL, so a view can be bookmarked and Back works.
  function setFilters(f: Partial<Filters>) {
    const merged = { ...filters, ...f };
    navigate('/cases' + query({ status: merged.status, severity: merged.severity, level: merged.level, q: merged.q }));
  }

  async function load(cursor?: string) {
    const mine = ++seq.current;
    setError('');
    try {
      const page = await call<List<Case>>(
        'GET',
        '/cases' + query({ ...filters, limit: 100, cursor }),
      );
      if (mine !== seq.current) return;
      setItems((old) => (cursor && old ? [...old, ...page.items] : page.items));
      setTotal(page.total);
      setNext(page.next);
    } catch (e) {
      if (mine === seq.current) setError(e instanceof Error ? e.message : String(e));
    }
  }

  useEffect(() => {
    setItems(null);
    setText(filters.q);
    load();
  }, [search]);

  const rows = useMemo(() => {
    if (!items) return null;
    const withSla = items.map((c) => ({ c, sla: slaView(c, m) }));
    if (sortBySla)
      withSla.sort((a, b) => {
        // Breached first, then the soonest due; cases whose clock does not run last.
        const ka = a.sla.tone === 'breach' ? -Infinity : a.sla.due ? Date.parse(a.sla.due) : Infinity;
        const kb = b.sla.tone === 'breach' ? -Infinity : b.sla.due ? Date.parse(b.sla.due) : Infinity;
        return ka - kb;
      });
    return withSla;
  }, [items, sortBySla, l]);

  const select = (name: keyof Filters, values: string[], show: (v: string) => string) => (
    <label class="filter">
      {m[name as 'status' | 'severity' | 'level']}
      <select
        name={name}
        value={filters[name]}
        onChange={(e) => setFilters({ [name]: e.currentTarget.value })}
        data-testid={`filter-${name}`}
      >
        <option value="">{m.any}</option>
        {values.map((v) => (
          <option value={v}>{show(v)}</option>
        ))}
      </select>
    </label>
  );

  return (
    <section class="queue">
      <div class="toolbar">
        <form
          class="search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            setFilters({ q: text.trim() });
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
        {select('status', STATUSES, (v) => label(m, 'status.' + v))}
        {select('severity', SEVERITIES, (v) => label(m, 'sev.' + v))}
        {select('level', LEVELS, (v) => m.levelN(Number(v)))}
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
          <table class="cases" data-testid="case-table">
            <thead>
              <tr>
                <th>{m.number}</th>
                <th>{m.subject}</th>
                <th>{m.status}</th>
                <th>{m.severity}</th>
                <th>{m.level}</th>
                <th aria-sort={sortBySla ? 'ascending' : 'none'}>
                  <button
                    type="button"
                    class="sort"
                    title={m.slaSort}
                    onClick={() => setSortBySla(!sortBySla)}
                    data-testid="sort-sla"
                  >
                    {m.sla} {sortBySla ? '▲' : '↕'}
                  </button>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ c, sla }) => (
                <tr key={c.number} data-testid="case-row" data-number={c.number}>
                  <td class="num">
                    <a href={`/cases/${c.number}`} onClick={linkClick}>
                      {c.number}
                    </a>
                  </td>
                  <td class="subject">
                    <a href={`/cases/${c.number}`} onClick={linkClick} data-testid="case-subject">
                      {c.subject}
                    </a>
                    <div class="sub muted">
                      {c.account ?? '—'} · {dateTime(c.created_at, l)}
                    </div>
                  </td>
                  <td>
                    <span class={`badge st-${c.status}`}>{label(m, 'status.' + c.status)}</span>
                  </td>
                  <td>
                    <span class={`badge sev-${c.severity}`}>{c.severity}</span>
                  </td>
                  <td>{m.levelN(c.level)}</td>
                  <td>
                    <span class={`sla sla-${sla.tone}`} data-testid="sla" title={sla.due ? dateTime(sla.due, l) : ''}>
                      {sla.which && sla.tone !== 'idle' ? (sla.which === 'response' ? m.response : m.resolution) + ': ' : ''}
                      {sla.text}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <div class="pager muted">
            <span data-testid="shown">{m.shownOf(rows.length, total)}</span>
            {next && (
              <button type="button" onClick={() => load(next)}>
                {m.loadMore}
              </button>
            )}
          </div>
        </>
      )}
    </section>
  );
}
