// Saved views of the queue: a name and the queue's URL query (queue, filters, sort, search).
// The desk has no API for them yet, so they are kept in this browser's localStorage, per
// user (key escala.views.<user id>); they do not follow the user to another browser.
import { signal } from './signal';

export interface SavedView {
  name: string;
  query: string; // e.g. "?queue=all&severity=S1&sort=sla"
}

const key = (userId: number) => `escala.views.${userId}`;
export const savedViews = signal<SavedView[]>([]);
let loadedFor = -1;

export function loadViews(userId: number): SavedView[] {
  if (loadedFor !== userId) {
    loadedFor = userId;
    let views: SavedView[] = [];
    try {
      const raw = JSON.parse(localStorage.getItem(key(userId)) ?? '[]');
      if (Array.isArray(raw))
        views = raw.filter((v) => v && typeof v.name === 'string' && typeof v.query === 'string');
    } catch {
      /* a broken entry: start again */
    }
    savedViews.set(views);
  }
  return savedViews.get();
}

function store(userId: number, views: SavedView[]): void {
  localStorage.setItem(key(userId), JSON.stringify(views));
  savedViews.set(views);
}

// Saves (or replaces, by name) a view.
export function saveView(userId: number, name: string, query: string): void {
  const views = loadViews(userId).filter((v) => v.name !== name);
  views.push({ name, query });
  views.sort((a, b) => a.name.localeCompare(b.name));
  store(userId, views);
}

export function deleteView(userId: number, name: string): void {
  store(userId, loadViews(userId).filter((v) => v.name !== name));
}
