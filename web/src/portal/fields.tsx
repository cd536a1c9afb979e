// The deck's required data (R2.1, R2.2) as form fields: one input per field spec from the
// desk (GET /api/v1/fields/{type}), the value typed turned into what the API takes, and a
// stored value shown to people. The desk validates and normalises; this only helps.
import type { Case, FieldSpec } from './api';
import { dateTime } from '../format';
import { label, type Lang, type Messages } from './i18n';

export function fieldLabel(spec: FieldSpec | undefined, name: string, l: Lang): string {
  if (!spec) return name;
  return l === 'en' ? spec.label_en : spec.label_es;
}

// Whether a field applies given the values so far (the Teams email only for Teams).
export function applies(spec: FieldSpec, values: Record<string, unknown>): boolean {
  if (spec.name === 'teams_email') return values.extension_type === 'teams';
  return true;
}

// The API's value for a typed value, or undefined when nothing usable was typed.
export function toApi(name: string, v: string): unknown {
  const t = v.trim();
  if (t === '') return undefined;
  if (name === 'direct_number') return t === 'true';
  if (name === 'ring_groups') {
    if (/^(none|ninguno|ninguna|no|-)$/i.test(t)) return [];
    return t
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  }
  if (name === 'occurred_at') {
    const d = new Date(t); // datetime-local: the viewer's zone
    return isNaN(d.getTime()) ? t : d.toISOString();
  }
  return t;
}

// The typed values that the API will take, as its `fields` object. `known` holds values
// already stored on the case, which decide what applies (a stored Teams extension type
// makes the Teams email apply).
export function fieldsOf(values: Record<string, string>, specs: FieldSpec[], known: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const context = { ...known, ...values };
  for (const s of specs) {
    if (!applies(s, context)) continue;
    const v = toApi(s.name, values[s.name] ?? '');
    if (v !== undefined) out[s.name] = v;
  }
  return out;
}

export function showValue(name: string, v: unknown, m: Messages, l: Lang): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return v ? m.yes : m.no;
  if (Array.isArray(v)) return v.length ? v.map(String).join(', ') : m.none;
  if (name === 'occurred_at' && typeof v === 'string') return dateTime(v, l);
  if (name === 'direction' || name === 'extension_type') return label(m, 'choice.' + String(v));
  return typeof v === 'string' ? v : JSON.stringify(v);
}

// "Extension, Counterpart number" for a list of field names.
export function namesOf(names: string[], specs: FieldSpec[], l: Lang): string {
  return names.map((n) => fieldLabel(specs.find((s) => s.name === n), n, l)).join(', ');
}

// The field's error from the desk ("fields.extension") when it names this field.
export function errorFor(field: string | undefined, name: string): boolean {
  return field === `fields.${name}` || field === name;
}

// The desk's refusal of a field's value in the reader's words, with the desk's own words
// after them (they may say more, e.g. the list of choices).
export function invalidText(name: string, message: string, m: Messages): string {
  const ours = label(m, 'invalid.' + name);
  return ours === name ? message : `${ours} (${message})`;
}

export function FieldInput(props: {
  spec: FieldSpec;
  m: Messages;
  l: Lang;
  value: string;
  missing: boolean;
  error?: string;
  onChange: (v: string) => void;
}) {
  const { spec, m, l, value, missing, error, onChange } = props;
  const name = spec.name;
  const id = `f-${name}`;
  const hintId = `${id}-hint`;
  const errId = `${id}-err`;
  const describedBy = [name === 'ring_groups' ? hintId : '', error ? errId : ''].filter(Boolean).join(' ') || undefined;
  const common = {
    id,
    name,
    'data-testid': `input-${name}`,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': describedBy,
  };
  let input;
  if (name === 'direct_number')
    input = (
      <select {...common} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">{m.choose}</option>
        <option value="true">{m.yes}</option>
        <option value="false">{m.no}</option>
      </select>
    );
  else if (spec.choices?.length)
    input = (
      <select {...common} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">{m.choose}</option>
        {spec.choices.map((ch) => (
          <option value={ch} key={ch}>
            {label(m, 'choice.' + ch)}
          </option>
        ))}
      </select>
    );
  else if (name === 'occurred_at')
    input = <input {...common} type="datetime-local" value={value} onInput={(e) => onChange(e.currentTarget.value)} />;
  else
    input = (
      <input
        {...common}
        type={name.endsWith('email') ? 'email' : name === 'counterpart_number' ? 'tel' : 'text'}
        inputMode={name === 'extension' ? 'numeric' : undefined}
        autocomplete="off"
        value={value}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
    );
  return (
    <div class={`pf-field${missing ? ' is-missing' : ''}${error ? ' is-error' : ''}`} data-field={name} data-testid={missing ? 'field-missing' : 'field'}>
      <label for={id}>
        <span>{fieldLabel(spec, name, l)}</span>
        <span class="pf-req">
          {missing ? <span class="pf-missing-tag">{m.missing}</span> : null}
          {spec.required === 'always' ? m.required : m.requiredTeams}
        </span>
      </label>
      {input}
      {name === 'ring_groups' && (
        <small id={hintId} class="pf-hint">
          {m.listHint}
        </small>
      )}
      {error && (
        <small id={errId} class="pf-field-error" role="alert" data-testid={`error-${name}`}>
          {error}
        </small>
      )}
    </div>
  );
}

// What the customer is waiting for, or what the desk waits for from them.
export type StepTone = 'you' | 'team' | 'done';
export function nextStep(c: Case, specs: FieldSpec[], m: Messages, l: Lang): { tone: StepTone; short: string; long: string } {
  switch (c.status) {
    case 'awaiting_info': {
      const list = namesOf(c.missing_fields, specs, l);
      return { tone: 'you', short: m.weNeed(list), long: `${m.weNeed(list)} ${m.stepAwaiting}` };
    }
    case 'pending_customer':
      return { tone: 'you', short: m.stepPendingShort, long: m.stepPending };
    case 'resolved':
      return { tone: 'you', short: m.stepResolvedShort, long: m.stepResolved };
    case 'closed':
      return { tone: 'done', short: m.stepClosedShort, long: m.stepClosed };
    default:
      return { tone: 'team', short: m.stepOpenShort, long: m.stepOpen };
  }
}
