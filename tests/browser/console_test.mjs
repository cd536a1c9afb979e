// Browser test of the web console: a real `escala serve` (port 0, temporary data directory)
// with real data made through the API, driven by playwright-core in Debian's Chromium.
//
//   node tests/browser/console_test.mjs            (after `make build`)
//
// Environment: see desk.mjs. Exits 0 on success, 1 on a failure, 77 when a prerequisite is
// missing (ctest reports it as skipped).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { ADMIN, ARTIFACTS, firstLoadJs, launchChromium, prerequisites, runTest, startDesk } from './desk.mjs';

const JS_BUDGET_GZIP = 250 * 1024; // issue 5: first load below 250 KB of compressed JavaScript
const AGENT = { email: 'ana@desk.example', password: 'agent-password-1', name: 'Ana Agente' };
const NEW_AGENT_PASSWORD = 'otra clave más larga';
const HOSTILE = '<img src=x onerror=alert(1)>';

const { chromium } = prerequisites();
const desk = await startDesk();
const { base, api, browserSession } = desk;
let browser;

async function main() {
  // ---- data through the API, as any client would ----
  const admin = (await api('POST', '/auth/login', ADMIN)).token;
  await api('POST', '/accounts', { code: 'ACME', name: 'Acme Telecom' }, admin);
  await api('POST', '/users', { email: AGENT.email, name: AGENT.name, role: 'agent', level: 1, password: AGENT.password, language: 'es' }, admin);
  const complete = await api('POST', '/cases', {
    type: 'incident', account: 'ACME', subject: 'Extensión 204 sin audio entrante', channel: 'phone',
    description: 'El cliente no escucha a quien llama.',
    fields: { extension: '204', direction: 'inbound', counterpart_number: '+13056445535', occurred_at: '2026-11-26T10:30:00-06:00' },
    impact: { affected: 'one', disruption: 'serious' },
  }, admin);
  const incomplete = await api('POST', '/cases', {
    type: 'incident', account: 'ACME', subject: 'Llamadas salientes cortadas en la sucursal Zafiro', channel: 'phone',
    description: 'Las llamadas se cortan a los 30 segundos.',
    fields: { extension: '310', direction: 'outbound' },
  }, admin);
  assert.deepEqual(incomplete.missing_fields.sort(), ['counterpart_number', 'occurred_at']);
  const hostile = await api('POST', '/cases', {
    type: 'request', account: 'ACME', subject: `Pregunta ${HOSTILE} factura`, channel: 'email',
    description: `<script>alert(2)</script> ${HOSTILE}`,
  }, admin);
  assert.equal(complete.status, 'open');

  // ---- the server's side of the console ----
  const shell = await fetch(base + '/cases/' + incomplete.number, { headers: { Accept: 'text/html' } });
  assert.equal(shell.status, 200);
  assert.match(shell.headers.get('content-security-policy') ?? '', /default-src 'self'.*frame-ancestors 'none'/);
  assert.equal(shell.headers.get('cache-control'), 'no-cache');
  const api404 = await fetch(base + '/nope', { headers: { Accept: 'application/json' } });
  assert.equal(api404.status, 404);
  assert.ok((await api404.json()).error);
  const traversal = await fetch(base + '/assets/%2e%2e/%2e%2e/CMakeLists.txt');
  assert.equal(traversal.status, 404);

  // ---- the browser ----
  // launch() gives Chromium a fresh temporary profile (user-data-dir) and removes it on close.
  browser = await launchChromium(chromium);
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'es-MX' });
  const page = await context.newPage();
  const dialogs = [];
  const pageErrors = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const jsBytes = { raw: 0 };

  // Sign-in: Spanish by default, English on the switch, a clear message on wrong credentials.
  await page.goto(base + '/');
  await page.waitForSelector('[data-testid=signin-form]');
  assert.equal(new URL(page.url()).pathname, '/signin');
  await page.getByRole('heading', { name: 'Iniciar sesión' }).waitFor();
  await page.click('[data-testid=lang-en]');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.fill('input[name=email]', AGENT.email);
  await page.fill('input[name=password]', 'wrong-password');
  await page.click('button[type=submit]');
  const err = await page.waitForSelector('[data-testid=signin-error]');
  assert.equal(await err.textContent(), 'Wrong email or password.');
  await page.click('[data-testid=lang-es]');
  await page.getByRole('heading', { name: 'Iniciar sesión' }).waitFor();
  assert.equal(await page.locator('[data-testid=signin-error]').textContent(), 'Correo o contraseña incorrectos.');
  await page.screenshot({ path: join(ARTIFACTS, 'signin.png') });

  // The queue.
  await page.fill('input[name=password]', AGENT.password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=case-row]');
  assert.equal(new URL(page.url()).pathname, '/cases');
  // Signed in by an HttpOnly, SameSite=Strict cookie: no script can read the token, and
  // nothing of the session is kept in the page's storage.
  const sessionCookie = (await context.cookies(base)).find((c) => c.name === 'escala_session');
  assert.ok(sessionCookie, 'no session cookie');
  assert.equal(sessionCookie.httpOnly, true);
  assert.equal(sessionCookie.sameSite, 'Strict');
  assert.equal(sessionCookie.path, '/');
  assert.ok(sessionCookie.expires > Date.now() / 1000 + 11 * 3600, 'the cookie lives as long as the session');
  const storage = await page.evaluate(() => ({
    cookie: document.cookie,
    local: Object.keys(localStorage).filter((k) => k !== 'escala.lang'),
    session: Object.keys(sessionStorage),
  }));
  assert.deepEqual(storage, { cookie: '', local: [], session: [] });
  // A reload keeps the session (the console asks GET /api/v1/auth/session).
  await page.reload();
  await page.waitForSelector('[data-testid=case-row]');
  assert.equal(new URL(page.url()).pathname, '/cases');
  assert.equal(await page.locator('[data-testid=signin-form]').count(), 0);
  assert.equal(await page.locator('[data-testid=case-row]').count(), 3);
  const hostileRow = page.locator(`[data-testid=case-row][data-number="${hostile.number}"] [data-testid=case-subject]`);
  assert.equal(await hostileRow.textContent(), `Pregunta ${HOSTILE} factura`);
  assert.equal(await page.locator('[data-testid=case-table] img, [data-testid=case-table] script').count(), 0, 'a subject became markup');
  const slaCompleteRow = page.locator(`[data-testid=case-row][data-number="${complete.number}"] [data-testid=sla]`);
  assert.match(await slaCompleteRow.getAttribute('class'), /sla-(ok|warn|breach)/);
  await page.click('[data-testid=sort-sla]');
  assert.equal(await page.locator('[data-testid=case-row]').first().getAttribute('data-number'), complete.number,
    'the only running clock sorts first');
  await page.screenshot({ path: join(ARTIFACTS, 'queue.png'), fullPage: true });

  // Search by a word of the subject, accent- and case-insensitively.
  await page.fill('[data-testid=search]', 'zafiro');
  await page.press('[data-testid=search]', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=case-row]').length === 1);
  assert.equal(await page.locator('[data-testid=case-row]').getAttribute('data-number'), incomplete.number);
  assert.match(page.url(), /q=zafiro/);

  // The case page: missing data highlighted, a reply, an internal note, escalation.
  await page.click(`[data-testid=case-row][data-number="${incomplete.number}"] [data-testid=case-subject]`);
  await page.waitForSelector('[data-testid=case-page]');
  assert.equal(new URL(page.url()).pathname, `/cases/${incomplete.number}`);
  const missing = await page.locator('[data-testid=field-missing]').evaluateAll((els) => els.map((e) => e.dataset.field).sort());
  assert.deepEqual(missing, ['counterpart_number', 'occurred_at']);
  assert.equal(await page.locator('[data-testid=missing-count]').textContent(), 'Faltan 2 datos');
  await page.fill('[data-testid=composer-body]', '¿Nos indica el número marcado y la hora aproximada?');
  await page.click('[data-testid=composer-send]');
  await page.locator('[data-testid=msg-agent]').filter({ hasText: 'número marcado' }).waitFor();
  await page.click('[data-testid=tab-note]');
  await page.fill('[data-testid=composer-body]', 'Revisar troncal de la sucursal.');
  await page.click('[data-testid=composer-send]');
  const note = page.locator('[data-testid=msg-internal]').filter({ hasText: 'troncal' });
  await note.waitFor();
  const [noteBg, replyBg] = await Promise.all([
    note.evaluate((e) => getComputedStyle(e).backgroundColor),
    page.locator('[data-testid=msg-agent]').first().evaluate((e) => getComputedStyle(e).backgroundColor),
  ]);
  assert.notEqual(noteBg, replyBg, 'internal notes look different from replies');
  await page.screenshot({ path: join(ARTIFACTS, 'case.png'), fullPage: true });
  // Fill one of the missing fields; the other stays highlighted.
  await page.fill('[data-testid=input-counterpart_number]', '+52 55 4170 8422');
  await page.click('[data-testid=save-fields]');
  await page.waitForFunction(() => document.querySelector('[data-testid=missing-count]')?.textContent === 'Falta 1 dato');
  assert.equal(await page.locator('[data-field=counterpart_number] dd').textContent(), '+525541708422');
  assert.deepEqual(await page.locator('[data-testid=field-missing]').evaluateAll((els) => els.map((e) => e.dataset.field)),
    ['occurred_at']);
  await page.fill('[data-testid=escalate-reason]', 'Requiere revisión de la troncal (N2).');
  await page.click('[data-testid=escalate]');
  await page.waitForFunction(() => document.querySelector('[data-testid=case-level]')?.textContent === 'N2'
    || document.querySelector('[data-testid=case-missing]') !== null);
  const after = await api('GET', `/cases/${incomplete.number}`, undefined, admin);
  assert.equal(after.level, 2);
  assert.equal(after.fields.counterpart_number, '+525541708422');
  const events = (await api('GET', `/cases/${incomplete.number}/events`, undefined, admin)).items;
  assert.ok(events.some((e) => e.type === 'reply' && !e.internal));
  assert.ok(events.some((e) => e.type === 'note' && e.internal));

  // The hostile case's page shows its subject and body as text.
  await page.goto(`${base}/cases/${hostile.number}`);
  await page.waitForSelector('[data-testid=case-page]');
  assert.equal(await page.locator('[data-testid=case-title]').textContent(), `Pregunta ${HOSTILE} factura`);
  assert.equal(await page.locator('main img, main script').count(), 0);
  assert.deepEqual(dialogs, [], 'a dialog opened');

  // Password change from the user menu: another session of the agent ends, this one stays.
  const otherSession = (await api('POST', '/auth/login', { email: AGENT.email, password: AGENT.password })).token;
  await page.click('[data-testid=who]');
  await page.screenshot({ path: join(ARTIFACTS, 'user-menu.png') });
  await page.keyboard.press('Escape');
  assert.equal(await page.locator('[data-testid=user-menu]').evaluate((d) => d.open), false, 'Escape closes the menu');
  await page.click('[data-testid=who]');
  await page.click('[data-testid=change-password-link]');
  await page.waitForSelector('[data-testid=password-form]');
  assert.equal(new URL(page.url()).pathname, '/password');
  await page.fill('input[name=current_password]', 'not-the-password');
  await page.fill('input[name=new_password]', NEW_AGENT_PASSWORD);
  await page.fill('input[name=confirm_password]', NEW_AGENT_PASSWORD);
  await page.click('[data-testid=password-submit]');
  assert.equal(await (await page.waitForSelector('[data-testid=password-error]')).textContent(),
    'La contraseña actual no es correcta.');
  await page.fill('input[name=current_password]', AGENT.password);
  await page.fill('input[name=new_password]', NEW_AGENT_PASSWORD);
  await page.fill('input[name=confirm_password]', NEW_AGENT_PASSWORD + 'x');
  await page.click('[data-testid=password-submit]');
  await page.waitForFunction(() => document.querySelector('[data-testid=password-error]')?.textContent
    === 'Las dos contraseñas nuevas no coinciden.');
  await page.fill('input[name=confirm_password]', NEW_AGENT_PASSWORD);
  await page.click('[data-testid=password-submit]');
  assert.match(await (await page.waitForSelector('[data-testid=password-done]')).textContent(),
    /^Contraseña cambiada\. Se cerró 1 sesión/);
  await page.screenshot({ path: join(ARTIFACTS, 'password.png') });
  await assert.rejects(api('GET', '/me', undefined, otherSession), /401/, 'the other session survived');
  await assert.rejects(api('POST', '/auth/login', { email: AGENT.email, password: AGENT.password }), /401/);
  AGENT.password = NEW_AGENT_PASSWORD;
  // This session goes on, writes included (the CSRF header is still right).
  await page.goto(`${base}/cases/${complete.number}`);
  await page.waitForSelector('[data-testid=case-page]');
  await page.click('[data-testid=tab-note]');
  await page.fill('[data-testid=composer-body]', 'Nota tras el cambio de contraseña.');
  await page.click('[data-testid=composer-send]');
  await page.locator('[data-testid=msg-internal]').filter({ hasText: 'cambio de contraseña' }).waitFor();

  // Logout: back to the sign-in page, the cookie gone, and a reload does not sign in again.
  const before = (await context.cookies(base)).find((c) => c.name === 'escala_session').value;
  await page.click('[data-testid=who]');
  await page.click('[data-testid=sign-out]');
  await page.waitForSelector('[data-testid=signin-form]');
  assert.equal(new URL(page.url()).pathname, '/signin');
  assert.equal((await context.cookies(base)).filter((c) => c.name === 'escala_session').length, 0);
  await page.goto(`${base}/cases`);
  await page.waitForSelector('[data-testid=signin-form]');
  assert.equal(new URL(page.url()).pathname, '/signin');
  // The old cookie, replayed, is dead on the server too.
  const replay = await fetch(base + '/api/v1/me', { headers: { Cookie: `escala_session=${before}` } });
  assert.equal(replay.status, 401);

  // First load: a fresh browser context (empty cache) already signed in, from navigation to
  // a rendered queue.
  const fresh = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await fresh.addCookies([{ name: 'escala_session', value: await browserSession(AGENT), url: base,
    httpOnly: true, sameSite: 'Strict' }]);
  const coldPage = await fresh.newPage();
  coldPage.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  coldPage.on('response', async (r) => {
    if (r.url().endsWith('.js')) jsBytes.raw += Number((await r.allHeaders())['content-length'] ?? 0);
  });
  const t0 = performance.now();
  await coldPage.goto(base + '/cases');
  await coldPage.waitForSelector('[data-testid=case-row]');
  const firstLoadMs = performance.now() - t0;
  const nav = await coldPage.evaluate(() => JSON.stringify(performance.getEntriesByType('navigation')[0]?.toJSON() ?? {}));
  const domContentLoaded = JSON.parse(nav).domContentLoadedEventEnd ?? 0;
  await fresh.close();

  const js = firstLoadJs();
  console.log(`first load (navigation to rendered queue, cold cache): ${firstLoadMs.toFixed(0)} ms `
    + `(DOMContentLoaded ${Number(domContentLoaded).toFixed(0)} ms)`);
  console.log(`first-load JavaScript: ${js.files} file(s), ${(js.raw / 1024).toFixed(1)} KiB raw, `
    + `${(js.gz / 1024).toFixed(1)} KiB gzip (budget ${JS_BUDGET_GZIP / 1024} KiB); `
    + `on the wire: ${(jsBytes.raw / 1024).toFixed(1)} KiB`);
  console.log(`screenshots: ${readdirSync(ARTIFACTS).map((f) => join(ARTIFACTS, f)).join(' ')}`);
  assert.ok(js.gz < JS_BUDGET_GZIP, `first-load JavaScript ${js.gz} bytes gzip is over the budget`);
  assert.ok(jsBytes.raw > 0 && jsBytes.raw < JS_BUDGET_GZIP, `served JavaScript ${jsBytes.raw} bytes (gzip expected)`);
  assert.deepEqual(dialogs, [], 'a dialog opened');
  assert.deepEqual(pageErrors, [], 'the page threw');
}

await runTest('browser console test', desk, main, () => browser);
