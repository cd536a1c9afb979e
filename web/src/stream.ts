// Live updates: the desk's push channel (GET /api/v1/stream, Server-Sent Events). The
// browser's EventSource sends the session cookie (same origin) and reconnects by itself
// after a network error; each message only says which case changed ({case, version,
// kind}), so pages refetch what they show through the API. After a (re)connection the
// desk sends `event: ready`: changes may have been missed meanwhile, so listeners get a
// `null` (refetch everything).
import { signal } from './signal';

export interface CaseChange {
  case: string;
  version: number;
  kind: string;
}

export type LiveState = 'off' | 'connecting' | 'live';
export const liveState = signal<LiveState>('off');

type Listener = (change: CaseChange | null) => void;
const listeners = new Set<Listener>();

export function onCaseChange(f: Listener): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

function emit(change: CaseChange | null): void {
  listeners.forEach((f) => {
    try {
      f(change);
    } catch {
      /* one page's trouble is not the stream's */
    }
  });
}

let source: EventSource | null = null;
let retry: number | undefined;
let connectedBefore = false;

export function connectLive(): void {
  if (source || typeof EventSource === 'undefined') return;
  clearTimeout(retry);
  liveState.set('connecting');
  const es = new EventSource('/api/v1/stream');
  source = es;
  es.addEventListener('ready', () => {
    liveState.set('live');
    if (connectedBefore) emit(null);
    connectedBefore = true;
  });
  es.onmessage = (e: MessageEvent<string>) => {
    try {
      const c = JSON.parse(e.data) as CaseChange;
      if (c && typeof c.case === 'string') emit(c);
    } catch {
      /* not ours */
    }
  };
  es.onerror = () => {
    if (es.readyState !== EventSource.CLOSED) {
      liveState.set('connecting'); // the browser retries by itself
      return;
    }
    // Refused (signed out, too many streams) or gone: try again a little later.
    es.close();
    if (source === es) source = null;
    liveState.set('off');
    retry = window.setTimeout(connectLive, 5000);
  };
}

export function disconnectLive(): void {
  clearTimeout(retry);
  source?.close();
  source = null;
  connectedBefore = false;
  liveState.set('off');
}
