// `cargo xtask bench` runs this after the OpenPGP comparison: the mailbox-load benchmark. One
// account gets 10,000 encrypted messages (`plico seed`); then the app is opened again from the
// browser's cache and signed in, and we time how long the first page of the Inbox takes to show:
// once with nothing saved on the device, then from the sealed copy in IndexedDB.
// Usage: PLICO_BIN=... PLICO_DIST=... node bench-mailbox.mjs [messages]

import { execFileSync } from 'node:child_process';
import { startServer, startBrowser, signUp, signIn } from './harness.mjs';

const count = Number(process.argv[2] ?? '10000');
const server = await startServer();
const browser = await startBrowser();
// What the page and its workers said, printed if the benchmark fails.
const consoleLines = [];
browser.page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
browser.page.on('worker', (worker) => worker.on('console', (message) => consoleLines.push(`worker ${message.type()}: ${message.text()}`)));
try {
  const page = browser.page;
  await signUp(page, server.baseUrl, 'alice');
  await page.waitForURL('**/mail/inbox', { timeout: 60_000 });
  const seedStart = Date.now();
  execFileSync(process.env.PLICO_BIN, ['seed', '--data-dir', server.dataDir, '--domain', 'plico.test', '--account', 'alice', '--messages', String(count)]);
  const seedMs = Date.now() - seedStart;
  const syncStart = Date.now();
  const syncBody = await (await page.request.get(`${server.baseUrl}/api/v1/sync?since=0&summaries=false`)).body();
  const syncMs = Date.now() - syncStart;

  // One visit that finds nothing on this device (its saved copy deleted first), then three that
  // open from the sealed copy the previous visit left. The target is for the latter: "opening
  // the app (cached)".
  const runs = [];
  // Main-thread long tasks on every page load (the whole list arrives after the first page).
  await page.addInitScript(() => {
    window.__longest = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.__longest = Math.max(window.__longest, entry.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
  for (let run = 0; run < 4; run += 1) {
    const cold = run === 0;
    // Opening the app again: everything comes from the browser's cache; the keys must be
    // unlocked with the password, as on every visit.
    const openStart = Date.now();
    await page.goto(`${server.baseUrl}/login`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const appReady = Date.now() - openStart;
    if (cold) {
      await page.evaluate(() => new Promise((resolve, reject) => {
        const request = indexedDB.deleteDatabase('plico-local');
        request.onsuccess = resolve;
        request.onerror = () => reject(request.error);
      }));
    }
    await signIn(page, server.baseUrl, 'alice@plico.test');
    await page.waitForURL('**/mail/inbox', { timeout: 120_000 });
    const unlocked = Date.now();
    await page.locator('.message-row').first().waitFor({ timeout: 300_000 });
    const firstPage = Date.now() - unlocked;
    const rows = await page.locator('.message-row').count();
    // Let the sync and the summaries that follow run for a while before signing out.
    await page.waitForTimeout(cold ? 15_000 : 3_000);
    const longestTask = Math.round(await page.evaluate(() => window.__longest));
    runs.push({ cold, appReady, firstPage, total: Date.now() - openStart, rows, longestTask });
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL('**/login');
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const warm = runs.filter((r) => !r.cold);
  const report = {
    messages: count,
    seedMs,
    syncRequestMs: syncMs,
    syncBytes: syncBody.length,
    appReadyMs: median(runs.map((r) => r.appReady)),
    firstPageAfterUnlockColdMs: runs[0].firstPage,
    firstPageAfterUnlockMs: median(warm.map((r) => r.firstPage)),
    longestMainThreadTaskMs: Math.max(...runs.map((r) => r.longestTask)),
    rowsOnFirstPage: warm[0].rows,
    runs,
  };
  console.log(JSON.stringify(report, null, 2));
  // Issue 3's target: the first page within 300 ms of opening the app with its cache.
  if (report.firstPageAfterUnlockMs > 300) {
    console.error(`mailbox load: first page ${report.firstPageAfterUnlockMs} ms after unlock, over the 300 ms target`);
    process.exitCode = 1;
  }
} catch (error) {
  console.error(consoleLines.slice(-40).join('\n'));
  console.error(browser.problems.join('\n'));
  console.error(server.log.slice(-20).join(''));
  throw error;
} finally {
  await browser.close();
  await server.stop();
}
