// What every browser test shares: the prerequisites (exit 77 when one is missing), a real
// `escala serve` on a temporary data directory (port 0, an admin made with `escala user add`),
// a small API client, browser sessions (the cookie the console uses), Debian's Chromium through
// playwright-core, the axe-core check and the first-load JavaScript size. Not a test itself.
//
// Environment: ESCALA_BIN (default build/escala), ESCALA_WEB_ROOT (default web/dist),
// CHROMIUM (default /usr/bin/chromium), ARTIFACTS (screenshots; default
// build/browser-artifacts).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants } from 'node:zlib';
import assert from 'node:assert/strict';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ESCALA_BIN = process.env.ESCALA_BIN || join(ROOT, 'build/escala');
export const WEB_ROOT = process.env.ESCALA_WEB_ROOT || join(ROOT, 'web/dist');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const ARTIFACTS = process.env.ARTIFACTS || join(ROOT, 'build/browser-artifacts');
export const ADMIN = { email: 'admin@escala.test', password: 'admin-password-1' };

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Exits 77 (ctest: skipped) when the binary, the web build `page` (index.html or
// portal.html), Chromium or playwright-core is missing. Returns playwright's `chromium` and
// the axe-core source (null when axe-core is not installed: no accessibility check).
export function prerequisites(page = 'index.html') {
  for (const [what, path] of [['escala binary', ESCALA_BIN], ['web build (make build)', join(WEB_ROOT, page)],
    ['chromium (apt-get install chromium)', CHROMIUM], ['playwright-core (npm ci in web/)', join(ROOT, 'web/node_modules/playwright-core')]]) {
    if (!existsSync(path)) {
      console.log(`SKIP: no ${what} at ${path}`);
      process.exit(77);
    }
  }
  const requireWeb = createRequire(join(ROOT, 'web/package.json'));
  let axeSource = null;
  try {
    axeSource = readFileSync(requireWeb.resolve('axe-core/axe.min.js'), 'utf8');
  } catch {
    console.log('note: axe-core is not installed (npm ci in web/): no accessibility check');
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  return { chromium: requireWeb('playwright-core').chromium, axeSource };
}

// A desk of its own: `escala serve` with SQLite in a temporary directory, `serveArgs` added
// (e.g. ['--test-clock']). Resolves once the server has written its port.
export async function startDesk({ prefix = 'escala-browser-', serveArgs = [] } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  execFileSync(ESCALA_BIN, ['user', 'add', '--data-dir', dataDir, '--email', ADMIN.email, '--name', 'Admin',
    '--role', 'admin', '--password', ADMIN.password], { stdio: ['ignore', 'ignore', 'inherit'] });
  const server = spawn(ESCALA_BIN, ['serve', '--data-dir', dataDir, '--http', '127.0.0.1:0', '--web-root', WEB_ROOT,
    ...serveArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  const desk = { dataDir, server, log: '', base: '' };
  server.stderr.on('data', (d) => { desk.log += d; });

  desk.stop = async () => {
    if (server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await Promise.race([exited, sleep(10000)]);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  // Any status; `json` is null for 204.
  desk.raw = async (method, path, body, token) => {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(desk.base + '/api/v1' + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, json: r.status === 204 ? null : await r.json() };
  };
  // The body of a 2xx answer; anything else throws with the status and body.
  desk.api = async (method, path, body, token) => {
    const r = await desk.raw(method, path, body, token);
    if (r.status >= 400) throw new Error(`${method} ${path} -> ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  };
  // The value of the `escala_session` cookie of a browser sign-in (as the sign-in page does).
  desk.browserSession = async (who) => {
    const r = await fetch(desk.base + '/api/v1/auth/session', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: desk.base },
      body: JSON.stringify({ email: who.email, password: who.password }),
    });
    assert.equal(r.status, 200, `browser sign-in of ${who.email}`);
    const m = /^escala_session=([^;]+)/.exec(r.headers.getSetCookie().find((c) => c.startsWith('escala_session=')) ?? '');
    assert.ok(m, 'no session cookie');
    return m[1];
  };
  // A browser context already signed in as `who`.
  desk.signedInContext = async (browser, who, options) => {
    const context = await browser.newContext(options);
    await context.addCookies([{ name: 'escala_session', value: await desk.browserSession(who), url: desk.base,
      httpOnly: true, sameSite: 'Strict' }]);
    return context;
  };

  try {
    const file = join(dataDir, 'ports.json');
    for (let i = 0; !desk.base; i++) {
      if (i === 300) throw new Error('escala serve did not write ports.json');
      if (server.exitCode !== null) throw new Error(`escala serve exited ${server.exitCode}`);
      if (existsSync(file)) {
        try { desk.base = `http://127.0.0.1:${JSON.parse(readFileSync(file, 'utf8')).http}`; } catch { /* being written */ }
      }
      if (!desk.base) await sleep(50);
    }
  } catch (e) {
    console.error(`${e.message}\n--- escala serve log ---\n${desk.log}`);
    await desk.stop();
    process.exit(1);
  }
  return desk;
}

// Headless Chromium with a fresh temporary profile (removed on close).
export function launchChromium(chromium) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

// axe-core on whole pages: serious or critical violations fail, every page's count is kept
// for the test's summary.
export class A11y {
  constructor(axeSource) {
    this.source = axeSource;
    this.report = [];
  }

  async check(page, name) {
    if (!this.source) return;
    if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(this.source);
    const result = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
    });
    const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    this.report.push(`${name}: ${result.length} violation(s)${result.length ? ' — ' + result.map((v) => `${v.id} (${v.impact})`).join(', ') : ''}`);
    assert.deepEqual(bad, [], `axe: serious or critical accessibility violations on ${name}: ${JSON.stringify(bad)}`);
  }

  print() {
    if (this.source) console.log(`axe-core:\n  ${this.report.join('\n  ')}`);
  }
}

// The JavaScript an HTML page of the build loads before anything else (scripts and module
// preloads): files, raw and best-gzip bytes.
export function firstLoadJs(html = 'index.html') {
  const srcs = [...readFileSync(join(WEB_ROOT, html), 'utf8')
    .matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="([^"]+\.js)"/g)].map((m) => m[1]);
  assert.ok(srcs.length > 0, `${html} loads no script`);
  let raw = 0;
  let gz = 0;
  for (const src of srcs) {
    const bytes = readFileSync(join(WEB_ROOT, src.replace(/^\//, '')));
    raw += bytes.length;
    gz += gzipSync(bytes, { level: constants.Z_BEST_COMPRESSION }).length;
  }
  return { srcs, files: srcs.length, raw, gz };
}

// Runs `main`, prints "<name>: OK" or "<name> FAILED" with the server's log tail, closes the
// browser `closeBrowser()` returns (if any), stops the desk and exits 0 or 1.
export async function runTest(name, desk, main, closeBrowser = () => null) {
  let code = 0;
  try {
    await main();
    console.log(`${name}: OK`);
  } catch (e) {
    code = 1;
    console.error(`${name} FAILED:`, e);
    if (desk.log) console.error('--- escala serve log (tail) ---\n' + desk.log.slice(-3000));
  }
  const browser = closeBrowser();
  if (browser) await browser.close().catch(() => {});
  await desk.stop();
  process.exit(code);
}
