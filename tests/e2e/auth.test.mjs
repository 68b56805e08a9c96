// The first user journey, end to end: the real server, the real app, real Chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PASSWORD, startServer, startBrowser, screenshot, signUp, signIn, publicKeyPacketBodies, wkdHash } from './harness.mjs';

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

test('sign up, see the fingerprint, sign out, sign in, see and delete the login history', async () => {
  const { page } = browser;
  await page.goto(`${server.baseUrl}/signup`);
  await page.getByRole('heading', { name: 'Create your encrypted mailbox' }).waitFor();
  await screenshot(page, '01-signup');

  // Watch the main thread while the keys are made: the heavy work is in the worker.
  await page.evaluate(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => window.__longTasks.push(...list.getEntries().map((e) => e.duration)))
      .observe({ type: 'longtask', buffered: false });
    // Record the progress stages the page shows while the worker works.
    window.__stages = [];
    new MutationObserver(() => {
      const status = document.querySelector('[role=status]');
      const text = status?.textContent?.trim();
      if (text && status.querySelector('progress') && window.__stages.at(-1) !== text) window.__stages.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const signUpStarted = Date.now();
  await signUp(page, server.baseUrl, 'Alice', PASSWORD, { navigate: false });
  await page.waitForURL('**/mail/inbox', { timeout: 60_000 });
  const signUpMs = Date.now() - signUpStarted;
  await page.getByRole('heading', { name: 'Your inbox is empty' }).waitFor();
  // Both wasm binaries arrive compressed: far fewer bytes on the wire than in memory. The
  // worker's own fetch is timed in the worker, so the page fetches its wasm once more to look.
  const wasmTransfers = await page.evaluate(async () => {
    await (await fetch('/plico-worker_bg.wasm', { cache: 'no-store' })).arrayBuffer();
    return performance.getEntriesByType('resource')
      .filter((entry) => entry.name.endsWith('.wasm'))
      .map((entry) => ({ name: entry.name, transfer: entry.transferSize, decoded: entry.decodedBodySize }));
  });
  assert.equal(wasmTransfers.length, 2, JSON.stringify(wasmTransfers));
  for (const entry of wasmTransfers) {
    assert.ok(entry.transfer < entry.decoded / 2, `${entry.name} was sent uncompressed: ${JSON.stringify(entry)}`);
  }
  const stages = await page.evaluate(() => window.__stages);
  assert.ok(stages.includes('Generating your encryption keys…'), `progress shown during sign-up: ${JSON.stringify(stages)}`);
  const longTasks = await page.evaluate(() => window.__longTasks);
  const longestTask = Math.max(0, ...longTasks);
  assert.ok(longestTask < 200, `the page froze for ${longestTask} ms during key generation`);
  await screenshot(page, '02-inbox');

  await page.getByRole('link', { name: /alice@plico\.test/ }).click();
  await page.getByRole('heading', { name: 'Account', exact: true }).waitFor();
  const fingerprint = (await page.getByLabel('Key fingerprint').textContent()).replace(/\s+/g, '');
  const published = await (await fetch(`${server.baseUrl}/api/v1/keys/alice@plico.test`)).json();
  assert.equal(fingerprint, published.fingerprint, 'the page shows the published key');
  assert.match(fingerprint, /^[0-9A-F]{40}$/);
  // The login history is in Settings now (checked below); the account page leads there.
  await page.getByRole('link', { name: 'Security settings' }).waitFor();
  await screenshot(page, '03-account');

  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.waitForURL('**/login');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await screenshot(page, '04-login');
  const session = await page.evaluate(async () => (await fetch('/api/v1/session')).status);
  assert.equal(session, 401, 'sign-out deletes the session on the server');

  const signInStarted = Date.now();
  await signIn(page, server.baseUrl, 'alice@plico.test');
  await page.waitForURL('**/mail/inbox', { timeout: 30_000 });
  const signInMs = Date.now() - signInStarted;
  console.log(`timings: sign-up ${signUpMs} ms, sign-in ${signInMs} ms, longest main-thread task ${longestTask} ms`);

  await page.goto(`${server.baseUrl}/mail/inbox`);
  // A reload empties memory: the keys are gone, so the app asks for the password again,
  // offering the still-signed-in address.
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  // The app fills the address once /api/v1/session answers.
  await page.waitForFunction(() => document.querySelector('#login-address')?.value === 'alice@plico.test', null, { timeout: 10_000 });
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/mail/inbox', { timeout: 30_000 });

  // The login history is with the rest of security, in the Settings app.
  await page.getByRole('link', { name: /alice@plico\.test/ }).click();
  await page.getByRole('link', { name: 'Security settings' }).click();
  const rows = page.getByRole('table').getByRole('row');
  await page.getByRole('cell', { name: 'Password sign-in' }).first().waitFor();
  assert.equal(await rows.count(), 1 + 3, 'header plus sign-up and two sign-ins');
  assert.equal(await page.getByRole('cell', { name: 'Password sign-in' }).count(), 2);
  assert.equal(await page.getByRole('cell', { name: '127.0.0.1' }).count(), 3);
  assert.equal(await page.getByRole('cell', { name: 'Chrome on Linux' }).count(), 3);

  await page.getByRole('button', { name: /^Delete the login of/ }).last().click();
  await page.getByRole('cell', { name: 'Account created' }).waitFor({ state: 'detached' });
  assert.equal(await rows.count(), 1 + 2);

  await page.getByRole('button', { name: 'Delete all' }).click();
  await page.getByText('No logins recorded.').waitFor();
  await screenshot(page, '05-history-deleted');
  assert.deepEqual(browser.problems, []);
});

test('a wrong password, a taken name and a weak password each get a clear message', async () => {
  const { page } = browser;
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.waitForURL('**/login');

  await signIn(page, server.baseUrl, 'alice', 'not my password at all');
  await page.getByRole('alert').filter({ hasText: 'Wrong name or password.' }).waitFor({ timeout: 30_000 });
  await screenshot(page, '06-wrong-password');

  await signIn(page, server.baseUrl, 'nobody-here', PASSWORD);
  await page.getByRole('alert').filter({ hasText: 'Wrong name or password.' }).waitFor({ timeout: 30_000 });

  await signUp(page, server.baseUrl, 'alice');
  await page.getByRole('alert').filter({ hasText: 'The name alice is already taken.' }).waitFor({ timeout: 30_000 });
  await screenshot(page, '07-name-taken');

  await page.goto(`${server.baseUrl}/signup`);
  await page.getByLabel('Address', { exact: true }).fill('bob');
  await page.getByLabel('Password', { exact: true }).fill('password123');
  await page.getByText('That password is one of the most common passwords. Choose another.').waitFor();
  await page.getByLabel('Address', { exact: true }).fill('bo!b');
  await page.getByText(/The name may contain only letters/).waitFor();
  await page.getByRole('button', { name: 'Create account' }).click();
  assert.equal(new URL(page.url()).pathname, '/signup', 'an invalid form is not sent');
  // A good form still needs the terms accepted; the link to them opens beside the form.
  await page.getByLabel('Address', { exact: true }).fill('bob');
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Confirm password').fill(PASSWORD);
  assert.equal(await page.getByLabel('I accept the terms of use').isChecked(), false, 'not ticked for the user');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByText('Accept the terms of use to create an account.').waitFor();
  assert.equal(await page.getByRole('link', { name: 'Read the terms of use' }).getAttribute('target'), '_blank');
  await page.waitForTimeout(500);
  assert.equal(new URL(page.url()).pathname, '/signup', 'not sent without the terms');
  await screenshot(page, '08-signup-validation');
});

test('the SQLite files hold neither the password nor an unencrypted secret key', async () => {
  // The binary certificate, as Web Key Directory serves it to any OpenPGP client.
  const response = await fetch(`${server.baseUrl}/.well-known/openpgpkey/hu/${wkdHash('alice')}?l=alice`);
  assert.equal(response.status, 200);
  const binary = Buffer.from(await response.arrayBuffer());
  const bodies = publicKeyPacketBodies(binary);
  assert.equal(bodies.length, 2, 'the primary key and the encryption subkey');
  assert.ok(fs.readdirSync(server.dataDir).includes('plico.sqlite'));

  const files = fs.readdirSync(server.dataDir, { recursive: true })
    .map((name) => path.join(server.dataDir, name))
    .filter((file) => fs.statSync(file).isFile());
  let publicKeySeen = false;
  for (const file of files) {
    const bytes = fs.readFileSync(file);
    for (const password of ['violet staple orbit 42', 'not my password at all']) {
      assert.equal(bytes.indexOf(Buffer.from(password, 'utf8')), -1, `${file} contains a password`);
      assert.equal(bytes.indexOf(Buffer.from(password, 'utf16le')), -1, `${file} contains a password (UTF-16)`);
    }
    assert.equal(bytes.indexOf(Buffer.from('PRIVATE KEY BLOCK')), -1, `${file} contains an armored secret key`);
    for (const body of bodies) {
      if (bytes.indexOf(body) !== -1) publicKeySeen = true;
      // A secret key packet is the public key body followed by S2K usage 0 when unencrypted;
      // in a public certificate the next byte is always a packet header with its high bit set.
      assert.equal(bytes.indexOf(Buffer.concat([body, Buffer.from([0])])), -1, `${file} contains an unencrypted secret key`);
    }
  }
  assert.ok(publicKeySeen, 'the search is real: the public key bodies are in the database');
});
