// The interactive API reference at /docs of a live roomgate, in headless Chromium: it renders from the server's
// own assets alone, lists the token endpoints, and "Try it out" → "Execute" on GET /healthz shows a 200, all
// under the headers the server sends with it (Content-Security-Policy, no framing), which must block nothing.
//
//   ROOMGATE_ORIGIN=http://127.0.0.1:8080 ROOMGATE_BROWSER_NODE_DIR=target/browser-node node --test compat/browser
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';

const base = process.env.ROOMGATE_ORIGIN;
const nodeDir = process.env.ROOMGATE_BROWSER_NODE_DIR;
const shots = process.env.ROOMGATE_BROWSER_SCREENSHOTS ?? 'target/browser';
assert.ok(base, 'set ROOMGATE_ORIGIN to the server origin');
assert.ok(nodeDir, 'set ROOMGATE_BROWSER_NODE_DIR to the folder where playwright-core is installed');
const { chromium } = createRequire(join(resolve(nodeDir), 'package.json'))('playwright-core');

const TOKEN_PATHS = [
  '/v2/rooms/{room_id}/actions/create_access_token',
  '/v2/rooms/{room_id}/actions/refresh_access_token',
  '/v2/rooms/{room_id}/actions/generate_join_client_token',
  '/v2/rooms/{room_id}/actions/refresh_client_token',
];

let context;
let profile;
const elsewhere = [];

before(async () => {
  profile = mkdtempSync(join(tmpdir(), 'roomgate-chromium-'));
  // A persistent context is how Playwright takes a user-data-dir: a fresh one, so nothing is cached.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 1000 },
  });
  context.setDefaultTimeout(30_000);
  context.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(base) && !url.startsWith('data:') && !url.startsWith('blob:')) elsewhere.push(url);
  });
});

after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('/docs lists the token endpoints and runs GET /healthz from the page', async () => {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // The page runs under the server's Content-Security-Policy: anything it blocks would be a broken page.
  const blocked = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) blocked.push(msg.text());
  });
  await page.exposeFunction('roomgateBlocked', (what) => blocked.push(what));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      window.roomgateBlocked(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`));
  });

  const response = await page.goto(`${base}/docs`);
  const headers = response.headers();
  assert.match(headers['content-security-policy'] ?? '', /frame-ancestors 'none'/);
  assert.equal(headers['x-frame-options'], 'DENY');
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['referrer-policy'], 'no-referrer');
  await page.locator('.swagger-ui .info .title').waitFor();
  assert.match(await page.locator('.swagger-ui .info .title').innerText(), /roomgate/);
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, 'docs.png') });

  const listed = await page.locator('.opblock-summary-path').evaluateAll((els) => els.map((e) => e.dataset.path));
  for (const path of TOKEN_PATHS) assert.ok(listed.includes(path), `${path} is listed (got ${listed})`);

  const health = page.locator('.opblock', { has: page.locator('.opblock-summary-path[data-path="/healthz"]') });
  await health.locator('.opblock-summary').first().click();
  await health.getByRole('button', { name: 'Try it out' }).click();
  await health.getByRole('button', { name: 'Execute' }).click();
  // The live response's row, not the table's header row.
  const live = health.locator('.live-responses-table tr.response');
  await live.locator('.response-col_status').waitFor();
  assert.equal((await live.locator('.response-col_status').innerText()).trim(), '200');
  assert.match(await live.locator('.response-col_description').innerText(), /"status":\s*"ok"/);

  await live.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'docs-try-it.png') });

  assert.deepEqual(errors, [], 'no script errors on the page');
  assert.deepEqual(blocked, [], 'the Content-Security-Policy blocks nothing the page needs');
  assert.deepEqual(elsewhere, [], 'every request went to roomgate itself (no CDN, no validator)');
});
