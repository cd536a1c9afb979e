// The console's only way to the desk: the public REST API (api/openapi.json), with the
// bearer token from POST /api/v1/auth/login kept for the tab's life (sessionStorage).

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
  account: string | null;
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
  requester?: { name?: string | null; email?: string | null } | null;
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

const TOKEN_KEY = 'escala.token';
const USER_KEY = 'escala.user';

export function session(): { token: string; user: User } | null {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const user = sessionStorage.getItem(USER_KEY);
  if (!token || !user) return null;
  try {
    return { token, user: JSON.parse(user) as User };
  } catch {
    return null;
  }
}

export function clearSession(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

// Called when the desk answers 401 (expired or revoked token): the app shows the sign-in page.
let onUnauthenticated: () => void = () => {};
export function setUnauthenticatedHandler(f: () => void): void {
  onUnauthenticated = f;
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(`/api/v1${path}`, {
    method,
    headers,
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
    if (resp.status === 401 && token) {
      clearSession();
      onUnauthenticated();
    }
    throw new ApiError(resp.status, e.code ?? 'http_' + resp.status, e.message ?? resp.statusText, e.field);
  }
  return json as T;
}

export async function login(email: string, password: string): Promise<User> {
  const r = await call<{ token: string; user: User }>('POST', '/auth/login', { email, password });
  sessionStorage.setItem(TOKEN_KEY, r.token);
  sessionStorage.setItem(USER_KEY, JSON.stringify(r.user));
  return r.user;
}

export async function logout(): Promise<void> {
  try {
    await call('POST', '/auth/logout');
  } finally {
    clearSession();
  }
}

export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
