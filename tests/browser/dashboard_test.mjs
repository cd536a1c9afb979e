// Browser test of the supervisor dashboard against a real `escala serve --test-clock` with
// cases made through the API, in Debian's Chromium driven by playwright-core:
//
// - cases of every severity over several channels, one resolved at L1, an S1 breached by
//   moving the desk's clock; a supervisor opens /dashboard (viewer in America/Mexico_City);
// - every chart is drawn (a canvas) and its text alternative (caption + visually hidden
//   table) carries the figures the API gives; the latest breaches link to their cases;
// - Chart.js is a chunk of its own: the queue's first load does not fetch it, the dashboard
//   does; sizes and the dashboard's load time are printed;
// - the period selector (7 / 30 days), English, axe-core without serious or critical
//   violations, screenshot dashboard.png;
// - an agent has no dashboard link, is sent back to the queue from /dashboard without the
//   chunk, and the endpoint answers 403.
//
//   node tests/browser/dashboard_test.mjs            (after `make build`)
//
// Environment: see desk.mjs. Exits 0 on success, 1 on a failure, 77 when a
// prerequisite is missing.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, constants } from 'node:zlib';
import assert from 'node:assert/strict';
import { A11y, ADMIN, ARTIFACTS, WEB_ROOT, launchChromium, prerequisites, runTest, startDesk } from './desk.mjs';

const JS_BUDGET_GZIP = 250 * 1024; // issue 5: first load below 250 KB of compressed JavaScript
const ZONE = 'America/Mexico_City';
const AGENT = { email: 'ana@desk.example', password: 'agent-password-1', name: 'Ana Agente' };
const SUPERVISOR = { email: 'sol@desk.example', password: 'super-password-1', name: 'Sol Supervisora' };

const { chromium, axeSource } = prerequisites();
const desk = await startDesk({ prefix: 'escala-dashboard-', serveArgs: ['--test-clock'] });
const { base, api } = desk;
let browser;

const pageErrors = [];
const dialogs = [];
// A console in its own context (cold cache), the viewer in ZONE; `scripts` collects every
// JavaScript file the page fetches.
async function consoleOf(who) {
  const context = await desk.signedInContext(browser, who, { viewport: { width: 1360, height: 1000 }, locale: 'es-MX', timezoneId: ZONE });
  const page = await context.newPage();
  page.scripts = [];
  page.apiCalls = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.endsWith('.js')) page.scripts.push(u.pathname);
    if (u.pathname.startsWith('/api/v1/reports/')) page.apiCalls.push(u.pathname + u.search);
  });
  page.on('pageerror', (e) => pageErrors.push(`${who.email}: ${e}`));
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  return page;
}

const a11y = new A11y(axeSource);
const checkA11y = (page, what) => a11y.check(page, what);

// The visually hidden table of a chart, as rows of cell texts (header row first).
const tableOf = (page, id) => page.locator(`[data-testid=table-${id}] tr`).evaluateAll((trs) =>
  trs.map((tr) => [...tr.children].map((c) => c.textContent.trim())));
const rowNamed = (rows, name) => rows.find((r) => r[0] === name);

const gzipKiB = (file) => gzipSync(readFileSync(join(WEB_ROOT, file)), { level: constants.Z_BEST_COMPRESSION }).length / 1024;
const COMPLETE = { extension: '204', direction: 'inbound', counterpart_number: '+13056445535', occurred_at: '2026-11-26T10:30:00-06:00' };

async function main() {
  let admin = (await api('POST', '/auth/login', ADMIN)).token;
  await api('POST', '/accounts', { code: 'ACME', name: 'Acme Telecom' }, admin);
  await api('POST', '/users', { email: AGENT.email, name: AGENT.name, role: 'agent', level: 1, password: AGENT.password, language: 'es' }, admin);
  await api('POST', '/users', { email: SUPERVISOR.email, name: SUPERVISOR.name, role: 'supervisor', password: SUPERVISOR.password, language: 'es' }, admin);

  // ---- cases: every severity, three channels; one resolved at L1; an S1 that breaches ----
  const mk = (subject, severity, channel, extra = {}) => api('POST', '/cases', {
    type: 'incident', account: 'ACME', channel, subject, fields: COMPLETE, severity, severity_reason: 'prueba', ...extra,
  }, admin);
  const s1 = await mk('Troncal caída en toda la empresa', 'S1', 'phone', { impact: { affected: 'all', disruption: 'outage' } });
  delete s1.severity_reason;
  await mk('Sin audio en la extensión 204', 'S2', 'email');
  await mk('Llamadas cortadas a veces', 'S3', 'whatsapp');
  await mk('Cambio de nombre en el buzón', 'S4', 'phone');
  const done = await mk('Registro SIP falla', 'S3', 'email');
  await api('POST', `/cases/${done.number}/resolve`, { resolution: 'Se reinició el registro.' }, admin);
  assert.equal(s1.severity, 'S1');
  // Four hours later the S1 (24x7: 1 h response, 3 h resolution) has breached both targets.
  await api('POST', '/test/clock', { advance_seconds: 4 * 3600 }, admin);
  admin = (await api('POST', '/auth/login', ADMIN)).token;
  const expected = await api('GET', `/reports/dashboard?days=7&zone=${encodeURIComponent(ZONE)}`, undefined, admin);
  assert.equal(expected.backlog.total, 4);
  assert.equal(expected.breaches.by_severity.S1.response, 1);
  assert.equal(expected.breaches.by_severity.S1.resolution, 1);
  assert.equal(expected.created.total, 5);

  browser = await launchChromium(chromium);

  // ---- the queue's first load fetches no chart code ----
  const sup = await consoleOf(SUPERVISOR);
  await sup.goto(base + '/cases');
  await sup.waitForSelector('[data-testid=case-row]');
  const queueScripts = [...sup.scripts];
  assert.ok(queueScripts.length > 0, 'no script loaded');
  assert.ok(!queueScripts.some((s) => /Dashboard/.test(s)), `the queue loaded the dashboard chunk: ${queueScripts}`);
  const dist = readdirSync(join(WEB_ROOT, 'assets'));
  const chunk = dist.find((f) => /^Dashboard-.*\.js$/.test(f));
  assert.ok(chunk, 'no Dashboard chunk in the build');
  assert.ok(readFileSync(join(WEB_ROOT, 'assets', chunk), 'utf8').includes('Chart.js'), 'Chart.js is not in the Dashboard chunk');
  for (const s of queueScripts) {
    assert.ok(!readFileSync(join(WEB_ROOT, s.replace(/^\//, '')), 'utf8').includes('Chart.js'), `${s} of the first load holds Chart.js`);
  }
  const firstLoadGz = queueScripts.reduce((a, s) => a + gzipKiB(s.replace(/^\//, '')), 0);
  assert.ok(firstLoadGz * 1024 < JS_BUDGET_GZIP, `first load ${firstLoadGz} KiB gzip`);

  // ---- the supervisor opens the dashboard from the header ----
  const link = sup.locator('[data-testid=dashboard-link]');
  assert.equal(await link.count(), 1, 'the supervisor has no dashboard link');
  await link.click();
  await sup.waitForURL(base + '/dashboard');
  await sup.waitForSelector('[data-testid=chart-breaches] canvas');
  assert.ok(sup.scripts.some((s) => s.includes(chunk)), `the dashboard did not fetch ${chunk}: ${sup.scripts}`);
  const ids = ['sla-severity', 'sla-level', 'backlog', 'flr', 'created', 'breaches'];
  for (const id of ids) {
    const canvas = sup.locator(`[data-testid=chart-${id}] canvas`);
    assert.equal(await canvas.count(), 1, `chart ${id} has no canvas`);
    // Drawn: Chart.js sized the canvas and painted something on it.
    const painted = await canvas.evaluate((c) => {
      const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) return c.width > 0 && c.height > 0;
      return false;
    });
    assert.ok(painted, `chart ${id} is blank`);
    assert.ok((await canvas.getAttribute('aria-label')).length > 10, `chart ${id} has no label`);
  }
  // The zone sent is the viewer's; the SLA report covers the same period.
  const dashCall = sup.apiCalls.find((c) => c.startsWith('/api/v1/reports/dashboard'));
  assert.ok(dashCall.includes('zone=America%2FMexico_City') && dashCall.includes('days=7'), dashCall);
  assert.ok(sup.apiCalls.some((c) => c.startsWith('/api/v1/reports/sla?from=')), sup.apiCalls.join(' '));

  // ---- the figures in the text alternatives ----
  assert.equal(await sup.locator('[data-testid=summary-backlog]').textContent(), '4 casos sin resolver');
  const backlog = await tableOf(sup, 'backlog');
  assert.deepEqual(backlog[0], ['Severidad', 'Menos de 1 día', '1 a 3 días', '3 a 7 días', 'Más de 7 días', 'Total']);
  assert.deepEqual(rowNamed(backlog, 'S1'), ['S1', '1', '0', '0', '0', '1']);
  assert.deepEqual(rowNamed(backlog, 'S3'), ['S3', '1', '0', '0', '0', '1']);  // the resolved S3 is not waiting

  const created = await tableOf(sup, 'created');
  assert.equal(created.length, 1 + 7, 'one row per day of the week');
  assert.deepEqual(created[0], ['Día', 'Correo', 'Teléfono', 'WhatsApp', 'Total']);
  const createdDays = expected.created.days;
  for (let i = 0; i < createdDays.length; i++) {
    const row = rowNamed(created, createdDays[i]);
    assert.deepEqual(row.slice(1).map(Number), [expected.created.by_channel.email?.[i] ?? 0, expected.created.by_channel.phone?.[i] ?? 0,
      expected.created.by_channel.whatsapp?.[i] ?? 0, expected.created.per_day[i]]);
  }
  assert.equal(await sup.locator('[data-testid=summary-created]').textContent(), '5 casos creados en el periodo');

  const bySev = await tableOf(sup, 'sla-severity');
  assert.deepEqual(rowNamed(bySev, 'S1 · Respuesta').slice(1, 4), ['0', '1', '0']);  // breached
  // Every row as the SLA report says (the S2-S4 clocks run on business hours, so which of
  // them breached depends on the hour the test runs).
  const sla = await api('GET', `/reports/sla?from=${encodeURIComponent(expected.period.from)}`, undefined, admin);
  for (const sev of ['S1', 'S2', 'S3', 'S4'])
    for (const [t, word] of [['response', 'Respuesta'], ['resolution', 'Resolución']]) {
      const c = sla.by_severity[sev][t];
      assert.deepEqual(rowNamed(bySev, `${sev} · ${word}`).slice(1, 4), [c.met, c.breached, c.in_progress].map(String), `${sev} ${t}`);
    }
  assert.equal(sla.by_severity.S3.resolution.met, 1);
  const byLevel = await tableOf(sup, 'sla-level');
  assert.ok(rowNamed(byLevel, 'N1 · Respuesta'), JSON.stringify(byLevel));
  assert.equal(await sup.locator('[data-testid=summary-flr]').textContent(), '100 % (1 de 1 incidentes resueltos en N1)');

  const breaches = await tableOf(sup, 'breaches');
  assert.equal(breaches.length, 1 + 7);
  const nBreaches = expected.breaches.total;  // the S1's two, and any S2-S4 business-hours breach
  assert.equal(breaches.reduce((a, r, i) => a + (i ? Number(r[5]) : 0), 0), nBreaches);
  assert.equal(await sup.locator('[data-testid=summary-breaches]').textContent(), `${nBreaches} incumplimientos en los últimos 7 días`);
  const latest = sup.locator('[data-testid=latest-breaches] tbody tr');
  assert.equal(await latest.count(), Math.min(nBreaches, 10));
  const s1Rows = latest.filter({ has: sup.locator(`a[href="/cases/${s1.number}"]`) });
  assert.equal(await s1Rows.count(), 2, 'the S1 breached both targets');
  assert.ok((await s1Rows.first().textContent()).includes('Troncal caída'));
  assert.ok(/Zona|zona/.test(await sup.locator('[data-testid=period-note]').textContent()));
  await checkA11y(sup, 'dashboard (es)');
  await sup.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

  // ---- period selector: the last 30 days ----
  await sup.click('[data-testid=period-30]');
  await sup.waitForFunction(() => document.querySelectorAll('[data-testid=table-created] tbody tr').length === 30);
  assert.equal(await sup.locator('[data-testid=period-30]').getAttribute('aria-pressed'), 'true');
  assert.ok(sup.apiCalls.some((c) => c.includes('days=30')));

  // ---- English ----
  await sup.click('[data-testid=lang-en]');
  await sup.waitForFunction(() => document.querySelector('h1')?.textContent === 'Supervisor dashboard');
  assert.equal(await sup.locator('[data-testid=summary-backlog]').textContent(), '4 unresolved cases');
  await sup.waitForSelector('[data-testid=chart-backlog] canvas');
  await checkA11y(sup, 'dashboard (en)');
  await sup.screenshot({ path: join(ARTIFACTS, 'dashboard-en.png'), fullPage: true });

  // ---- a breach links to its case ----
  await sup.click(`[data-testid=latest-breaches] a[href="/cases/${s1.number}"]`);
  await sup.waitForURL(base + `/cases/${s1.number}`);

  // ---- load time: a fresh console straight to /dashboard, until every chart is drawn ----
  const times = [];
  for (let i = 0; i < 3; i++) {
    const p = await consoleOf(SUPERVISOR);
    const t0 = performance.now();
    await p.goto(base + '/dashboard');
    await p.waitForFunction((n) => document.querySelectorAll('.chart canvas').length === n
      && [...document.querySelectorAll('.chart canvas')].every((c) => c.width > 0), ids.length);
    times.push(performance.now() - t0);
    await p.context().close();
  }
  times.sort((a, b) => a - b);

  // ---- an agent: no link, no chunk, 403 ----
  const ana = await consoleOf(AGENT);
  await ana.goto(base + '/cases');
  await ana.waitForSelector('[data-testid=queue-title]');
  assert.equal(await ana.locator('[data-testid=dashboard-link]').count(), 0, 'an agent sees the dashboard link');
  const status = await ana.evaluate(async () => (await fetch('/api/v1/reports/dashboard')).status);
  assert.equal(status, 403);
  await ana.goto(base + '/dashboard');
  await ana.waitForURL(base + '/cases');
  await ana.waitForSelector('[data-testid=queue-title]');
  assert.ok(!ana.scripts.some((s) => /Dashboard/.test(s)), 'an agent fetched the dashboard chunk');

  const chunkGz = gzipKiB(join('assets', chunk));
  const chunkRaw = readFileSync(join(WEB_ROOT, 'assets', chunk)).length / 1024;
  console.log(`first-load JavaScript of the queue: ${queueScripts.length} file(s), ${firstLoadGz.toFixed(1)} KiB gzip (no chart code)`);
  console.log(`dashboard chunk ${chunk}: ${chunkRaw.toFixed(1)} KiB raw, ${chunkGz.toFixed(1)} KiB gzip (page + Chart.js)`);
  console.log(`dashboard load (navigation to every chart drawn, cold cache, 3 runs): ${times.map((t) => t.toFixed(0)).join(', ')} ms; median ${times[1].toFixed(0)} ms`);
  a11y.print();
  assert.deepEqual(dialogs, [], 'a dialog opened');
  assert.deepEqual(pageErrors, [], 'a page threw');
}

await runTest('browser dashboard test', desk, main, () => browser);
