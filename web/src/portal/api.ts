// The customer portal's way to the desk: the public REST API (api/openapi.json), nothing
// else. Kept apart from the console's client (../api.ts) so the two can change on their own.
//
// How the browser proves who it is lives in one place, the "session" section below: a
// browser session (POST /api/v1/auth/session) whose token travels only in an HttpOnly,
// SameSite=Strict cookie no script can read; writes carry the session's CSRF token
// (X-CSRF-Token), kept in memory only and fetched again with GET /api/v1/auth/session
// after a reload. The console (../api.ts) signs in the same way (ADR 0004).

export type Status = 'awaiting_info' | 'open' | 'pending_customer' | 'resolved' | 'closed';
export type CaseType = 'activation' | 'incident' | 'request';

export interface User {
  id: number;
  email: string;
  name: string;
  role: 'admin' | 'supervisor' | 'agent' | 'customer';
  account: string | null;
  language: 'es' | 'en';
  timezone: string;
}

// The part of a case the portal shows (the API sends more).
export interface Case {
  number: string;
  type: CaseType;
  status: Status;
  severity: string;
  account: string | null;
  channel: string;
  subject: string;
  description: string;
  fields: Record<string, unknown>;
  missing_fields: string[];
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  closed_at?: string | null;
  sla: { resolved_at: string | null };
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
  required: string; // "always" | "when extension_type is teams"
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

// ---- session -----------------------------------------------------------------------------

interface SessionInfo {
  user: User;
  expires_at: string;
  csrf_token?: string;
  via: 'cookie' | 'bearer';
}

let csrfToken = '';

// Headers that authenticate a request beyond the cookie: the CSRF token on writes.
function authHeaders(method: string): Record<string, string> {
  return method !== 'GET' && method !== 'HEAD' && csrfToken ? { 'X-CSRF-Token': csrfToken } : {};
}

function forget(): void {
  csrfToken = '';
}

export async function signIn(email: string, password: string): Promise<User> {
  const s = await call<SessionInfo>('POST', '/auth/session', { email, password });
  csrfToken = s.csrf_token ?? '';
  return s.user;
}

export async function signOut(): Promise<void> {
  try {
    await call('POST', '/auth/logout');
  } finally {
    forget();
  }
}

// The signed-in user when the page loads (the browser still holds a live session cookie),
// or null (the sign-in page follows).
export async function restoreSession(): Promise<User | null> {
  try {
    const s = await call<SessionInfo>('GET', '/auth/session');
    csrfToken = s.csrf_token ?? '';
    return s.user;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

// ---- requests ----------------------------------------------------------------------------

// Called when the desk answers 401 to a signed-in request (expired or revoked session).
let onSignedOut: () => void = () => {};
export function setSignedOutHandler(f: () => void): void {
  onSignedOut = f;
}

function send(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json', ...authHeaders(method) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let resp = await send(method, path, body);
  if (resp.status === 403 && method !== 'GET' && !path.startsWith('/auth/session')) {
    // The CSRF token may be stale (signed in again in another tab): fetch it once more.
    const e = await resp.clone().json().catch(() => null);
    if (e?.error?.code === 'csrf_failed' && (await restoreSession().catch(() => null)))
      resp = await send(method, path, body);
  }
  if (resp.status === 204) return undefined as T;
  let json: any = null;
  try {
    json = await resp.json();
  } catch {
    /* not JSON: handled below */
  }
  if (!resp.ok) {
    const e = json?.error ?? {};
    if (resp.status === 401 && !path.startsWith('/auth/session')) {
      forget();
      onSignedOut();
    }
    throw new ApiError(resp.status, e.code ?? 'http_' + resp.status, e.message ?? resp.statusText, e.field);
  }
  return json as T;
}

export const caseUrl = (number: string) => `/cases/${encodeURIComponent(number)}`;

const specCache = new Map<CaseType, Promise<FieldSpec[]>>();

// The required data of a case type as the desk defines it (GET /api/v1/fields/{type}).
export function fieldSpecs(type: CaseType): Promise<FieldSpec[]> {
  let p = specCache.get(type);
  if (!p) {
    p = call<{ fields: FieldSpec[] }>('GET', `/fields/${type}`).then((r) => r.fields);
    p.catch(() => specCache.delete(type));
    specCache.set(type, p);
  }
  return p;
}
