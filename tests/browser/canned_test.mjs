// Browser test of the canned-replies editor (/canned-replies, issue 5) and of the sign-in
// page's accessibility: a real `escala serve` (port 0, SQLite in a temporary data directory)
// driven by playwright-core in Debian's Chromium.
//
// axe-core on the sign-in page (empty, and showing a refused sign-in; Spanish and English):
// no violation at all. A supervisor opens "Respuestas guardadas" from the header (the page's
// own chunk is fetched then, not before), creates two replies, is refused a duplicate
// identifier and an over-long title next to the field each names without losing what was
// typed (the refusal follows the language switch), fixes the title and saves the edit, moves
// a reply up, and deletes one after a confirmation; every step is checked against
// GET /api/v1/canned-replies. axe-core on the page (list, form with an error): no violation.
// An agent has no link, is told the page is not for agents (without the chunk) and the desk
// refuses the agent's PUT. Screenshot canned-replies.png.
//
//   node tests/browser/canned_test.mjs            (after `make build`)
//
// Environment: see desk.mjs. Exits 0 on success, 1 on a failure, 77 when a prerequisite is
// missing.
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { ADMIN, ARTIFACTS, launchChromium, prerequisites, runTest, startDesk } from './desk.mjs';

const SUPERVISOR = { email: 'sol@desk.example', password: 'super-password-1', name: 'Sol Supervisora' };
const AGENT = { email: 'ana@desk.example', password: 'agent-password-1', name: 'Ana Agente' };

const { chromium, axeSource } = prerequisites();
const desk = await startDesk({ prefix: 'escala-canned-' });
const { api } = desk;
let base;
let browser;

// axe-core on the page as it stands: any violation fails, whatever its impact (stricter than
// desk.mjs's A11y, which fails on serious and critical ones only).
const axeReport = [];
async function checkA11y(page, name) {
  if (!axeSource) return;
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  axeReport.push(`${name}: ${result.length} violation(s)${result.length ? ' — ' + result.map((v) => `${v.id} (${v.impact})`).join(', ') : ''}`);
  assert.deepEqual(result, [], `axe: accessibility violations on ${name}`);
}

const text = async (page, sel) => ((await page.locator(sel).textContent()) ?? '').trim();

// A console in a context of its own (cold cache); `scripts` collects every script fetched.
async function consoleOf() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'es-MX', timezoneId: 'America/Mexico_City' });
  const page = await context.newPage();
  page.scripts = [];
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (u.pathname.endsWith('.js')) page.scripts.push(u.pathname);
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  return page;
}
const pageErrors = [];
const dialogs = [];

async function signIn(page, who) {
  await page.goto(base + '/signin');
  await page.fill('input[name=email]', who.email);
  await page.fill('input[name=password]', who.password);
  await page.click('button[type=submit]');
  await page.waitForURL((u) => u.pathname === '/cases');
}

// Saves the open form and waits for the page to say so.
async function saveAndWait(page, notice) {
  await page.click('[data-testid=canned-save]');
  await page.locator('[data-testid=canned-notice]', { hasText: notice }).waitFor();
  assert.equal(await page.locator('[data-testid=canned-form]').count(), 0, 'the form closed after saving');
}

async function main() {
  base = desk.base;
  const admin = (await api('POST', '/auth/login', ADMIN)).token;
  await api('POST', '/users', { email: SUPERVISOR.email, name: SUPERVISOR.name, role: 'supervisor', password: SUPERVISOR.password, language: 'es' }, admin);
  await api('POST', '/users', { email: AGENT.email, name: AGENT.name, role: 'agent', level: 1, password: AGENT.password, language: 'es' }, admin);
  const stored = async () => (await api('GET', '/canned-replies', undefined, admin)).items;

  browser = await launchChromium(chromium);

  // ---- the sign-in page: axe, as it opens and with a refusal, in both languages ----
  const sup = await consoleOf();
  await sup.goto(base + '/signin');
  await sup.waitForSelector('[data-testid=signin-form]');
  await checkA11y(sup, 'sign-in (es)');
  await sup.fill('input[name=email]', SUPERVISOR.email);
  await sup.fill('input[name=password]', 'not-the-password');
  await sup.click('button[type=submit]');
  await sup.waitForSelector('[data-testid=signin-error]');
  await checkA11y(sup, 'sign-in with an error (es)');
  await sup.click('[data-testid=lang-en]');
  await sup.locator('h1', { hasText: 'Sign in' }).waitFor();
  assert.equal(await sup.evaluate(() => document.documentElement.lang), 'en');
  await checkA11y(sup, 'sign-in with an error (en)');
  await sup.click('[data-testid=lang-es]');

  // ---- the supervisor: the link in the header, the page's own chunk ----
  await signIn(sup, SUPERVISOR);
  await sup.waitForSelector('[data-testid=queue-title]');
  const firstLoad = [...sup.scripts];
  assert.ok(!firstLoad.some((s) => /CannedReplies/.test(s)), `the first load fetched the editor: ${firstLoad}`);
  await sup.click('[data-testid=canned-link]');
  await sup.waitForURL(base + '/canned-replies');
  await sup.waitForSelector('[data-testid=canned-empty]');
  assert.ok(sup.scripts.some((s) => /CannedReplies/.test(s)), `the editor's chunk was not fetched: ${sup.scripts}`);
  assert.equal(await text(sup, 'h1'), 'Respuestas guardadas');

  // ---- two replies made through the page ----
  await sup.click('[data-testid=canned-add]');
  assert.equal(await sup.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'canned-title', 'the title has the focus');
  await sup.fill('[data-testid=canned-title]', 'Recibido, en revisión');
  assert.equal(await sup.inputValue('[data-testid=canned-id]'), 'recibido-en-revision', 'the identifier is made from the title');
  await sup.fill('[data-testid=canned-body-es]', 'Hola {{customer}}: registramos su reporte {{case}} y ya lo estamos revisando.');
  await sup.fill('[data-testid=canned-body-en]', 'Hello {{customer}}: we logged your report {{case}} and are looking into it.');
  await saveAndWait(sup, 'Se guardó «Recibido, en revisión».');
  assert.deepEqual(await stored(), [{
    id: 'recibido-en-revision', title: 'Recibido, en revisión',
    body_es: 'Hola {{customer}}: registramos su reporte {{case}} y ya lo estamos revisando.',
    body_en: 'Hello {{customer}}: we logged your report {{case}} and are looking into it.',
  }]);

  await sup.click('[data-testid=canned-add]');
  await sup.fill('[data-testid=canned-title]', 'Necesitamos la hora');
  await sup.fill('[data-testid=canned-body-es]', '¿Nos confirma la hora aproximada del evento ({{case}})?');
  await saveAndWait(sup, 'Se guardó «Necesitamos la hora».');
  const two = await stored();
  assert.deepEqual(two.map((r) => [r.id, r.title, r.body_en]),
    [['recibido-en-revision', 'Recibido, en revisión', 'Hello {{customer}}: we logged your report {{case}} and are looking into it.'],
      ['necesitamos-la-hora', 'Necesitamos la hora', '']]);
  assert.deepEqual(await sup.locator('[data-testid=canned-item-title]').allTextContents(), ['Recibido, en revisión', 'Necesitamos la hora']);
  assert.match(await text(sup, '[data-id=necesitamos-la-hora] [data-testid=canned-preview-es]'), /Nos confirma la hora aproximada/);
  assert.match(await text(sup, '[data-id=necesitamos-la-hora] [data-testid=canned-preview-en]'), /sin texto/);
  await checkA11y(sup, '/canned-replies with two replies');

  // ---- a typed identifier the desk already has: refused next to it, nothing lost ----
  await sup.click('[data-testid=canned-add]');
  await sup.fill('[data-testid=canned-title]', 'Otra hora');
  await sup.fill('[data-testid=canned-id]', 'necesitamos-la-hora');
  await sup.fill('[data-testid=canned-body-es]', 'Texto que no debe perderse.');
  await sup.click('[data-testid=canned-save]');
  await sup.waitForSelector('[data-testid=canned-error-id]');
  assert.equal(await text(sup, '[data-testid=canned-error-id]'), 'Ya hay otra respuesta con el identificador «necesitamos-la-hora».');
  assert.equal(await sup.getAttribute('[data-testid=canned-id]', 'aria-invalid'), 'true');
  assert.equal(await sup.inputValue('[data-testid=canned-body-es]'), 'Texto que no debe perderse.');
  assert.equal(await sup.inputValue('[data-testid=canned-title]'), 'Otra hora');
  assert.deepEqual(await stored(), two, 'the refused PUT changed nothing');
  await sup.click('[data-testid=canned-cancel]');
  await sup.waitForSelector('[data-testid=canned-form]', { state: 'detached' });

  // ---- an edit with an over-long title: the desk's refusal by the title, the body kept ----
  await sup.click('[data-id=necesitamos-la-hora] [data-testid=canned-edit]');
  assert.equal(await sup.inputValue('[data-testid=canned-title]'), 'Necesitamos la hora');
  assert.equal(await sup.getAttribute('[data-testid=canned-id]', 'readonly'), '');
  const editedEs = '¿Nos confirma la fecha y la hora aproximadas del evento ({{case}})? Gracias, {{agent}}.';
  const editedEn = 'Could you confirm the approximate date and time of the event ({{case}})?';
  await sup.fill('[data-testid=canned-body-es]', editedEs);
  await sup.fill('[data-testid=canned-body-en]', editedEn);
  const longTitle = 'Necesitamos la fecha y la hora exactas del evento '.repeat(3);  // 150 bytes
  await sup.fill('[data-testid=canned-title]', longTitle);
  await sup.click('[data-testid=canned-save]');
  await sup.waitForSelector('[data-testid=canned-error-title]');
  assert.equal(await text(sup, '[data-testid=canned-error-title]'),
    'Es demasiado largo: como máximo 120 bytes (las letras con tilde cuentan doble).');
  assert.equal(await sup.getAttribute('[data-testid=canned-title]', 'aria-invalid'), 'true');
  assert.match(await sup.getAttribute('[data-testid=canned-title]', 'aria-describedby'), /canned-error-title/);
  assert.match(await text(sup, '[data-testid=canned-form-error]'), /Lo escrito se conserva/);
  assert.equal(await sup.inputValue('[data-testid=canned-title]'), longTitle);
  assert.equal(await sup.inputValue('[data-testid=canned-body-es]'), editedEs, 'the typed body was lost');
  assert.equal(await sup.inputValue('[data-testid=canned-body-en]'), editedEn, 'the typed body was lost');
  assert.deepEqual(await stored(), two, 'the refused PUT changed nothing');
  await checkA11y(sup, '/canned-replies, form with a refused title');
  await sup.screenshot({ path: join(ARTIFACTS, 'canned-replies.png'), fullPage: true });
  // The refusal follows the language switch.
  await sup.click('[data-testid=lang-en]');
  await sup.locator('[data-testid=canned-error-title]', { hasText: 'Too long: at most 120 bytes' }).waitFor();
  assert.equal(await sup.inputValue('[data-testid=canned-body-es]'), editedEs);
  await sup.click('[data-testid=lang-es]');
  // Fixed: the edit is saved, the identifier unchanged.
  await sup.fill('[data-testid=canned-title]', 'Necesitamos fecha y hora');
  assert.equal(await sup.locator('[data-testid=canned-error-title]').count(), 0, 'the error stays after the title changed');
  await saveAndWait(sup, 'Se guardó «Necesitamos fecha y hora».');
  assert.deepEqual(await stored(), [two[0],
    { id: 'necesitamos-la-hora', title: 'Necesitamos fecha y hora', body_es: editedEs, body_en: editedEn }]);

  // ---- reorder: the second reply up ----
  assert.ok(await sup.locator('[data-id=necesitamos-la-hora] [data-testid=canned-down]').isDisabled(), 'the last reply can move down');
  await sup.click('[data-id=necesitamos-la-hora] [data-testid=canned-up]');
  await sup.locator('[data-testid=canned-notice]', { hasText: 'Orden guardado.' }).waitFor();
  assert.deepEqual((await stored()).map((r) => r.id), ['necesitamos-la-hora', 'recibido-en-revision']);
  // The focus stays with the moved reply (its up arrow is disabled at the top: the down one).
  await sup.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Bajar «Necesitamos fecha y hora»');
  assert.deepEqual(await sup.locator('[data-testid=canned-item-title]').allTextContents(), ['Necesitamos fecha y hora', 'Recibido, en revisión']);

  // ---- delete, after a confirmation (first declined) ----
  const received = sup.locator('[data-id=recibido-en-revision]');
  await received.locator('[data-testid=canned-remove]').click();
  assert.match(await text(sup, '[data-testid=canned-confirm]'), /¿Eliminar «Recibido, en revisión»\?/);
  assert.equal(await sup.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'canned-confirm-no');
  await checkA11y(sup, '/canned-replies, confirming a deletion');
  await sup.click('[data-testid=canned-confirm-no]');
  assert.equal((await stored()).length, 2, 'declining deleted the reply');
  await received.locator('[data-testid=canned-remove]').click();
  await sup.click('[data-testid=canned-confirm-yes]');
  await sup.locator('[data-testid=canned-notice]', { hasText: 'Se eliminó «Recibido, en revisión».' }).waitFor();
  assert.deepEqual(await stored(), [{ id: 'necesitamos-la-hora', title: 'Necesitamos fecha y hora', body_es: editedEs, body_en: editedEn }]);
  assert.deepEqual(await sup.locator('[data-testid=canned-item-title]').allTextContents(), ['Necesitamos fecha y hora']);
  // After a reload the page shows what the desk has.
  await sup.reload();
  await sup.locator('[data-testid=canned-item-title]').first().waitFor();
  assert.deepEqual(await sup.locator('[data-testid=canned-item-title]').allTextContents(), ['Necesitamos fecha y hora']);
  await checkA11y(sup, '/canned-replies with one reply');

  // ---- another supervisor saves between the page's read and its save: nothing lost ----
  // The page's PUT is held until an administrator has saved through the API; the desk then
  // refuses the page's stale version (409) and the page applies its change to the new list.
  const puts = [];
  const byAdmin = { id: 'cierre', title: 'Cierre', body_es: 'Quedamos atentos.', body_en: '' };
  await sup.route('**/api/v1/canned-replies', async (route) => {
    if (route.request().method() !== 'PUT') return route.continue();
    if (puts.length === 0) {
      const now = await api('GET', '/canned-replies', undefined, admin);
      await api('PUT', '/canned-replies', { items: [...now.items, byAdmin], version: now.version }, admin);
    }
    const response = await route.fetch();
    puts.push(response.status());
    await route.fulfill({ response });
  });
  await sup.click('[data-testid=canned-add]');
  await sup.fill('[data-testid=canned-title]', 'Gracias');
  await sup.fill('[data-testid=canned-body-es]', 'Gracias por su paciencia.');
  await saveAndWait(sup, 'Se guardó «Gracias».');
  await sup.unroute('**/api/v1/canned-replies');
  assert.deepEqual(puts, [409, 200], 'the stale save was refused, then applied to the new list');
  assert.deepEqual((await stored()).map((r) => r.id), ['necesitamos-la-hora', 'cierre', 'gracias']);
  assert.deepEqual(await sup.locator('[data-testid=canned-item-title]').allTextContents(),
    ['Necesitamos fecha y hora', 'Cierre', 'Gracias']);
  // Back to the one reply the next steps expect.
  const back = await api('GET', '/canned-replies', undefined, admin);
  await api('PUT', '/canned-replies', { items: back.items.slice(0, 1), version: back.version }, admin);

  // ---- an agent: no link, no page, no chunk; the desk refuses the agent's PUT ----
  const ana = await consoleOf();
  await signIn(ana, AGENT);
  await ana.waitForSelector('[data-testid=queue-title]');
  assert.equal(await ana.locator('[data-testid=canned-link]').count(), 0, 'an agent sees the canned-replies link');
  await ana.goto(base + '/canned-replies');
  await ana.waitForSelector('[data-testid=canned-forbidden]');
  assert.equal(await text(ana, '[data-testid=canned-forbidden]'),
    'Solo supervisores y administradores pueden cambiar las respuestas guardadas.');
  assert.equal(await ana.locator('[data-testid=canned-form], [data-testid=canned-add], [data-testid=canned-edit]').count(), 0);
  assert.ok(!ana.scripts.some((s) => /CannedReplies/.test(s)), `an agent fetched the editor's chunk: ${ana.scripts}`);
  await checkA11y(ana, '/canned-replies as an agent');
  const agentToken = (await api('POST', '/auth/login', { email: AGENT.email, password: AGENT.password })).token;
  const refused = await desk.raw('PUT', '/canned-replies', { items: [] }, agentToken);
  assert.equal(refused.status, 403);
  assert.equal(refused.json.error.code, 'forbidden');
  assert.equal((await stored()).length, 1, "the agent's PUT changed the list");

  assert.deepEqual(dialogs, [], 'a dialog opened');
  assert.deepEqual(pageErrors, [], 'a page threw');
  if (axeSource) console.log(`axe-core:\n  ${axeReport.join('\n  ')}`);
  console.log(`screenshot: ${join(ARTIFACTS, 'canned-replies.png')}`);
}

await runTest('browser canned-replies test', desk, main, () => browser);
