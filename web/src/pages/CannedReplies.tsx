// The canned-replies editor (/canned-replies): supervisors and administrators list, add,
// edit, reorder and delete the saved replies agents insert on the case page. The desk keeps
// them as one list (GET/PUT /api/v1/canned-replies, the whole list per PUT, order kept), so
// every change reads the stored list again just before its PUT and applies itself to that,
// sending back the list's version: if another supervisor saved in between, the desk answers
// 409 and the change is applied again to the new list, so nobody's change is dropped.
//
// A chunk of its own, loaded by main.tsx only for the roles that may use it.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call, type CannedReply, type List } from '../api';
import { lang } from '../i18n';
import { useSignal } from '../signal';
import { cannedWords, refusal, slugOf, type CannedWords } from './cannedWords';
import './canned.css';

type Key = 'id' | 'title' | 'body_es' | 'body_en';

interface Draft {
  original: string | null;  // the id of the reply being edited; null for a new one
  id: string;
  idTouched: boolean;
  title: string;
  body_es: string;
  body_en: string;
}

// The desk's refusals as it wrote them (English); shown in the viewer's language.
type FieldErrors = Partial<Record<Key, string>>;
type Note = ((w: CannedWords) => string) | null;

const PATH = '/canned-replies';

type Stored = List<CannedReply> & { version: string };

async function stored(): Promise<CannedReply[]> {
  return (await call<Stored>('GET', PATH)).items;
}

// Reads the stored list, applies `apply` to it and saves the result with the version read;
// a save by someone else in between (409 conflict) means reading and applying again (three
// tries, then the desk's answer is shown). Answers the list as stored.
async function applyToStored(apply: (fresh: CannedReply[]) => CannedReply[]): Promise<CannedReply[]> {
  for (let attempt = 1; ; attempt++) {
    const fresh = await call<Stored>('GET', PATH);
    try {
      return (await call<Stored>('PUT', PATH, { items: apply(fresh.items), version: fresh.version })).items;
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 'conflict') || attempt === 3) throw e;
    }
  }
}

// The identifier a new reply gets from its title: unique among `taken`.
function autoId(title: string, taken: CannedReply[]): string {
  const base = slugOf(title) || 'reply';
  const ids = new Set(taken.map((r) => r.id));
  if (!ids.has(base)) return base;
  for (let n = 2; ; n++) if (!ids.has(`${base}-${n}`)) return `${base}-${n}`;
}

// "items[3].title" → [3, 'title']; null for a field outside one reply ("items").
function fieldOf(field: string | undefined): [number, string] | null {
  const x = /^items\[(\d+)\](?:\.([a-z_]+))?$/.exec(field ?? '');
  return x ? [Number(x[1]), x[2] ?? ''] : null;
}

function preview(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 160 ? one.slice(0, 157) + '…' : one;
}

export default function CannedReplies() {
  const l = useSignal(lang);
  const w = cannedWords(l);
  const [items, setItems] = useState<CannedReply[] | null>(null);
  const [loadError, setLoadError] = useState<Note>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<Note>(null);
  const [listError, setListError] = useState<Note>(null);
  const [notice, setNotice] = useState<Note>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const titleInput = useRef<HTMLInputElement>(null);
  const addButton = useRef<HTMLButtonElement>(null);
  const keepButton = useRef<HTMLButtonElement>(null);

  function load() {
    setLoadError(null);
    stored().then(setItems, (e) =>
      setLoadError(() => (x: CannedWords) => (e instanceof ApiError && e.status === 403 ? x.forbidden : x.loadFailed)),
    );
  }
  useEffect(load, []);
  useEffect(() => {
    document.title = `${w.title} · Escala`;
  }, [l]);
  useEffect(() => {
    if (draft) titleInput.current?.focus();
  }, [draft?.original, draft !== null]);
  useEffect(() => {
    if (confirming) keepButton.current?.focus();
  }, [confirming]);

  // What went wrong, as a function of the words (so it follows the language switch).
  function failure(e: unknown): Note {
    if (e instanceof ApiError && e.status === 403) return (x) => x.forbidden;
    if (e instanceof ApiError && e.status === 400) {
      const msg = e.message;
      return (x) => refusal(x, msg);
    }
    const detail = e instanceof Error ? e.message : '';
    return (x) => (detail ? `${x.failed} (${detail})` : x.failed);
  }

  function open(reply: CannedReply | null) {
    setNotice(null);
    setListError(null);
    setErrors({});
    setFormError(null);
    setConfirming(null);
    setDraft(
      reply
        ? { original: reply.id, id: reply.id, idTouched: true, title: reply.title, body_es: reply.body_es, body_en: reply.body_en }
        : { original: null, id: '', idTouched: false, title: '', body_es: '', body_en: '' },
    );
  }

  function close() {
    setDraft(null);
    setErrors({});
    setFormError(null);
    requestAnimationFrame(() => addButton.current?.focus());
  }

  function edit(key: Key, value: string) {
    if (!draft) return;
    setDraft({ ...draft, [key]: value, ...(key === 'id' ? { idTouched: true } : {}) });
    if (errors[key]) setErrors({ ...errors, [key]: undefined });
  }

  async function save(e: Event) {
    e.preventDefault();
    if (!draft || busy) return;
    setBusy(true);
    setErrors({});
    setFormError(null);
    setNotice(null);
    let next: CannedReply[] = [];
    let at = -1;
    try {
      const saved = await applyToStored((fresh) => {
        const others = fresh.filter((r) => r.id !== draft.original);
        const reply: CannedReply = {
          id: draft.idTouched ? draft.id.trim() : autoId(draft.title, others),
          title: draft.title,
          body_es: draft.body_es,
          body_en: draft.body_en,
        };
        at = draft.original === null ? -1 : fresh.findIndex((r) => r.id === draft.original);
        next = at < 0 ? [...fresh, reply] : fresh.map((r, i) => (i === at ? reply : r));
        if (at < 0) at = next.length - 1;
        return next;
      });
      const title = draft.title;
      setItems(saved);
      setNotice(() => (x: CannedWords) => x.saved(title));
      close();
    } catch (err) {
      // The form keeps everything typed; the refusal goes next to the field it names.
      const where = err instanceof ApiError && err.status === 400 ? fieldOf(err.field) : null;
      if (where && where[0] === at && ['id', 'title', 'body_es', 'body_en'].includes(where[1])) {
        setErrors({ [where[1]]: (err as ApiError).message });
        setFormError(() => (x: CannedWords) => x.fixErrors);
      } else if (where && next[where[0]]) {
        // Another stored reply is refused (only if the desk's rules got stricter): say which.
        const other = next[where[0]].title;
        const msg = (err as ApiError).message;
        setFormError(() => (x: CannedWords) => `${other}: ${refusal(x, msg)}`);
      } else setFormError(failure(err));
    } finally {
      setBusy(false);
    }
  }

  // A change of the list outside the form (delete, move), applied to the stored list.
  async function change(apply: (fresh: CannedReply[]) => CannedReply[], done: Note) {
    setBusy(true);
    setNotice(null);
    setListError(null);
    try {
      setItems(await applyToStored(apply));
      setNotice(() => done);
    } catch (err) {
      setListError(failure(err));
    } finally {
      setBusy(false);
      setConfirming(null);
    }
  }

  function remove(reply: CannedReply) {
    const title = reply.title;
    void change((fresh) => fresh.filter((r) => r.id !== reply.id), (x) => x.removed(title)).then(() =>
      requestAnimationFrame(() => addButton.current?.focus()),
    );
  }

  // The focus stays on the moved reply's arrow (the other one at the end of the list).
  const arrows = useRef(new Map<string, [HTMLButtonElement | null, HTMLButtonElement | null]>());
  const arrow = (id: string, side: 0 | 1) => (b: HTMLButtonElement | null) => {
    const pair = arrows.current.get(id) ?? [null, null];
    pair[side] = b;
    arrows.current.set(id, pair);
  };
  function move(reply: CannedReply, by: -1 | 1) {
    const refocus = () =>
      requestAnimationFrame(() => {
        const [up, down] = arrows.current.get(reply.id) ?? [null, null];
        const [same, other] = by < 0 ? [up, down] : [down, up];
        (same && !same.disabled ? same : other)?.focus();
      });
    void change((fresh) => {
      const i = fresh.findIndex((r) => r.id === reply.id);
      const j = i + by;
      if (i < 0 || j < 0 || j >= fresh.length) return fresh;
      const copy = [...fresh];
      [copy[i], copy[j]] = [copy[j], copy[i]];
      return copy;
    }, (x) => x.moved).then(refocus);
  }

  const err = (key: Key) =>
    errors[key] ? (
      <span class="field-error" id={`canned-error-${key}`} data-testid={`canned-error-${key}`}>
        {refusal(w, errors[key]!)}
      </span>
    ) : null;
  const described = (key: Key, hint?: string) => [errors[key] ? `canned-error-${key}` : '', hint ?? ''].filter(Boolean).join(' ') || undefined;
  const locked = draft !== null || busy;

  return (
    <div class="canned-page" data-testid="canned-page">
      <div class="canned-head">
        <div>
          <h1>{w.title}</h1>
          <p class="muted">{w.lead}</p>
        </div>
        <button type="button" class="primary" ref={addButton} disabled={locked || items === null} onClick={() => open(null)} data-testid="canned-add">
          + {w.add}
        </button>
      </div>

      <div aria-live="polite">
        {notice && (
          <p class="notice" data-testid="canned-notice">
            {notice(w)}
          </p>
        )}
      </div>
      {listError && (
        <p class="error" role="alert" data-testid="canned-list-error">
          {listError(w)}
        </p>
      )}

      {draft && (
        <form class="card canned-form form-grid" onSubmit={save} aria-labelledby="canned-form-title" data-testid="canned-form" noValidate>
          <h2 id="canned-form-title">{draft.original === null ? w.newTitle : w.editTitle(items?.find((r) => r.id === draft.original)?.title ?? draft.title)}</h2>
          <div class="canned-field">
            <label for="canned-title">{w.fieldTitle}</label>
            <input
              ref={titleInput}
              id="canned-title"
              name="title"
              required
              value={draft.title}
              aria-invalid={errors.title ? 'true' : undefined}
              aria-describedby={described('title', 'canned-title-hint')}
              onInput={(e) => edit('title', e.currentTarget.value)}
              data-testid="canned-title"
            />
            <span id="canned-title-hint" class="hint muted">
              {w.titleHint}
            </span>
            {err('title')}
          </div>
          <div class="canned-field">
            <label for="canned-id">{w.fieldId}</label>
            <input
              id="canned-id"
              name="id"
              required
              readOnly={draft.original !== null}
              value={draft.idTouched ? draft.id : autoId(draft.title, items ?? [])}
              aria-invalid={errors.id ? 'true' : undefined}
              aria-describedby={described('id', 'canned-id-hint')}
              onInput={(e) => edit('id', e.currentTarget.value)}
              data-testid="canned-id"
            />
            <span id="canned-id-hint" class="hint muted">
              {draft.original === null ? w.idHint : w.idFixed}
            </span>
            {err('id')}
          </div>
          <p id="canned-body-hint" class="hint muted">
            {w.bodyHint}
          </p>
          <div class="canned-bodies">
            {(['es', 'en'] as const).map((code) => {
              const key: Key = code === 'es' ? 'body_es' : 'body_en';
              return (
                <div class="canned-field" key={code}>
                  <label for={`canned-${key}`}>{code === 'es' ? w.bodyEs : w.bodyEn}</label>
                  <textarea
                    id={`canned-${key}`}
                    name={key}
                    lang={code}
                    rows={6}
                    value={draft[key]}
                    aria-invalid={errors[key] ? 'true' : undefined}
                    aria-describedby={described(key, 'canned-body-hint')}
                    onInput={(e) => edit(key, e.currentTarget.value)}
                    data-testid={`canned-body-${code}`}
                  />
                  {err(key)}
                </div>
              );
            })}
          </div>
          {formError && (
            <p class="error" role="alert" data-testid="canned-form-error">
              {formError(w)}
            </p>
          )}
          <div class="canned-actions">
            <button type="submit" class="primary" disabled={busy} data-testid="canned-save">
              {busy ? w.saving : w.save}
            </button>
            <button type="button" disabled={busy} onClick={close} data-testid="canned-cancel">
              {w.cancel}
            </button>
          </div>
        </form>
      )}

      {loadError ? (
        <div class="error" role="alert" data-testid="canned-load-error">
          {loadError(w)}{' '}
          <button type="button" onClick={load}>
            {w.retry}
          </button>
        </div>
      ) : items === null ? (
        <p class="muted" role="status">
          …
        </p>
      ) : items.length === 0 ? (
        <p class="empty" data-testid="canned-empty">
          {w.empty}
        </p>
      ) : (
        <section aria-labelledby="canned-list-title">
          <h2 id="canned-list-title" class="sr-only">
            {w.title}
          </h2>
          <p class="muted canned-count">{w.count(items.length)}</p>
          <ol class="canned-list" data-testid="canned-list">
            {items.map((r, i) => (
              <li key={r.id} class="card canned-item" data-testid="canned-item" data-id={r.id}>
                <div class="canned-text">
                  <strong class="canned-title" data-testid="canned-item-title">
                    {r.title}
                  </strong>
                  {(['es', 'en'] as const).map((code) => {
                    const body = code === 'es' ? r.body_es : r.body_en;
                    return (
                      <p class="canned-preview" key={code} data-testid={`canned-preview-${code}`}>
                        <span class="badge" aria-hidden="true">
                          {code.toUpperCase()}
                        </span>{' '}
                        <span class="sr-only">{code === 'es' ? w.bodyEs : w.bodyEn}: </span>
                        {body.trim() ? <span lang={code}>{preview(body)}</span> : <span class="muted">{w.noText}</span>}
                      </p>
                    );
                  })}
                </div>
                {confirming === r.id ? (
                  <div class="canned-confirm" role="group" aria-labelledby={`canned-confirm-${i}`} data-testid="canned-confirm">
                    <p id={`canned-confirm-${i}`}>{w.confirmRemove(r.title)}</p>
                    <div class="canned-actions">
                      <button type="button" class="danger" disabled={busy} onClick={() => remove(r)} data-testid="canned-confirm-yes">
                        {w.confirmYes}
                      </button>
                      <button type="button" ref={keepButton} disabled={busy} onClick={() => setConfirming(null)} data-testid="canned-confirm-no">
                        {w.keep}
                      </button>
                    </div>
                  </div>
                ) : (
                  <div class="canned-actions">
                    <button
                      type="button"
                      ref={arrow(r.id, 0)}
                      aria-label={w.moveUpOf(r.title)} title={w.moveUp} disabled={locked || i === 0} onClick={() => move(r, -1)} data-testid="canned-up">
                      <span aria-hidden="true">↑</span>
                    </button>
                    <button
                      type="button"
                      ref={arrow(r.id, 1)}
                      aria-label={w.moveDownOf(r.title)}
                      title={w.moveDown}
                      disabled={locked || i === items.length - 1}
                      onClick={() => move(r, 1)}
                      data-testid="canned-down"
                    >
                      <span aria-hidden="true">↓</span>
                    </button>
                    <button type="button" aria-label={w.editOf(r.title)} disabled={locked} onClick={() => open(r)} data-testid="canned-edit">
                      {w.edit}
                    </button>
                    <button type="button" aria-label={w.removeOf(r.title)} disabled={locked} onClick={() => setConfirming(r.id)} data-testid="canned-remove">
                      {w.remove}
                    </button>
                  </div>
                )}
              </li>
            ))}
          </ol>
        </section>
      )}
    </div>
  );
}
