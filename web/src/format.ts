// Times in the viewer's zone and SLA figures for people.
import type { Case, SlaClock } from './api';
import type { Lang, Messages } from './i18n';

// One formatter per language: building an Intl.DateTimeFormat costs far more than using
// one, and a scrolling list formats a few dozen dates per frame.
const formatters = new Map<Lang, Intl.DateTimeFormat>();
export function dateTime(iso: string | null | undefined, lang: Lang): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (isNaN(d.getTime())) return iso;
  let f = formatters.get(lang);
  if (!f) {
    f = new Intl.DateTimeFormat(lang === 'en' ? 'en-US' : 'es-MX', { dateStyle: 'medium', timeStyle: 'short' });
    formatters.set(lang, f);
  }
  return f.format(d);
}

export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  return `${m}m`;
}

export type SlaTone = 'ok' | 'warn' | 'breach' | 'idle';

export interface SlaView {
  tone: SlaTone;
  text: string;
  which: 'response' | 'resolution' | null;
  due: string | null; // the next target's due instant, for sorting
}

// One clock for people. Colours: breached; warning from 75 % of the target (D6); on track;
// grey when not started (data missing), paused (waiting on the customer) or met.
export function clockView(c: Case, which: 'response' | 'resolution', m: Messages): SlaView {
  const clock: SlaClock = c.sla[which];
  if (clock.breached) {
    const over = Math.max(0, clock.consumed_seconds - clock.target_seconds);
    return { tone: 'breach', text: m.slaBreached(duration(over)), which, due: clock.due };
  }
  if (clock.met) return { tone: 'idle', text: m.slaMet, which, due: null };
  if (!clock.running)
    return { tone: 'idle', text: c.completed_at ? m.slaPaused : m.slaNotStarted, which, due: null };
  const tone: SlaTone = clock.percent >= 75 ? 'warn' : 'ok';
  return { tone, text: m.slaLeft(duration(clock.remaining_seconds)), which, due: clock.due };
}

// The next target of a case: the response until it is met, then the resolution.
export function slaView(c: Case, m: Messages): SlaView {
  const responseDone = c.sla.response.met || c.sla.response_met_at !== null;
  return clockView(c, responseDone ? 'resolution' : 'response', m);
}
