// Two Plico users exchange end-to-end encrypted mail through the real UI, in two browsers.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startBrowser, screenshot, signUp } from './harness.mjs';

let server;
let alice;
let bob;

before(async () => {
  server = await startServer();
  alice = await startBrowser();
  bob = await startBrowser();
  await signUp(alice.page, server.baseUrl, 'alice');
  await alice.page.waitForURL('**/mail/inbox', { timeout: 60_000 });
  await signUp(bob.page, server.baseUrl, 'bob');
  await bob.page.waitForURL('**/mail/inbox', { timeout: 60_000 });
});

after(async () => {
  await alice?.close();
  await bob?.close();
  await server?.stop();
});

test('alice sends bob a signed, encrypted message; bob reads it with a valid signature', async () => {
  const page = alice.page;
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByLabel('To', { exact: true }).fill('stranger');
  await page.getByLabel('Subject', { exact: true }).fill('E2E-SUBJECT lunch');
  await page.getByLabel('Message', { exact: true }).fill('E2E-BODY Noon at the usual place.');
  await page.getByRole('button', { name: 'Send encrypted' }).click();
  await page.getByRole('alert').filter({ hasText: 'No Plico account and no key for: stranger@plico.test. Nothing was sent.' }).waitFor({ timeout: 30_000 });
  await screenshot(page, '10-compose-unknown-recipient');

  await page.getByLabel('To', { exact: true }).fill('bob');
  await page.getByRole('button', { name: 'Send encrypted' }).click();
  await page.waitForURL('**/mail/sent', { timeout: 30_000 });
  await page.getByText('E2E-SUBJECT lunch').waitFor();
  await screenshot(page, '11-sent');

  const reader = bob.page;
  await reader.getByRole('link', { name: 'Sent' }).click();
  await reader.getByRole('link', { name: /^Inbox/ }).click();
  await reader.getByText('E2E-SUBJECT lunch').waitFor({ timeout: 30_000 });
  await reader.getByLabel('1 unread').waitFor();
  await reader.getByText('E2E-SUBJECT lunch').click();
  await reader.getByText('Signed by alice@plico.test: the signature is valid.').waitFor({ timeout: 30_000 });
  assert.match(await reader.locator('.message-text').textContent(), /E2E-BODY Noon at the usual place\./);
  assert.match(await reader.locator('.headers').textContent(), /bob@plico\.test/);
  await screenshot(reader, '12-reader');
  assert.deepEqual([...alice.problems, ...bob.problems], []);
});
