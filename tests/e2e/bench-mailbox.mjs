// `cargo xtask bench` runs this after the OpenPGP comparison: the mailbox-load benchmark. One
// account gets 10,000 encrypted messages (`plico seed`); then the app is opened again from the
// browser's cache and signed in, and we time how long the first page of the Inbox takes to show.
// Usage: PLICO_BIN=... PLICO_DIST=... node bench-mailbox.mjs [messages]

import { execFileSync } from 'node:child_process';
import { startServer, startBrowser, signUp, signIn } from './harness.mjs';

const count = Number(process.argv[2] ?? '10000');
const server = await startServer();
const browser = await startBrowser();
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

  const runs = [];
  for (let run = 0; run < 3; run += 1) {
    // Opening the app again: everything comes from the browser's cache; the keys must be
    // unlocked with the password, as on every visit.
    const openStart = Date.now();
    await page.goto(`${server.baseUrl}/login`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const appReady = Date.now() - openStart;
    await signIn(page, server.baseUrl, 'alice@plico.test');
    await page.waitForURL('**/mail/inbox', { timeout: 120_000 });
    const unlocked = Date.now();
    await page.locator('.message-row').first().waitFor({ timeout: 300_000 });
    const firstPage = Date.now() - unlocked;
    const rows = await page.locator('.message-row').count();
    runs.push({ appReady, firstPage, total: Date.now() - openStart, rows });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/login');
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const report = {
    messages: count,
    seedMs,
    syncRequestMs: syncMs,
    syncBytes: syncBody.length,
    appReadyMs: median(runs.map((r) => r.appReady)),
    firstPageAfterUnlockMs: median(runs.map((r) => r.firstPage)),
    openToFirstPageMs: median(runs.map((r) => r.total)),
    rowsOnFirstPage: runs[0].rows,
    runs,
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  await browser.close();
  await server.stop();
}
