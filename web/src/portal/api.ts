// The customer portal's way to the desk: the public REST API (api/openapi.json), nothing
// else. Kept apart from the console's client (../api.ts) so the two can change on their own.
//
// How the browser proves who it is lives in one place, the "session" section below: today a
// bearer token from POST /api/v1/auth/login kept for the tab's life (sessionStorage, under
// the portal's own key). Switching to HttpOnly cookie sessions means changing only that
// section: signIn/signOut/restoreSession and authHeaders.

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

const TOKEN_KEY = 'escala.portal.token';
const USER_KEY = 'escala.portal.user';

// Headers that authenticate a request (bearer today; with cookies: the CSRF header on writes).
function authHeaders(_method: string): Record<string, string> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function forget(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

export async function signIn(email: string, password: string): Promise<User> {
  const r = await call<{ token: string; user: User }>('POST', '/auth/login', { email, password });
  sessionStorage.setItem(TOKEN_KEY, r.token);
  sessionStorage.setItem(USER_KEY, JSON.stringify(r.user));
  return r.user;
}

export async function signOut(): Promise<void> {
  try {
    await call('POST', '/auth/logout');
  } finally {
    forget();
  }
}

// The signed-in user when the page loads, or null (the sign-in page follows).
export async function restoreSession(): Promise<User | null> {
  if (!sessionStorage.getItem(TOKEN_KEY)) return null;
  try {
    const me = await call<User>('GET', '/me');
    sessionStorage.setItem(USER_KEY, JSON.stringify(me));
    return me;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    const cached = sessionStorage.getItem(USER_KEY);
    if (cached) return JSON.parse(cached) as User;
    throw e;
  }
}

// ---- requests ----------------------------------------------------------------------------

// Called when the desk answers 401 to a signed-in request (expired or revoked session).
let onSignedOut: () => void = () => {};
export function setSignedOutHandler(f: () => void): void {
  onSignedOut = f;
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...authHeaders(method) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (resp.status === 204) return undefined as T;
  let json: any = null;
  try {
    json = await resp.json();
  } catch {
    /* not JSON: handled below */
  }
  if (!resp.ok) {
    const e = json?.error ?? {};
    if (resp.status === 401 && path !== '/auth/login') {
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
