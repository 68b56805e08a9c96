// The installable app: Chromium reports no installability errors (DevTools protocol), the
// manifest's icons are real PNGs of the sizes it names, the service worker serves the app shell
// with the network off, and a new build waits for the user instead of taking over the session.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, startBrowser, screenshot } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await startBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes) {
  assert.equal(bytes.subarray(1, 4).toString('latin1'), 'PNG', 'a PNG file');
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

async function controlled(page) {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
}

test('Chromium finds the app installable, with a manifest whose icons are what it says', async () => {
  const { page, context } = browser;
  await page.goto(`${server.baseUrl}/login`);
  await controlled(page);
  const cdp = await context.newCDPSession(page);
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  await cdp.detach();
  assert.deepEqual(installabilityErrors, [], JSON.stringify(installabilityErrors));
  const manifest = await (await fetch(`${server.baseUrl}/manifest.webmanifest`)).json();
  assert.equal(manifest.display, 'standalone');
  assert.equal(manifest.start_url, '/');
  assert.ok(manifest.name && manifest.short_name && manifest.theme_color && manifest.background_color);
  for (const [size, purpose] of [['192x192', 'any'], ['512x512', 'any'], ['512x512', 'maskable']]) {
    const icon = manifest.icons.find((i) => i.sizes === size && i.purpose === purpose);
    assert.ok(icon, `an icon of ${size} for ${purpose}`);
    const response = await fetch(`${server.baseUrl}${icon.src}`);
    assert.equal(response.headers.get('content-type'), 'image/png');
    assert.deepEqual(pngSize(Buffer.from(await response.arrayBuffer())), size.split('x').map(Number));
  }
});

test('with the network off, the app shell still loads', async () => {
  const { page, context } = browser;
  await page.goto(`${server.baseUrl}/login`);
  await controlled(page);
  assert.equal(await page.locator('#offline-indicator').count(), 0, 'no indicator while online');
  await context.setOffline(true);
  try {
    await page.locator('#offline-indicator').getByText('Offline.').waitFor();
    await page.reload();
    await page.locator('#offline-indicator').getByText('Offline.').waitFor();
    await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 30_000 });
    await page.goto(`${server.baseUrl}/signup`);
    await page.getByRole('button', { name: 'Create account' }).waitFor({ timeout: 30_000 });
    await screenshot(page, 'pwa-offline-shell');
  } finally {
    await context.setOffline(false);
  }
  await page.locator('#offline-indicator').waitFor({ state: 'detached' });
  // Offline, the app's API calls fail (and say so in the console); nothing else may.
  assert.ok(browser.problems.every((p) => p.includes('ERR_INTERNET_DISCONNECTED')), browser.problems.join('\n'));
  browser.problems.length = 0;
});

test('a new build waits: the user is told and chooses when to reload', async () => {
  const { page } = browser;
  await page.goto(`${server.baseUrl}/login`);
  await controlled(page);
  const before = await page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('plico-shell-')));
  assert.equal(before.length, 1);
  // The same server on the same port, serving a build that differs by one file.
  const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'plico-dist-'));
  fs.cpSync(process.env.PLICO_DIST, dist, { recursive: true });
  const css = fs.readdirSync(dist).find((name) => name.endsWith('.css'));
  fs.appendFileSync(path.join(dist, css), '\n/* the next version */\n');
  fs.rmSync(path.join(dist, `${css}.br`), { force: true });
  const original = process.env.PLICO_DIST;
  await server.stop();
  process.env.PLICO_DIST = dist;
  try {
    server = await startServer({ reuse: server });
  } finally {
    process.env.PLICO_DIST = original;
  }
  await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
  const bar = page.locator('#update-ready');
  await bar.getByText('A new version of Plico is ready.').waitFor({ timeout: 60_000 });
  await screenshot(page, 'pwa-update-ready');
  // Nothing changed under the session: still the old version's cache in use, no reload.
  await page.evaluate(() => { window.__sameDocument = true; });
  await page.waitForTimeout(1_000);
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no silent reload');
  await Promise.all([page.waitForEvent('load'), bar.getByRole('button', { name: 'Reload to update' }).click()]);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  const after = await page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('plico-shell-')));
  assert.equal(after.length, 1, 'the old version\'s cache is gone');
  assert.notDeepEqual(after, before, 'the new version is in use');
  assert.deepEqual(browser.problems, []);
  fs.rmSync(dist, { recursive: true, force: true });
});
