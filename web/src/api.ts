// The console's only way to the desk: the public REST API (api/openapi.json), signed in by
// a browser session: POST /api/v1/auth/session sets an HttpOnly cookie that no script can
// read, and every write carries the session's CSRF token (X-CSRF-Token). The token lives
// in memory only; after a reload GET /api/v1/auth/session gives it back with the user.

import { signal } from './signal';

export type Severity = 'S1' | 'S2' | 'S3' | 'S4';
export type Status = 'awaiting_info' | 'open' | 'pending_customer' | 'resolved' | 'closed';

export interface User {
  id: number;
  email: string;
  name: string;
  role: 'admin' | 'supervisor' | 'agent' | 'customer';
  level: number | null;
  account: string | null;
  language: 'es' | 'en';
  timezone: string;
}

export interface SlaClock {
  target_seconds: number;
  consumed_seconds: number;
  remaining_seconds: number;
  percent: number;
  running: boolean;
  due: string | null;
  met: boolean;
  breached: boolean;
}

export interface CaseSla {
  calendar: string;
  response_due: string | null;
  resolution_due: string | null;
  response_met_at: string | null;
  resolved_at: string | null;
  paused: boolean;
  response: SlaClock;
  resolution: SlaClock;
}

export interface Case {
  number: string;
  type: 'activation' | 'incident' | 'request';
  status: Status;
  level: number;
  severity: Severity;
  suggested_severity?: Severity | null;
  impact?: { affected: string; disruption: string } | null;
  severity_reason?: string | null;  // staff only: why the severity differs from the suggestion
  account: string | null;
  contact?: number | null;
  channel: string;
  subject: string;
  description: string;
  fields: Record<string, unknown>;
  missing_fields: string[];
  sla: CaseSla;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  assignee?: { id: number; name: string } | null;
  requester?: { name?: string | null; email?: string | null; language?: string | null } | null;
  version: number;
}

export interface CaseEvent {
  seq: number;
  type: string;
  at: string;
  actor: { id: number | null; name: string; role: string };
  internal: boolean;
  data: Record<string, unknown>;
}

export interface FieldSpec {
  name: string;
  label_es: string;
  label_en: string;
  choices?: string[];
  required: string;
}

export interface Account {
  code: string;
  name: string;
  timezone: string;
  language: 'es' | 'en';
  contract: {
    name: string;
    activation_charge: { amount_cents: number; currency: string };
    sla: Record<string, { response_seconds: number; resolution_seconds: number; calendar: string }>;
  } | null;
}

export interface Contact {
  id: number;
  account: string;
  name: string;
  email: string | null;
  phone: string | null;
  language: string;
}

// A saved answer agents put into the reply box (GET /api/v1/canned-replies).
export interface CannedReply {
  id: string;
  title: string;
  body_es: string;
  body_en: string;
}

export interface List<T> {
  items: T[];
  total: number;
  next: string | null;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public field?: string,
  ) {
    super(message);
  }
}

// The signed-in user: undefined while the session is being restored, null when signed out.
export const currentUser = signal<User | null | undefined>(undefined);
let csrfToken = '';

interface SessionInfo {
  user: User;
  expires_at: string;
  csrf_token?: string;
  via: 'cookie' | 'bearer';
}

function adopt(s: SessionInfo): User {
  csrfToken = s.csrf_token ?? '';
  currentUser.set(s.user);
  return s.user;
}

export function session(): { user: User } | null {
  const user = currentUser.get();
  return user ? { user } : null;
}

export function clearSession(): void {
  csrfToken = '';
  currentUser.set(null);
}

// Called when the desk answers 401 (expired or revoked session): the app shows the sign-in page.
let onUnauthenticated: () => void = () => {};
export function setUnauthenticatedHandler(f: () => void): void {
  onUnauthenticated = f;
}

async function send(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function read<T>(resp: Response, signedIn: boolean): Promise<T> {
  if (resp.status === 204) return undefined as T;
  let json: any = null;
  try {
    json = await resp.json();
  } catch {
    /* not JSON: handled below */
  }
  if (!resp.ok) {
    const e = json?.error ?? {};
    if (resp.status === 401 && signedIn) {
      clearSession();
      onUnauthenticated();
    }
    throw new ApiError(resp.status, e.code ?? 'http_' + resp.status, e.message ?? resp.statusText, e.field);
  }
  return json as T;
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const signedIn = !!currentUser.get();
  let resp = await send(method, path, body);
  if (resp.status === 403 && signedIn && method !== 'GET') {
    // The CSRF token may be stale (signed in again in another tab): fetch it once more.
    const e = await resp.clone().json().catch(() => null);
    if (e?.error?.code === 'csrf_failed' && (await restoreSession())) resp = await send(method, path, body);
  }
  return read<T>(resp, signedIn);
}

// After a reload: the session cookie, if the browser still has a live one. Never throws.
export async function restoreSession(): Promise<User | null> {
  try {
    const resp = await send('GET', '/auth/session');
    if (resp.ok) return adopt((await resp.json()) as SessionInfo);
    if (resp.status === 401) clearSession();
    else currentUser.set(currentUser.get() ?? null);
  } catch {
    currentUser.set(currentUser.get() ?? null);
  }
  return currentUser.get() ?? null;
}

export async function login(email: string, password: string): Promise<User> {
  const s = await read<SessionInfo>(await send('POST', '/auth/session', { email, password }), false);
  return adopt(s);
}

export async function logout(): Promise<void> {
  try {
    await call('POST', '/auth/logout');
  } finally {
    clearSession();
  }
}

// Changes the signed-in user's password; answers how many other sessions were ended.
export async function changePassword(current: string, next: string): Promise<number> {
  const r = await call<{ sessions_ended: number }>('POST', '/auth/password', {
    current_password: current,
    new_password: next,
  });
  return r.sessions_ended;
}

export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
