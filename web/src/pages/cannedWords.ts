// Words of the canned-replies page (/canned-replies) in Spanish and English, kept beside the
// page and in its chunk; the navigation link's label and the "not allowed" text stay in
// i18n.ts because the shell shows them without loading the page.
import type { Lang } from '../i18n';

const es = {
  title: 'Respuestas guardadas',
  lead: 'Textos que los agentes insertan en la respuesta de un caso. El orden de esta lista es el del selector del caso.',
  add: 'Nueva respuesta',
  empty: 'Aún no hay respuestas guardadas.',
  count: (n: number) => (n === 1 ? '1 respuesta' : `${n} respuestas`),
  edit: 'Editar',
  remove: 'Eliminar',
  moveUp: 'Subir',
  moveDown: 'Bajar',
  moveUpOf: (t: string) => `Subir «${t}»`,
  moveDownOf: (t: string) => `Bajar «${t}»`,
  editOf: (t: string) => `Editar «${t}»`,
  removeOf: (t: string) => `Eliminar «${t}»`,
  confirmRemove: (t: string) => `¿Eliminar «${t}»? Los agentes dejarán de verla.`,
  confirmYes: 'Sí, eliminar',
  keep: 'No, conservarla',
  removed: (t: string) => `Se eliminó «${t}».`,
  saved: (t: string) => `Se guardó «${t}».`,
  moved: 'Orden guardado.',
  newTitle: 'Nueva respuesta guardada',
  editTitle: (t: string) => `Editar «${t}»`,
  fieldTitle: 'Título',
  titleHint: 'Lo que el agente ve en el selector. Hasta 120 bytes.',
  fieldId: 'Identificador',
  idHint: 'Letras minúsculas, cifras, - o _. Sale del título; no cambia después de crearla.',
  idFixed: 'No cambia: los casos y las integraciones la nombran así.',
  bodyEs: 'Texto en español',
  bodyEn: 'Texto en inglés',
  bodyHint: 'Al menos uno de los dos. Marcadores: {{case}}, {{customer}}, {{agent}}, {{subject}}, {{account}}.',
  noText: '(sin texto)',
  save: 'Guardar',
  saving: 'Guardando…',
  cancel: 'Cancelar',
  fixErrors: 'No se guardó: revise los campos marcados. Lo escrito se conserva.',
  failed: 'No se pudo guardar. Lo escrito se conserva; vuelva a intentarlo.',
  loadFailed: 'No se pudieron cargar las respuestas guardadas.',
  retry: 'Reintentar',
  forbidden: 'Solo supervisores y administradores pueden cambiar las respuestas guardadas.',
  tooLong: (max: string) => `Es demasiado largo: como máximo ${max} bytes (las letras con tilde cuentan doble).`,
  required: 'Es obligatorio.',
  notEmpty: 'No puede quedar vacío.',
  badId: 'Solo letras minúsculas sin tilde, cifras, - o _.',
  duplicateId: (id: string) => `Ya hay otra respuesta con el identificador «${id}».`,
  unknownPlaceholder: (p: string) => `Marcador desconocido ${p}. Los válidos: {{case}}, {{customer}}, {{agent}}, {{subject}}, {{account}}.`,
  unclosed: 'Hay un {{ sin su }} de cierre.',
  needsText: 'Escriba el texto en español, en inglés o en ambos.',
  tooMany: (n: string) => `No caben más: el máximo es ${n} respuestas guardadas.`,
};

export type CannedWords = typeof es;

const en: CannedWords = {
  title: 'Saved replies',
  lead: 'Texts agents insert into the reply of a case. The order of this list is the order of the case page’s picker.',
  add: 'New reply',
  empty: 'No saved replies yet.',
  count: (n) => (n === 1 ? '1 reply' : `${n} replies`),
  edit: 'Edit',
  remove: 'Delete',
  moveUp: 'Move up',
  moveDown: 'Move down',
  moveUpOf: (t) => `Move “${t}” up`,
  moveDownOf: (t) => `Move “${t}” down`,
  editOf: (t) => `Edit “${t}”`,
  removeOf: (t) => `Delete “${t}”`,
  confirmRemove: (t) => `Delete “${t}”? Agents will no longer see it.`,
  confirmYes: 'Yes, delete',
  keep: 'No, keep it',
  removed: (t) => `“${t}” was deleted.`,
  saved: (t) => `“${t}” was saved.`,
  moved: 'Order saved.',
  newTitle: 'New saved reply',
  editTitle: (t) => `Edit “${t}”`,
  fieldTitle: 'Title',
  titleHint: 'What agents see in the picker. Up to 120 bytes.',
  fieldId: 'Identifier',
  idHint: 'Lower-case letters, digits, - or _. Made from the title; it does not change once created.',
  idFixed: 'It does not change: cases and integrations name the reply by it.',
  bodyEs: 'Spanish text',
  bodyEn: 'English text',
  bodyHint: 'At least one of the two. Placeholders: {{case}}, {{customer}}, {{agent}}, {{subject}}, {{account}}.',
  noText: '(no text)',
  save: 'Save',
  saving: 'Saving…',
  cancel: 'Cancel',
  fixErrors: 'Not saved: check the marked fields. What you typed is kept.',
  failed: 'Could not save. What you typed is kept; try again.',
  loadFailed: 'Could not load the saved replies.',
  retry: 'Try again',
  forbidden: 'Only supervisors and administrators may change saved replies.',
  tooLong: (max) => `Too long: at most ${max} bytes (accented letters count twice).`,
  required: 'Required.',
  notEmpty: 'Must not be empty.',
  badId: 'Only lower-case letters without accents, digits, - or _.',
  duplicateId: (id) => `Another reply already has the identifier “${id}”.`,
  unknownPlaceholder: (p) => `Unknown placeholder ${p}. Valid ones: {{case}}, {{customer}}, {{agent}}, {{subject}}, {{account}}.`,
  unclosed: 'A {{ has no closing }}.',
  needsText: 'Write the text in Spanish, in English or both.',
  tooMany: (n) => `No room: at most ${n} saved replies.`,
};

export function cannedWords(l: Lang): CannedWords {
  return l === 'en' ? en : es;
}

// The desk's refusal (api.cpp → ConfigService::put_canned_replies, English) in the viewer's
// language; a message this list does not know is shown as the desk wrote it.
export function refusal(w: CannedWords, message: string): string {
  let x: RegExpExecArray | null;
  if ((x = /^is too long \(at most (\d+) bytes\)/.exec(message))) return w.tooLong(x[1]);
  if (message === 'is required') return w.required;
  if (message === 'must not be empty') return w.notEmpty;
  if (/^must be lower-case letters/.test(message)) return w.badId;
  if ((x = /^repeats the id '(.*)'$/.exec(message))) return w.duplicateId(x[1]);
  if ((x = /^has an unknown placeholder (\{\{.*?\}\})/.exec(message))) return w.unknownPlaceholder(x[1]);
  if (/^has a \{\{ without a closing \}\}/.test(message)) return w.unclosed;
  if (/^needs a text in Spanish or in English/.test(message)) return w.needsText;
  if ((x = /^has more than (\d+) canned replies/.exec(message))) return w.tooMany(x[1]);
  return message;
}

// An identifier from a title: "Recibido, en revisión" → "recibido-en-revision".
export function slugOf(title: string): string {
  return title
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
}
