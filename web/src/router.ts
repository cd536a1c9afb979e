// Client-side routes on the History API; the server answers every such path with index.html.
import { signal } from './signal';

export const path = signal(location.pathname + location.search);

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  path.set(location.pathname + location.search);
}

addEventListener('popstate', () => path.set(location.pathname + location.search));

// Same-origin links navigate without a reload (modifier clicks open tabs as usual).
export function linkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.currentTarget as HTMLAnchorElement | null) ?? null;
  if (!a || a.origin !== location.origin) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
}
