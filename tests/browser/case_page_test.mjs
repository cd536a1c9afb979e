// Browser test of the console's new-case form and case page (issue 5): a real `escala serve`
// (port 0, temporary data directory) with data made through the API, driven by
// playwright-core in Debian's Chromium.
//
// An agent takes a phone call: opens an incident at /new with one required field left out
// and is told exactly what is missing (no case is made), answers the impact questions (the
// desk's suggestion shows), overrides the severity (a reason is asked for), sees the desk's
// own refusal next to the field it names, completes the data and opens the case; the case
// page shows the account panel with the account's other open case (a link), the severity
// with the D3 matrix and the override's reason; a saved reply goes into the reply box with
// the case number and the customer filled in and is sent. axe-core on /new and on the case
// page; screenshots new-case.png and case-page.png.
//
//   node tests/browser/case_page_test.mjs            (after `make build`)
//
// Environment as console_test.mjs: ESCALA_BIN, ESCALA_WEB_ROOT, CHROMIUM, ARTIFACTS. Exits 0
// on success, 1 on a failure, 77 when a prerequisite is missing.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ESCALA_BIN = process.env.ESCALA_BIN || join(ROOT, 'build/escala');
const WEB_ROOT = process.env.ESCALA_WEB_ROOT || join(ROOT, 'web/dist');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = process.env.ARTIFACTS || join(ROOT, 'build/browser-artifacts');
const ADMIN = { email: 'admin@escala.test', password: 'admin-password-1' };
const AGENT = { email: 'ana@desk.example', password: 'agent-password-1', name: 'Ana Agente' };

function skip(why) {
  console.log(`SKIP: ${why}`);
  process.exit(77);
}
for (const [what, path] of [['escala binary', ESCALA_BIN], ['web build (make build)', join(WEB_ROOT, 'index.html')],
  ['chromium (apt-get install chromium)', CHROMIUM], ['playwright-core (npm ci in web/)', join(ROOT, 'web/node_modules/playwright-core')]])
  if (!existsSync(path)) skip(`no ${what} at ${path}`);

const requireWeb = createRequire(join(ROOT, 'web/package.json'));
const { chromium } = requireWeb('playwright-core');
let axeSource = null;
try {
  axeSource = readFileSync(requireWeb.resolve('axe-core/axe.min.js'), 'utf8');
} catch {
  console.log('note: axe-core is not installed (npm ci in web/): no accessibility check');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the desk ----
const dataDir = mkdtempSync(join(tmpdir(), 'escala-casepage-'));
execFileSync(ESCALA_BIN, ['user', 'add', '--data-dir', dataDir, '--email', ADMIN.email, '--name', 'Admin',
  '--role', 'admin', '--password', ADMIN.password], { stdio: ['ignore', 'ignore', 'inherit'] });
const server = spawn(ESCALA_BIN, ['serve', '--data-dir', dataDir, '--http', '127.0.0.1:0', '--web-root', WEB_ROOT],
  { stdio: ['ignore', 'ignore', 'pipe'] });
let serverLog = '';
server.stderr.on('data', (d) => { serverLog += d; });
let browser;
async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  if (server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await Promise.race([exited, sleep(10000)]);
  }
  rmSync(dataDir, { recursive: true, force: true });
}

async function waitForPort() {
  const file = join(dataDir, 'ports.json');
  for (let i = 0; i < 300; i++) {
    if (server.exitCode !== null) throw new Error(`escala serve exited ${server.exitCode}: ${serverLog}`);
    if (existsSync(file)) {
      try { return JSON.parse(readFileSync(file, 'utf8')).http; } catch { /* being written */ }
    }
    await sleep(50);
  }
  throw new Error('escala serve did not write ports.json');
}

let base;
async function api(method, path, body, token) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(base + '/api/v1' + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = r.status === 204 ? null : await r.json();
  if (!r.ok) throw new Error(`${method} ${path} -> ${r.status} ${JSON.stringify(json)}`);
  return json;
}

// axe-core on the page as it stands; serious and critical violations fail the test.
const axeReport = [];
async function checkA11y(page, name) {
  if (!axeSource) return;
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  axeReport.push(`${name}: ${result.length} violation(s)${result.length ? ' — ' + result.map((v) => `${v.id} (${v.impact})`).join(', ') : ''}`);
  assert.deepEqual(bad, [], `axe: serious or critical accessibility violations on ${name}`);
}

const text = async (page, sel) => (await page.locator(sel).textContent()) ?? '';

async function main() {
  mkdirSync(ARTIFACTS, { recursive: true });
  base = `http://127.0.0.1:${await waitForPort()}`;

  // ---- data through the API, as any client would ----
  const admin = (await api('POST', '/auth/login', ADMIN)).token;
  await api('POST', '/accounts', {
    code: 'ACME', name: 'Acme Telecom', timezone: 'America/Bogota', language: 'es',
    contract: { name: 'Plan Empresarial', activation_charge: { amount_cents: 2500, currency: 'USD' } },
  }, admin);
  await api('POST', '/accounts', { code: 'GLOBEX', name: 'Globex' }, admin);
  await api('POST', '/users', { email: AGENT.email, name: AGENT.name, role: 'agent', level: 1, password: AGENT.password, language: 'es' }, admin);
  const earlier = await api('POST', '/cases', {
    type: 'incident', account: 'ACME', subject: 'Troncal de la sede norte con cortes', channel: 'email',
    fields: { extension: '100', direction: 'outbound', counterpart_number: '+13056445535', occurred_at: '2026-11-25T09:00:00-05:00' },
  }, admin);
  const globex = await api('POST', '/cases', { type: 'request', account: 'GLOBEX', subject: 'Globex: factura', channel: 'email' }, admin);
  await api('PUT', '/canned-replies', {
    items: [
      { id: 'received', title: 'Recibido, en revisión',
        body_es: 'Hola {{customer}}: registramos su reporte con el número {{case}} y ya lo estamos revisando. {{agent}}',
        body_en: 'Hello {{customer}}: we logged your report as {{case}} and are looking into it. {{agent}}' },
      { id: 'need-time', title: 'Necesitamos la hora', body_es: '¿Nos confirma la hora aproximada del evento ({{case}})?', body_en: '' },
    ],
  }, admin);
  const casesBefore = (await api('GET', '/cases', undefined, admin)).total;

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'es-MX', timezoneId: 'America/Mexico_City' });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));

  // ---- sign in, then "New case" in the header ----
  await page.goto(base + '/signin');
  await page.fill('input[name=email]', AGENT.email);
  await page.fill('input[name=password]', AGENT.password);
  await page.click('button[type=submit]');
  await page.waitForURL((u) => u.pathname === '/cases');
  await page.click('[data-testid=new-case-link]');
  await page.waitForSelector('[data-testid=new-case-form]');
  assert.equal(new URL(page.url()).pathname, '/new');
  // The incident's fields come from the desk; no Teams email on an incident.
  await page.waitForSelector('[data-testid=input-counterpart_number]');
  assert.equal(await page.locator('[data-testid=input-teams_email]').count(), 0);

  // The activation form: the Teams email appears (and is required) only for Teams.
  await page.check('[data-testid=type-activation]');
  await page.waitForSelector('[data-testid=input-extension_type]');
  assert.equal(await page.locator('[data-testid=input-teams_email]').count(), 0);
  await page.selectOption('[data-testid=input-extension_type]', 'teams');
  await page.waitForSelector('[data-testid=input-teams_email]');
  assert.match(await text(page, '[data-field=teams_email] label'), /obligatorio para Teams/);
  await page.selectOption('[data-testid=input-extension_type]', 'sip');
  assert.equal(await page.locator('[data-testid=input-teams_email]').count(), 0);
  await page.check('[data-testid=type-incident]');
  await page.waitForSelector('[data-testid=input-counterpart_number]');

  // ---- a phone call: an incident with the event's time left out ----
  await page.check('[data-testid=channel-phone]');
  await page.selectOption('[data-testid=input-account]', 'ACME');
  await page.fill('[data-testid=input-subject]', 'Sin audio en llamadas entrantes de la recepción');
  await page.fill('[data-testid=input-description]', 'La recepcionista no escucha a quien llama desde esta mañana.');
  await page.fill('[data-testid=input-extension]', '204');
  await page.selectOption('[data-testid=input-direction]', 'inbound');
  await page.fill('[data-testid=input-counterpart_number]', '+52 55 4170 8422');
  // Impact: several users, serious → the desk suggests S2.
  await page.selectOption('[data-testid=input-affected]', 'several');
  await page.selectOption('[data-testid=input-disruption]', 'serious');
  await page.locator('[data-testid=suggested-severity] .badge').filter({ hasText: 'S2' }).waitFor();
  // Overriding it needs a reason: the form asks for one before anything is sent.
  await page.selectOption('[data-testid=input-severity]', 'S1');
  await page.click('[data-testid=create-case]');
  await page.waitForSelector('[data-testid=error-reason]');
  assert.match(await text(page, '[data-testid=error-reason]'), /por qué/);
  await page.fill('[data-testid=input-reason]', 'Es la única línea de recepción del hospital.');

  await page.click('[data-testid=create-case]');
  const summary = page.locator('[data-testid=missing-summary]');
  await summary.waitFor();
  assert.match(await summary.textContent(), /Faltan datos requeridos: Fecha y hora aproximada del evento\./);
  assert.deepEqual(await page.locator('[data-testid=nc-missing]').evaluateAll((els) => els.map((e) => e.dataset.field)), ['occurred_at']);
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'input-occurred_at', 'the missing field has the focus');
  assert.equal(new URL(page.url()).pathname, '/new');
  assert.equal((await api('GET', '/cases', undefined, admin)).total, casesBefore, 'no case was opened');
  await checkA11y(page, '/new with missing data');

  // A value the desk would refuse is caught by the form's own check (the desk's rule: 2 to 20
  // digits) next to its field, also when opening with data pending.
  await page.fill('[data-testid=input-counterpart_number]', '+5');
  await page.click('[data-testid=create-anyway]');
  await page.waitForSelector('[data-testid=error-counterpart_number]');
  assert.match(await text(page, '[data-testid=error-counterpart_number]'), /2 a 20|2 to 20/);
  assert.equal(await page.locator('[data-testid=input-counterpart_number]').getAttribute('aria-invalid'), 'true');
  // The desk's own 4xx answer goes next to the field it names: one the form cannot foresee
  // (the account removed meanwhile) is forced on the wire for the next POST.
  await page.route('**/api/v1/cases', (route) => route.request().method() === 'POST'
    ? route.fulfill({ status: 400, contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'invalid_argument', message: 'no account ACME', field: 'account' } }) })
    : route.continue(), { times: 1 });
  await page.fill('[data-testid=input-counterpart_number]', '+52 55 4170 8422');
  await page.fill('[data-testid=input-occurred_at]', '2026-11-26T10:30');
  await page.click('[data-testid=create-case]');
  await page.waitForSelector('[data-testid=error-account]');
  assert.equal(await text(page, '[data-testid=error-account]'), 'no account ACME');
  assert.equal(await page.locator('[data-testid=missing-summary]').textContent(), 'Todos los datos requeridos están.');
  await page.screenshot({ path: join(ARTIFACTS, 'new-case.png'), fullPage: true });

  // ---- completed: the case opens ----
  await page.click('[data-testid=create-case]');
  await page.waitForURL((u) => /^\/cases\/CMW-\d+$/.test(u.pathname));
  const number = new URL(page.url()).pathname.split('/').pop();
  const made = await api('GET', `/cases/${number}`, undefined, admin);
  assert.equal(made.status, 'open');
  assert.equal(made.channel, 'phone');
  assert.equal(made.account, 'ACME');
  assert.equal(made.severity, 'S1');
  assert.equal(made.suggested_severity, 'S2');
  assert.equal(made.severity_reason, 'Es la única línea de recepción del hospital.');
  assert.deepEqual(made.impact, { affected: 'several', disruption: 'serious' });
  assert.equal(made.fields.counterpart_number, '+525541708422');
  assert.equal(made.fields.occurred_at, '2026-11-26T16:30:00Z', 'the time typed is read in the viewer\'s zone');

  // ---- the case page: account panel, severity and matrix ----
  await page.waitForSelector('[data-testid=case-page]');
  const panel = page.locator('[data-testid=account-panel]');
  await panel.locator('[data-testid=account-open-cases]').waitFor();
  assert.match(await text(page, '[data-testid=account-name]'), /Acme Telecom \(ACME\)/);
  assert.match(await text(page, '[data-testid=account-contract]'), /Plan Empresarial/);
  assert.match(await text(page, '[data-testid=account-contract]'), /25/);
  assert.match(await text(page, '[data-testid=account-timezone]'), /America\/Bogota/);
  const openLinks = await panel.locator('[data-testid=account-open-cases] a').allTextContents();
  assert.deepEqual(openLinks, [earlier.number], 'the other open case of the account, and only it');
  assert.ok(!openLinks.includes(globex.number));
  assert.match(await text(page, '[data-testid=severity-override]'), /S2 a S1/);
  assert.match(await text(page, '[data-testid=severity-override]'), /única línea de recepción/);
  assert.equal(await text(page, '[data-testid=matrix-hit]'), 'S2');
  assert.equal(await page.locator('[data-testid=severity-matrix] td.hit').count(), 1);

  // ---- a saved reply, filled in, sent ----
  await page.selectOption('[data-testid=canned-pick]', 'received');
  const body = await page.inputValue('[data-testid=composer-body]');
  assert.equal(body, `Hola Acme Telecom: registramos su reporte con el número ${number} y ya lo estamos revisando. ${AGENT.name}`);
  await checkA11y(page, 'case page');
  await page.screenshot({ path: join(ARTIFACTS, 'case-page.png'), fullPage: true });
  await page.click('[data-testid=composer-send]');
  await page.locator('[data-testid=msg-agent]').filter({ hasText: number }).waitFor();
  const events = await api('GET', `/cases/${number}/events`, undefined, admin);
  const reply = events.items.find((e) => e.type === 'reply');
  assert.ok(reply, 'the reply is in the case history');
  assert.equal(reply.data.body, body);
  assert.equal(reply.actor.name, AGENT.name);
  // The English variant on the switch.
  await page.click('[data-testid=canned-lang-en]');
  await page.selectOption('[data-testid=canned-pick]', 'received');
  assert.match(await page.inputValue('[data-testid=composer-body]'), new RegExp(`^Hello Acme Telecom: we logged your report as ${number}`));

  // The other open case is a link to it.
  await page.click(`[data-testid=account-open-cases] a:text("${earlier.number}")`);
  await page.waitForURL((u) => u.pathname === `/cases/${earlier.number}`);
  await page.locator('[data-testid=account-open-cases] a', { hasText: number }).waitFor();

  assert.deepEqual(pageErrors, [], 'the page threw');
  if (axeSource) console.log(`axe-core:\n  ${axeReport.join('\n  ')}`);
  console.log(`screenshots: ${join(ARTIFACTS, 'new-case.png')} ${join(ARTIFACTS, 'case-page.png')}`);
}

try {
  await main();
  console.log('browser case page test: OK');
  await cleanup();
  process.exit(0);
} catch (e) {
  console.error('browser case page test FAILED:', e);
  if (serverLog) console.error('--- escala serve log (tail) ---\n' + serverLog.slice(-3000));
  await cleanup();
  process.exit(1);
}
