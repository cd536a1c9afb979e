// Saved views of the queue: a name and the queue's URL query (queue, filters, sort, search).
// The desk keeps them per user (GET/PUT /api/v1/me/views), so they follow the user to any
// browser. Views an earlier console kept in this browser's localStorage (key
// escala.views.<user id>) are moved to the desk once, the first time the user has none there.
import { call } from './api';
import { signal } from './signal';

export interface SavedView {
  name: string;
  query: string; // e.g. "?queue=all&severity=S1&sort=sla"
}

const legacyKey = (userId: number) => `escala.views.${userId}`;
export const savedViews = signal<SavedView[]>([]);
// Why the last change could not be kept (shown by the queue), or '' when it was.
export const viewsError = signal<string>('');
let loadedFor = -1;

function legacyViews(userId: number): SavedView[] {
  try {
    const raw = JSON.parse(localStorage.getItem(legacyKey(userId)) ?? '[]');
    if (Array.isArray(raw))
      return raw.filter((v) => v && typeof v.name === 'string' && typeof v.query === 'string');
  } catch {
    /* a broken entry: nothing to move */
  }
  return [];
}

async function put(views: SavedView[]): Promise<void> {
  const before = savedViews.get();
  savedViews.set(views); // shown at once; put back if the desk refuses
  try {
    const r = await call<{ views: SavedView[] }>('PUT', '/me/views', { views });
    savedViews.set(r.views);
    viewsError.set('');
  } catch (e) {
    savedViews.set(before);
    viewsError.set(e instanceof Error ? e.message : String(e));
  }
}

export async function loadViews(userId: number): Promise<void> {
  if (loadedFor === userId) return;
  loadedFor = userId;
  try {
    const r = await call<{ views: SavedView[] }>('GET', '/me/views');
    savedViews.set(r.views);
    const legacy = legacyViews(userId);
    if (legacy.length > 0) {
      if (r.views.length === 0) await put(legacy.slice(0, 50));
      if (!viewsError.get()) localStorage.removeItem(legacyKey(userId));
    }
  } catch (e) {
    loadedFor = -1; // try again next time
    viewsError.set(e instanceof Error ? e.message : String(e));
  }
}

// Saves (or replaces, by name) a view.
export function saveView(name: string, query: string): Promise<void> {
  const views = savedViews.get().filter((v) => v.name !== name);
  views.push({ name, query });
  views.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return put(views);
}

export function deleteView(name: string): Promise<void> {
  return put(savedViews.get().filter((v) => v.name !== name));
}
