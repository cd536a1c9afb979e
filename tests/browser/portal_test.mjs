// Browser test of the customer portal (/portal): a real `escala serve` (port 0, temporary
// data directory) with data made through the API, driven by playwright-core in Debian's
// Chromium. A customer signs in, opens an incident with missing data and is told what is
// missing (first the desk's answer about a bad value, then the missing list), fills it, sees
// the status; an agent resolves through the API; the customer confirms and the case closes;
// on another case the customer says it is not solved and it reopens. Another account's case
// is "not found" by URL and 404 by API; hostile subjects and bodies display inert. axe-core
// checks every portal page (serious and critical violations fail the test).
//
//   node tests/browser/portal_test.mjs            (after `make build`)
//
// Environment: see desk.mjs. Exits 0 on success, 1 on a failure, 77 when a prerequisite is
// missing (ctest reports it as skipped).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { A11y, ADMIN, ARTIFACTS, firstLoadJs, launchChromium, prerequisites, runTest, startDesk } from './desk.mjs';

const PORTAL_JS_BUDGET_GZIP = 60 * 1024; // the portal's first load stays small
const AGENT = { email: 'ana@desk.example', password: 'agent-password-1', name: 'Ana Agente' };
const CUSTOMER = { email: 'lucia@acme.example', password: 'customer-password-1', name: 'Lucía Pérez' };
const OTHER = { email: 'omar@globex.example', password: 'customer-password-2', name: 'Omar Globex' };
const HOSTILE_IMG = '<img src=x onerror="window.__xss=1;alert(1)">';
const HOSTILE_SCRIPT = '<script>window.__xss=2;alert(2)</script>';
const ZONE = 'America/Mexico_City'; // UTC−6, no daylight saving time since 2022

const { chromium, axeSource } = prerequisites('portal.html');
const desk = await startDesk({ prefix: 'escala-portal-' });
const { base, api, raw } = desk;
let browser;

// axe-core on the page as it stands; serious and critical violations fail the test. The
// script is evaluated through the DevTools protocol, so the page's CSP stays as served.
const a11y = new A11y(axeSource);
const checkA11y = (page, what) => a11y.check(page, what);

async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: join(ARTIFACTS, `portal-${name}.png`), fullPage });
}

async function main() {

  // ---- data through the API, as any client would ----
  const admin = (await api('POST', '/auth/login', ADMIN)).token;
  await api('POST', '/accounts', { code: 'ACME', name: 'Acme Telecom', timezone: ZONE }, admin);
  await api('POST', '/accounts', { code: 'GLOBEX', name: 'Globex' }, admin);
  await api('POST', '/users', { email: AGENT.email, name: AGENT.name, role: 'agent', level: 1, password: AGENT.password }, admin);
  await api('POST', '/users', { email: CUSTOMER.email, name: CUSTOMER.name, role: 'customer', account: 'ACME', password: CUSTOMER.password, language: 'es' }, admin);
  await api('POST', '/users', { email: OTHER.email, name: OTHER.name, role: 'customer', account: 'GLOBEX', password: OTHER.password }, admin);
  const agent = (await api('POST', '/auth/login', { email: AGENT.email, password: AGENT.password })).token;
  const globexCase = await api('POST', '/cases', {
    type: 'incident', account: 'GLOBEX', subject: 'Globex: troncal caída', channel: 'phone',
    fields: { extension: '100', direction: 'outbound', counterpart_number: '+525541708422', occurred_at: '2026-11-26T10:30:00-06:00' },
  }, admin);
  // An email-borne case of ACME whose subject and body carry markup; a hostile reply too.
  const hostile = await api('POST', '/cases', {
    type: 'request', account: 'ACME', subject: `Factura ${HOSTILE_IMG} de noviembre`, channel: 'email',
    description: `${HOSTILE_SCRIPT}\nHola ${HOSTILE_IMG}`,
  }, admin);
  await api('POST', `/cases/${hostile.number}/replies`, { body: `Respuesta con ${HOSTILE_IMG}` }, agent);

  // ---- the server's side of the portal ----
  for (const path of ['/portal', '/portal/', `/portal/cases/${globexCase.number}`, '/portal/new']) {
    const shell = await fetch(base + path, { headers: { Accept: 'text/html' } });
    assert.equal(shell.status, 200, path);
    const html = await shell.text();
    assert.match(html, /src="\/assets\/portal-[^"]+\.js"/, `${path} is not the portal's shell`);
    assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, 'an inline script in the portal shell');
    assert.match(shell.headers.get('content-security-policy') ?? '', /default-src 'self'.*frame-ancestors 'none'/);
    assert.equal(shell.headers.get('cache-control'), 'no-cache');
  }
  const consoleShell = await (await fetch(base + '/cases/x', { headers: { Accept: 'text/html' } })).text();
  assert.doesNotMatch(consoleShell, /portal-/, 'the console shell loads portal code');
  const consoleJs = firstLoadJs('index.html');
  assert.ok(!consoleJs.srcs.some((s) => s.includes('portal')), 'the console first load carries the portal');
  const portalJs = firstLoadJs('portal.html');
  assert.ok(portalJs.gz < PORTAL_JS_BUDGET_GZIP, `portal first-load JavaScript ${portalJs.gz} bytes gzip`);

  // ---- the browser ----
  browser = await launchChromium(chromium);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'es-MX', timezoneId: ZONE });
  const page = await context.newPage();
  const dialogs = [];
  const pageErrors = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('pageerror', (e) => pageErrors.push(String(e)));

  // Sign-in: Spanish by default, English on the switch, a clear message on wrong credentials.
  await page.goto(base + '/portal');
  await page.waitForSelector('[data-testid=signin-form]');
  assert.equal(new URL(page.url()).pathname, '/portal/signin');
  await page.getByRole('heading', { name: 'Iniciar sesión' }).waitFor();
  await page.click('[data-testid=lang-en]');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Email').fill(CUSTOMER.email);
  await page.getByLabel('Password').fill('wrong-password');
  await page.click('button[type=submit]');
  assert.equal(await (await page.waitForSelector('[data-testid=signin-error]')).textContent(), 'Wrong email or password.');
  await page.click('[data-testid=lang-es]');
  await page.getByRole('heading', { name: 'Iniciar sesión' }).waitFor();
  assert.equal(await page.locator('[data-testid=signin-error]').textContent(), 'Correo o contraseña incorrectos.');
  await shot(page, 'signin', false);
  await checkA11y(page, 'sign-in');

  // The account's cases: the hostile one (as text), never Globex's.
  await page.getByLabel('Contraseña').fill(CUSTOMER.password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=case-item]');
  assert.equal(new URL(page.url()).pathname, '/portal');
  // A browser session: the token is in an HttpOnly, SameSite=Strict cookie that no script
  // can read, never in the page's storage; a reload keeps the customer signed in.
  const cookies = await context.cookies(base);
  const sessionCookie = cookies.find((c) => c.name === 'escala_session');
  assert.ok(sessionCookie, `no session cookie: ${cookies.map((c) => c.name)}`);
  assert.equal(sessionCookie.httpOnly, true);
  assert.equal(sessionCookie.sameSite, 'Strict');
  assert.equal(await page.evaluate(() => document.cookie.includes('escala_session')), false);
  assert.deepEqual(await page.evaluate(() => [sessionStorage.length, localStorage.getItem('escala.portal.token')]), [0, null]);
  await page.reload();
  await page.waitForSelector('[data-testid=case-item]');
  assert.equal(new URL(page.url()).pathname, '/portal');
  const numbers = await page.locator('[data-testid=case-item]').evaluateAll((els) => els.map((e) => e.dataset.number));
  assert.deepEqual(numbers, [hostile.number]);
  assert.equal(await page.locator('[data-testid=case-subject]').textContent(), `Factura ${HOSTILE_IMG} de noviembre`);
  assert.equal(await page.locator('main img, main script').count(), 0, 'a subject became markup');

  // A new incident: a value the desk refuses is shown at its field; then sent with two of
  // the four required items, and the case page says exactly what is missing.
  await page.click('[data-testid=new-case]');
  await page.waitForSelector('[data-testid=new-case-form]');
  assert.equal(new URL(page.url()).pathname, '/portal/new');
  // The activation form (R2.1): the account is filled in, the Teams email applies to Teams only.
  await page.check('[data-testid=type-activation]');
  await page.waitForSelector('[data-testid=input-user_full_name]');
  assert.equal(await page.inputValue('[data-testid=input-account_id]'), 'ACME');
  assert.equal(await page.locator('[data-testid=input-teams_email]').count(), 0);
  await page.selectOption('[data-testid=input-extension_type]', 'teams');
  await page.waitForSelector('[data-testid=input-teams_email]');
  assert.match(await page.locator('[data-testid=form-missing]').textContent(), /Correo electrónico a ligar \(Microsoft Teams\)/);
  await page.check('[data-testid=type-incident]');
  await page.getByLabel('Asunto').fill('Extensión 204 sin audio entrante');
  await page.getByLabel('Descripción').fill('Desde esta mañana quien nos llama no se escucha.');
  await page.waitForSelector('[data-testid=input-extension]');
  assert.equal(await page.locator('[data-testid=field-missing]').count(), 4, 'four required items, all missing');
  await page.fill('[data-testid=input-extension]', '20A4');
  await page.selectOption('[data-testid=input-direction]', 'inbound');
  assert.match(await page.locator('[data-testid=form-missing]').textContent(),
    /Aún faltan: Número de la contraparte, Fecha y hora aproximada del evento\./);
  await checkA11y(page, 'new case');
  await page.click('[data-testid=submit-case]');
  const fieldError = await page.waitForSelector('[data-testid=error-extension]');
  assert.match(await fieldError.textContent(), /digits only/, 'the desk says why the extension is refused');
  assert.equal(await page.locator('#f-extension').getAttribute('aria-invalid'), 'true');
  assert.equal((await api('GET', '/cases?account=ACME', undefined, admin)).total, 1, 'a refused case was created');
  await shot(page, 'new-case');
  await page.fill('[data-testid=input-extension]', '204');
  assert.equal(await page.locator('[data-testid=error-extension]').count(), 0, 'the error stays after an edit');
  await page.click('[data-testid=submit-case]');
  await page.waitForSelector('[data-testid=case-page]');
  const number = /\/portal\/cases\/([A-Z]+-\d+)/.exec(page.url())[1];
  assert.equal(await page.locator('[data-testid=case-status]').getAttribute('data-status'), 'awaiting_info');
  assert.equal(await page.locator('[data-testid=next-step-text]').textContent(),
    'Necesitamos: Número de la contraparte, Fecha y hora aproximada del evento. La revisión empieza cuando los datos estén completos.');
  assert.match(await page.locator('[data-testid=notice]').textContent(), new RegExp(`Caso ${number} creado`));
  const created = await api('GET', `/cases/${number}`, undefined, admin);
  assert.equal(created.channel, 'portal');
  assert.equal(created.account, 'ACME');
  assert.deepEqual(created.missing_fields, ['counterpart_number', 'occurred_at']);
  assert.deepEqual(await page.locator('[data-testid=data-missing]').evaluateAll((els) => els.map((e) => e.dataset.field)),
    ['counterpart_number', 'occurred_at']);
  await shot(page, 'case-awaiting-info');
  await checkA11y(page, 'case awaiting info');

  // English on the same page: the same missing list in English.
  await page.click('[data-testid=lang-en]');
  assert.equal(await page.locator('[data-testid=next-step-text]').textContent(),
    'We need: Counterpart number, Approximate date and time of the event. The review starts once the data is complete.');
  await page.click('[data-testid=lang-es]');

  // The customer adds the missing data; the time typed is the viewer's (UTC−6).
  await page.fill('[data-testid=fill-form] [data-testid=input-counterpart_number]', '+1 305 644 5535');
  await page.fill('[data-testid=fill-form] [data-testid=input-occurred_at]', '2026-11-26T10:30');
  await page.click('[data-testid=save-fields]');
  await page.waitForFunction(() => document.querySelector('[data-testid=case-status]')?.dataset.status === 'open');
  assert.equal(await page.locator('[data-testid=case-status]').textContent(), 'En revisión');
  assert.match(await page.locator('[data-testid=next-step-text]').textContent(), /trabajando en su caso/);
  const completed = await api('GET', `/cases/${number}`, undefined, admin);
  assert.equal(completed.status, 'open');
  assert.equal(completed.fields.occurred_at, '2026-11-26T16:30:00Z');
  assert.equal(completed.fields.counterpart_number, '+13056445535');
  assert.equal(await page.locator('[data-field=occurred_at] dd').textContent(), await page.evaluate(() =>
    new Intl.DateTimeFormat('es-MX', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date('2026-11-26T16:30:00Z'))));

  // A reply from the customer; the agent answers, writes an internal note and resolves.
  await page.fill('[data-testid=reply-body]', 'Gracias. Pasa con todas las llamadas de México.');
  await page.click('[data-testid=reply-send]');
  await page.locator('[data-testid=msg-customer]').filter({ hasText: 'todas las llamadas' }).waitFor();
  const secret = 'nota interna: revisar deuda del cliente';
  await api('POST', `/cases/${number}/replies`, { body: secret, internal: true }, agent);
  await api('POST', `/cases/${number}/replies`, { body: 'Revisamos la troncal de entrada.' }, agent);
  await api('POST', `/cases/${number}/resolve`, { resolution: 'Se corrigió el códec de la troncal de entrada.' }, agent);
  await page.reload();
  await page.waitForSelector('[data-testid=case-page]');
  assert.equal(await page.locator('[data-testid=case-status]').getAttribute('data-status'), 'resolved');
  assert.equal(await page.locator('[data-testid=resolution]').textContent(), 'Se corrigió el códec de la troncal de entrada.');
  await page.locator('[data-testid=msg-team]').filter({ hasText: 'troncal de entrada' }).waitFor();
  assert.ok(!(await page.content()).includes('deuda del cliente'), 'an internal note reached the portal');
  await shot(page, 'case-resolved');
  await checkA11y(page, 'case resolved');

  // R3.3: the customer confirms, and the case closes.
  await page.click('[data-testid=confirm]');
  await page.waitForFunction(() => document.querySelector('[data-testid=case-status]')?.dataset.status === 'closed');
  assert.match(await page.locator('[data-testid=notice]').textContent(), /quedó cerrado/);
  assert.equal((await api('GET', `/cases/${number}`, undefined, admin)).status, 'closed');
  const closedEvents = (await api('GET', `/cases/${number}/events?limit=1000`, undefined, admin)).items;
  assert.ok(closedEvents.some((e) => e.type === 'status_changed' && e.data.to === 'closed' && e.data.reason === 'customer_confirmed'));
  assert.equal(await page.locator('[data-testid=reply-body]').count(), 0, 'a closed case takes no replies');

  // The other way (D4): resolved, the customer says it is not solved, and it reopens.
  await api('POST', `/cases/${hostile.number}/resolve`, { resolution: 'Enviamos la factura corregida.' }, agent);
  await page.goto(`${base}/portal`);
  await page.waitForSelector('[data-testid=case-item]');
  assert.equal(await page.locator(`[data-testid=case-item][data-number="${hostile.number}"] [data-testid=case-next-step]`).textContent(),
    'Siguiente paso: Confirme la solución');
  await shot(page, 'cases');
  await checkA11y(page, 'case list');
  await page.click('[data-testid=tab-closed]');
  assert.deepEqual(await page.locator('[data-testid=case-item]').evaluateAll((els) => els.map((e) => e.dataset.number)), [number]);
  await page.click('[data-testid=tab-active]');
  await page.click(`[data-testid=case-item][data-number="${hostile.number}"] [data-testid=case-subject]`);
  await page.waitForSelector('[data-testid=case-page]');
  // Hostile text is text: in the title, the first message and the team's reply.
  assert.equal(await page.locator('[data-testid=case-title]').textContent(), `Factura ${HOSTILE_IMG} de noviembre`);
  const bodies = await page.locator('[data-testid=msg-body]').allTextContents();
  assert.ok(bodies.includes(`${HOSTILE_SCRIPT}\nHola ${HOSTILE_IMG}`), JSON.stringify(bodies));
  assert.ok(bodies.includes(`Respuesta con ${HOSTILE_IMG}`));
  assert.equal(await page.locator('main img, main script, main [onerror]').count(), 0, 'outside text became markup');
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'a hostile script ran');
  await page.click('[data-testid=not-solved]');
  await page.fill('[data-testid=reopen-reason]', 'La factura sigue con el monto anterior.');
  await page.click('[data-testid=reopen]');
  await page.waitForFunction(() => document.querySelector('[data-testid=case-status]')?.dataset.status === 'open');
  const reopened = (await api('GET', `/cases/${hostile.number}/events?limit=1000`, undefined, admin)).items;
  assert.ok(reopened.some((e) => e.type === 'reopened' && e.data.reason === 'La factura sigue con el monto anterior.'));

  // The team asks a question: the customer sees it as the next step and answers it.
  await api('POST', `/cases/${hostile.number}/replies`, { body: '¿Nos envía el número de la factura?', pending: true }, agent);
  await page.reload();
  await page.waitForSelector('[data-testid=case-page]');
  assert.equal(await page.locator('[data-testid=case-status]').getAttribute('data-status'), 'pending_customer');
  assert.equal(await page.locator('[data-testid=question]').textContent(), '¿Nos envía el número de la factura?');
  await page.fill('[data-testid=reply-body]', 'Es la F-2026-1187.');
  await page.click('[data-testid=reply-send]');
  await page.waitForFunction(() => document.querySelector('[data-testid=case-status]')?.dataset.status === 'open');
  await page.locator('[data-testid=msg-customer]').filter({ hasText: 'F-2026-1187' }).waitFor();

  // Another account's case by URL: "not found" on the page, 404 from the API.
  await page.goto(`${base}/portal/cases/${globexCase.number}`);
  await page.waitForSelector('[data-testid=case-not-found]');
  assert.equal(await page.locator('main img, main script').count(), 0);
  assert.ok(!(await page.content()).includes('troncal caída'), "another account's subject reached the page");
  await shot(page, 'not-found', false);
  await checkA11y(page, 'not found');
  const customerToken = (await api('POST', '/auth/login', { email: CUSTOMER.email, password: CUSTOMER.password })).token;
  for (const [method, path, body] of [['GET', `/cases/${globexCase.number}`], ['GET', `/cases/${globexCase.number}/events`],
    ['PATCH', `/cases/${globexCase.number}`, { fields: { extension: '1' } }], ['POST', `/cases/${globexCase.number}/confirm`, {}]]) {
    const r = await raw(method, path, body, customerToken);
    assert.equal(r.status, 404, `${method} ${path} as another account's customer`);
  }

  // A phone-sized screen: one column, nothing wider than the viewport.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'es-MX', timezoneId: ZONE, isMobile: true });
  const phonePage = await phone.newPage();
  phonePage.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  await phonePage.goto(`${base}/portal/signin`);
  await phonePage.getByLabel('Correo electrónico').fill(CUSTOMER.email);
  await phonePage.getByLabel('Contraseña').fill(CUSTOMER.password);
  await phonePage.click('button[type=submit]');
  await phonePage.waitForSelector('[data-testid=case-item]');
  await phonePage.goto(`${base}/portal/cases/${number}`);
  await phonePage.waitForSelector('[data-testid=case-page]');
  assert.ok(await phonePage.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'the page scrolls sideways on a phone');
  await shot(phonePage, 'case-phone');
  await phone.close();

  // Staff who sign in here are sent to the console.
  await page.click('[data-testid=sign-out]');
  await page.waitForSelector('[data-testid=signin-form]');
  await page.getByLabel('Correo electrónico').fill(AGENT.email);
  await page.getByLabel('Contraseña').fill(AGENT.password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=signin-staff]');

  console.log(`portal first-load JavaScript: ${portalJs.srcs.length} file(s), ${(portalJs.gz / 1024).toFixed(1)} KiB gzip; `
    + `console first load: ${(consoleJs.gz / 1024).toFixed(1)} KiB gzip, no portal code`);
  a11y.print();
  console.log(`screenshots: ${readdirSync(ARTIFACTS).filter((f) => f.startsWith('portal-')).map((f) => join(ARTIFACTS, f)).join(' ')}`);
  assert.deepEqual(dialogs, [], 'a dialog opened');
  assert.deepEqual(pageErrors, [], 'the page threw');
}

await runTest('browser portal test', desk, main, () => browser);
