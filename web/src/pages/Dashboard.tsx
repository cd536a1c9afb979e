// Supervisor dashboard (issue 5): SLA compliance by severity and by level, backlog by
// severity and age, cases created per channel per day, first-level resolution rate and the
// breaches of the week. Loaded with import() from main.tsx only when /dashboard opens, so
// this page, its words and Chart.js are one chunk that the queue's first load never fetches.
//
// Figures come from two public endpoints: GET /api/v1/reports/dashboard (backlog, created,
// breaches; days counted in the viewer's zone) and GET /api/v1/reports/sla for the same
// period. Each chart is a <figure> whose caption gives the totals and whose visually hidden
// table holds every figure drawn, so screen readers (and axe) get the numbers, not a canvas.
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Legend,
  LinearScale,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call, query, type User } from '../api';
import { dateTime } from '../format';
import { label, lang, messages } from '../i18n';
import { linkClick } from '../router';
import { useSignal } from '../signal';
import { dashboardWords, type DashboardWords } from './dashboardWords';
import './dashboard.css';

// Only what the charts below use: the rest of Chart.js is shaken out of the chunk.
Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip, DoughnutController, ArcElement);

type Sev = 'S1' | 'S2' | 'S3' | 'S4';
const SEVERITIES: Sev[] = ['S1', 'S2', 'S3', 'S4'];

interface Compliance {
  met: number;
  breached: number;
  in_progress: number;
  not_started: number;
  compliance_percent: number | null;
}
interface SlaGroup {
  cases: number;
  response: Compliance;
  resolution: Compliance;
}
interface SlaReport {
  total: SlaGroup;
  by_severity: Record<string, SlaGroup>;
  by_level: Record<string, SlaGroup>;
  first_level_resolution: { incidents_resolved: number; resolved_at_level_1: number; rate_percent: number | null };
}
interface Breach {
  case: string;
  subject: string;
  severity: Sev;
  level: number;
  target: 'response' | 'resolution';
  breached_at: string;
}
interface DashboardReport {
  period: { from: string; before: string; zone: string };
  generated_at: string;
  backlog: {
    buckets: string[];
    by_severity: Record<Sev, Record<string, number>>;
    total: number;
  };
  created: { days: string[]; by_channel: Record<string, number[]>; per_day: number[]; total: number };
  breaches: {
    days: string[];
    per_day: Record<Sev, number[]>;
    by_severity: Record<Sev, { response: number; resolution: number; total: number }>;
    total: number;
    latest: Breach[];
  };
}

// Colours that keep 3:1 against white and differ for the common colour-vision deficiencies
// (met/breached are also told apart by the legend, the tooltip and the table).
const C_MET = '#1e7d3a';
const C_BREACHED = '#b3261e';
const C_RUNNING = '#3b6fb6';
const SEV_COLOURS: Record<Sev, string> = { S1: '#b3261e', S2: '#b45309', S3: '#3b6fb6', S4: '#6b7280' };
const AGE_COLOURS = ['#8fb3e0', '#3b6fb6', '#b45309', '#b3261e'];
const CHANNEL_COLOURS = ['#1f4e8c', '#1e7d3a', '#b45309', '#7c3aed', '#0e7490', '#b3261e', '#6b7280', '#a16207'];

export function viewerZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

// A day name "2026-12-05" as the viewer reads it, without moving it through a zone.
function dayLabel(day: string, l: string): string {
  const [y, mo, d] = day.split('-').map(Number);
  return new Intl.DateTimeFormat(l === 'en' ? 'en-US' : 'es-MX', { day: 'numeric', month: 'short', timeZone: 'UTC' }).format(
    new Date(Date.UTC(y, mo - 1, d)),
  );
}

interface TableData {
  head: string[];
  rows: (string | number)[][];
}

// One chart: a canvas drawn by Chart.js, a caption and the same figures as a table that
// only assistive technology sees.
function ChartFigure({
  id,
  title,
  summary,
  config,
  table,
  m,
  tall,
}: {
  id: string;
  title: string;
  summary: string;
  config: ChartConfiguration;
  table: TableData;
  m: DashboardWords;
  tall?: boolean;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, config);
    return () => chart.destroy();
  }, [config]);
  return (
    <figure class="card chart" data-testid={`chart-${id}`} aria-labelledby={`${id}-title`}>
      <figcaption>
        <h2 id={`${id}-title`}>{title}</h2>
        <p class="muted chart-summary" data-testid={`summary-${id}`}>
          {summary}
        </p>
      </figcaption>
      <div class={tall ? 'chart-box tall' : 'chart-box'}>
        <canvas ref={canvas} role="img" aria-label={`${title}: ${summary}`} />
      </div>
      <table class="sr-only" data-testid={`table-${id}`}>
        <caption>
          {m.dataTable}: {title}
        </caption>
        <thead>
          <tr>
            {table.head.map((h) => (
              <th scope="col">{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {table.rows.map((r) => (
            <tr>
              {r.map((v, i) => (i === 0 ? <th scope="row">{v}</th> : <td>{v}</td>))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

function barOptions(stacked: boolean, horizontal = false): ChartConfiguration['options'] {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    indexAxis: horizontal ? 'y' : 'x',
    plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
    scales: {
      x: { stacked, ticks: { precision: 0 } },
      y: { stacked, beginAtZero: true, ticks: { precision: 0 } },
    },
  } as ChartConfiguration['options'];
}

// Met / breached / in progress for each group and target, as stacked bars.
function complianceChart(
  groups: [string, SlaGroup][],
  m: DashboardWords,
  rowHead: string,
): { config: ChartConfiguration; table: TableData; summary: string } {
  const labels: string[] = [];
  const met: number[] = [];
  const breached: number[] = [];
  const running: number[] = [];
  const rows: (string | number)[][] = [];
  for (const [name, g] of groups) {
    for (const t of ['response', 'resolution'] as const) {
      const c = g[t];
      const lab = `${name} · ${t === 'response' ? m.response : m.resolution}`;
      labels.push(lab);
      met.push(c.met);
      breached.push(c.breached);
      running.push(c.in_progress);
      rows.push([lab, c.met, c.breached, c.in_progress, c.compliance_percent === null ? '—' : `${c.compliance_percent} %`]);
    }
  }
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  return {
    config: {
      type: 'bar',
      data: {
        labels,
        datasets: [
          { label: m.met, data: met, backgroundColor: C_MET },
          { label: m.breached, data: breached, backgroundColor: C_BREACHED },
          { label: m.inProgress, data: running, backgroundColor: C_RUNNING },
        ],
      },
      options: barOptions(true, true),
    },
    table: { head: [rowHead, m.met, m.breached, m.inProgress, '%'], rows },
    summary: m.slaSummary(sum(met), sum(breached), sum(running)),
  };
}

function Figures({ d, sla, m, l }: { d: DashboardReport; sla: SlaReport; m: DashboardWords; l: string }) {
  const cm = messages(l === 'en' ? 'en' : 'es');
  // Every chart's configuration is built once per answer (a new object would redraw it).
  const [charts] = useState(() => {
    const bySev = complianceChart(
      SEVERITIES.filter((s) => sla.by_severity[s]).map((s) => [s, sla.by_severity[s]] as [string, SlaGroup]),
      m,
      `${m.severity} · ${m.target}`,
    );
    const levels = Object.keys(sla.by_level).sort();
    const byLevel = complianceChart(
      levels.map((k) => [cm.levelN(Number(k.slice(1))), sla.by_level[k]] as [string, SlaGroup]),
      m,
      `${m.level} · ${m.target}`,
    );

    const buckets = d.backlog.buckets;
    const backlog = {
      config: {
        type: 'bar',
        data: {
          labels: SEVERITIES,
          datasets: buckets.map((b, i) => ({
            label: m.age[b] ?? b,
            data: SEVERITIES.map((s) => d.backlog.by_severity[s]?.[b] ?? 0),
            backgroundColor: AGE_COLOURS[i % AGE_COLOURS.length],
          })),
        },
        options: barOptions(true),
      } as ChartConfiguration,
      table: {
        head: [m.severity, ...buckets.map((b) => m.age[b] ?? b), m.total],
        rows: SEVERITIES.map((s) => [s, ...buckets.map((b) => d.backlog.by_severity[s]?.[b] ?? 0), d.backlog.by_severity[s]?.total ?? 0]),
      },
    };

    const channels = Object.keys(d.created.by_channel).sort();
    const days = d.created.days.map((x) => dayLabel(x, l));
    const channelName = (c: string) => label(cm, 'channel.' + c);
    const created = {
      config: {
        type: 'bar',
        data: {
          labels: days,
          datasets: channels.map((c, i) => ({
            label: channelName(c),
            data: d.created.by_channel[c],
            backgroundColor: CHANNEL_COLOURS[i % CHANNEL_COLOURS.length],
          })),
        },
        options: barOptions(true),
      } as ChartConfiguration,
      table: {
        head: [m.day, ...channels.map(channelName), m.total],
        rows: d.created.days.map((day, i) => [day, ...channels.map((c) => d.created.by_channel[c][i]), d.created.per_day[i]]),
      },
    };

    const f = sla.first_level_resolution;
    const flr = {
      config: {
        type: 'doughnut',
        data: {
          labels: [m.flrAtL1, m.flrHigher],
          datasets: [
            {
              data: [f.resolved_at_level_1, f.incidents_resolved - f.resolved_at_level_1],
              backgroundColor: [C_MET, '#9aa3b2'],
            },
          ],
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
        },
      } as ChartConfiguration,
      table: {
        head: [m.flr, m.count],
        rows: [
          [m.flrAtL1, f.resolved_at_level_1],
          [m.flrHigher, f.incidents_resolved - f.resolved_at_level_1],
          [m.total, f.incidents_resolved],
        ],
      },
    };

    const bdays = d.breaches.days.map((x) => dayLabel(x, l));
    const breaches = {
      config: {
        type: 'bar',
        data: {
          labels: bdays,
          datasets: SEVERITIES.map((s) => ({ label: s, data: d.breaches.per_day[s], backgroundColor: SEV_COLOURS[s] })),
        },
        options: barOptions(true),
      } as ChartConfiguration,
      table: {
        head: [m.day, ...SEVERITIES, m.total],
        rows: d.breaches.days.map((day, i) => {
          const counts = SEVERITIES.map((s) => d.breaches.per_day[s][i]);
          return [day, ...counts, counts.reduce((a, b) => a + b, 0)];
        }),
      },
    };
    return { bySev, byLevel, backlog, created, flr, breaches };
  });
  const f = sla.first_level_resolution;
  return (
    <div class="dash-grid">
      <ChartFigure id="sla-severity" title={m.slaBySeverity} m={m} tall {...charts.bySev} />
      <ChartFigure id="sla-level" title={m.slaByLevel} m={m} {...charts.byLevel} />
      <ChartFigure id="backlog" title={m.backlog} summary={m.backlogSummary(d.backlog.total)} m={m} {...charts.backlog} />
      <ChartFigure
        id="flr"
        title={m.flr}
        summary={m.flrSummary(f.rate_percent, f.resolved_at_level_1, f.incidents_resolved)}
        m={m}
        {...charts.flr}
      />
      <ChartFigure id="created" title={m.created} summary={m.createdSummary(d.created.total)} m={m} {...charts.created} />
      <ChartFigure
        id="breaches"
        title={m.breachesWeek}
        summary={m.breachesSummary(d.breaches.total)}
        m={m}
        {...charts.breaches}
      />
      <section class="card wide" aria-labelledby="latest-breaches" data-testid="latest-breaches">
        <h2 id="latest-breaches">{m.latestBreaches}</h2>
        {d.breaches.latest.length === 0 ? (
          <p class="muted">{m.noBreaches}</p>
        ) : (
          <table class="cases">
            <thead>
              <tr>
                <th scope="col">{m.caseCol}</th>
                <th scope="col">{m.subject}</th>
                <th scope="col">{m.severity}</th>
                <th scope="col">{m.target}</th>
                <th scope="col">{m.breachedAt}</th>
              </tr>
            </thead>
            <tbody>
              {d.breaches.latest.map((b) => (
                <tr>
                  <td class="num">
                    <a href={`/cases/${b.case}`} onClick={linkClick}>
                      {b.case}
                    </a>
                  </td>
                  <td class="subject">{b.subject}</td>
                  <td>
                    <span class={`badge sev-${b.severity}`}>{b.severity}</span>
                  </td>
                  <td>{b.target === 'response' ? m.response : m.resolution}</td>
                  <td>{dateTime(b.breached_at, l === 'en' ? 'en' : 'es')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

export default function Dashboard({ user }: { user: User }) {
  const l = useSignal(lang);
  const m = dashboardWords(l);
  const [days, setDays] = useState<7 | 30>(7);
  const [state, setState] = useState<
    { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'ready'; d: DashboardReport; sla: SlaReport; at: number }
  >({ kind: 'loading' });
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let gone = false;
    setState({ kind: 'loading' });
    (async () => {
      // One after the other on purpose: the SLA report covers the period the desk chose for the
      // dashboard (from the desk's clock, which `serve --test-clock` moves, and the viewer's
      // zone), so its from/to are known only from the first answer. Computing them here from
      // the browser's clock could make the two reports cover different days.
      const d = await call<DashboardReport>('GET', '/reports/dashboard' + query({ days, zone: viewerZone() }));
      const sla = await call<SlaReport>('GET', '/reports/sla' + query({ from: d.period.from, to: d.period.before }));
      if (!gone) setState({ kind: 'ready', d, sla, at: Date.now() });
    })().catch((e) => {
      if (gone) return;
      setState({ kind: 'error', message: e instanceof ApiError && e.status === 403 ? m.forbidden : m.failed });
    });
    return () => {
      gone = true;
    };
  }, [days, tick]);

  useEffect(() => {
    document.title = `${m.title} · Escala`;
  }, [l]);

  if (user.role !== 'supervisor' && user.role !== 'admin')
    return (
      <p class="error" role="alert">
        {m.forbidden}
      </p>
    );
  return (
    <div class="dashboard" data-testid="dashboard">
      <div class="dash-head">
        <h1>{m.title}</h1>
        <div class="spacer" />
        <div class="lang period" role="group" aria-label={m.period}>
          {([7, 30] as const).map((n) => (
            <button type="button" class={n === days ? 'on' : ''} aria-pressed={n === days} onClick={() => setDays(n)} data-testid={`period-${n}`}>
              {n === 7 ? m.last7 : m.last30}
            </button>
          ))}
        </div>
        <button type="button" onClick={() => setTick((t) => t + 1)} data-testid="refresh">
          {m.refresh}
        </button>
      </div>
      {state.kind === 'loading' && (
        <p class="muted" role="status">
          {m.loading}
        </p>
      )}
      {state.kind === 'error' && (
        <p class="error" role="alert">
          {state.message}
        </p>
      )}
      {state.kind === 'ready' && (
        <>
          <p class="muted dash-note" data-testid="period-note">
            {m.periodNote(dateTime(state.d.period.from, l), dateTime(state.d.period.before, l))} ·{' '}
            {m.generatedAt(dateTime(state.d.generated_at, l), state.d.period.zone)}
          </p>
          <Figures key={`${state.at}-${l}`} d={state.d} sla={state.sla} m={m} l={l} />
        </>
      )}
    </div>
  );
}
