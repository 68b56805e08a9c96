// Offline, in a browser with the network emulated off (DevTools): mail already opened or
// synced reads and is found by search from this device's sealed copies, mail written goes to
// the Outbox encrypted and leaves by itself when the connection returns, and the indicator says
// what is going on. Nothing plaintext is in IndexedDB meanwhile.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startSignedUp, searchSubjects, screenshot, deviceStore, PASSWORD } from './harness.mjs';

let server;
let alice;
let bob;

async function send(page, to, subject, text) {
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByLabel('To', { exact: true }).fill(to);
  await page.getByLabel('Subject', { exact: true }).fill(subject);
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Send encrypted' }).click();
}

const folder = (page, name) => page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: new RegExp(`^${name}`) });

const search = (page, query) => searchSubjects(page, query, 60_000);

before(async () => {
  server = await startServer();
  alice = await startSignedUp(server.baseUrl, 'alice');
  bob = await startSignedUp(server.baseUrl, 'bob');
  await send(bob.page, 'alice', 'Harbour plans', 'The harbour opens at dawn; bring the blue charts.');
  await bob.page.waitForURL('**/mail/sent', { timeout: 60_000 });
  await bob.page.waitForTimeout(1_100);
  await send(bob.page, 'alice', 'Lighthouse rota', 'Your lighthouse shift is on Thursday night.');
  await bob.page.waitForURL('**/mail/sent', { timeout: 60_000 });
});

after(async () => {
  await alice?.close();
  await bob?.close();
  await server?.stop();
});

test('offline, opened and synced mail reads and is found; mail written waits in the Outbox and goes when the connection is back', async () => {
  const { page, context } = alice;
  await folder(page, 'Inbox').click();
  await page.locator('.message-row', { hasText: 'Lighthouse rota' }).waitFor({ timeout: 60_000 });
  // One message opened; the other only synced (and indexed for search).
  await page.locator('.message-row', { hasText: 'Harbour plans' }).click();
  await page.locator('.reader', { hasText: 'bring the blue charts' }).waitFor({ timeout: 60_000 });
  assert.deepEqual(await search(page, 'lighthouse'), ['Lighthouse rota'], 'the index holds the unopened one');
  // The copies are saved a second after they were read.
  await page.waitForTimeout(2_500);

  await context.setOffline(true);
  try {
    await page.locator('#offline-indicator').getByText('Offline.').waitFor();
    await folder(page, 'Inbox').click();
    await page.locator('.message-row', { hasText: 'Lighthouse rota' }).click();
    await page.locator('.reader', { hasText: 'Your lighthouse shift is on Thursday night.' }).waitFor({ timeout: 30_000 });
    await page.locator('.message-row', { hasText: 'Harbour plans' }).click();
    await page.locator('.reader', { hasText: 'bring the blue charts' }).waitFor({ timeout: 30_000 });
    const signature = await page.locator('.reader .signature').textContent();
    assert.match(signature, /valid/, `the sender's key fetched earlier still checks the signature: ${signature}`);
    assert.equal(await page.locator('.message-list .error').count(), 0, 'no sync error beside the offline indicator');
    await screenshot(page, 'offline-reader');

    assert.deepEqual(await search(page, 'charts'), ['Harbour plans'], 'search works offline');
    await page.locator('.search-results .search-hit', { hasText: 'Harbour plans' }).click();
    await page.locator('.reader', { hasText: 'bring the blue charts' }).waitFor({ timeout: 30_000 });

    await send(page, 'bob', 'Written on the train', 'No signal here; this goes when we arrive.');
    await page.waitForURL('**/mail/outbox', { timeout: 60_000 });
    const row = page.locator('.outbox-item', { hasText: 'Written on the train' });
    await row.getByText('Waiting for the connection.').waitFor();
    assert.equal(await row.locator(".row-from").textContent(), "To: bob", "the recipients as written");
    assert.equal(await folder(page, 'Outbox').locator('.outbox-count').textContent(), '1');
    await screenshot(page, 'offline-outbox');

    // The Outbox, the kept copies and the index are all sealed: no word of any of it is readable.
    const store = await deviceStore(page);
    for (const word of ['Written on the train', 'No signal here', 'harbour', 'Harbour', 'lighthouse', 'Thursday', 'bob@plico.test']) {
      assert.ok(!store.values.some((value) => value.includes(word)), `"${word}" is not readable in IndexedDB`);
      assert.ok(!store.keys.some((key) => String(key).includes(word)));
    }
  } finally {
    await context.setOffline(false);
  }

  // Back online: it leaves by itself, and shows in Sent.
  await page.locator('#offline-indicator').waitFor({ state: 'detached' });
  await page.getByText('Nothing waits to be sent').waitFor({ timeout: 60_000 });
  await folder(page, 'Outbox').waitFor({ state: 'detached' });
  await folder(page, 'Sent').click();
  await page.locator('.message-row', { hasText: 'Written on the train' }).waitFor({ timeout: 60_000 });
  await folder(bob.page, 'Inbox').click();
  await bob.page.locator('.message-row', { hasText: 'Written on the train' }).click({ timeout: 60_000 });
  await bob.page.locator('.reader', { hasText: 'No signal here; this goes when we arrive.' }).waitFor({ timeout: 60_000 });

  // Offline, the API calls fail (and say so in the console); nothing else may.
  const unexpected = alice.problems.filter((p) => !p.includes('ERR_INTERNET_DISCONNECTED'));
  assert.deepEqual(unexpected, []);
  assert.deepEqual(bob.problems, []);
});

test('mail that came while offline shows once back; an Outbox message deleted by hand never leaves', async () => {
  const { page, context } = alice;
  await send(bob.page, 'alice', 'Arrived while away', 'You never saw this one online.');
  await bob.page.waitForURL('**/mail/sent', { timeout: 60_000 });
  await context.setOffline(true);
  try {
    await page.locator('#offline-indicator').waitFor();
    await folder(page, 'Inbox').click();
    assert.equal(await page.locator('.message-row', { hasText: 'Arrived while away' }).count(), 0, 'not synced before the network went');
    await send(page, 'bob', 'Never mind', 'Scratch that.');
    await page.waitForURL('**/mail/outbox', { timeout: 60_000 });
    const row = page.locator('.outbox-item', { hasText: 'Never mind' });
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('Nothing waits to be sent').waitFor();
  } finally {
    await context.setOffline(false);
  }
  await folder(page, 'Inbox').click();
  await page.locator('.message-row', { hasText: 'Arrived while away' }).waitFor({ timeout: 60_000 });
  await folder(bob.page, 'Inbox').click();
  await bob.page.waitForTimeout(2_000);
  assert.equal(await bob.page.locator('.message-row', { hasText: 'Never mind' }).count(), 0, 'a deleted Outbox message never leaves');
});

/** The names of the records in this device's store. */
async function storeKeys(page) {
  return (await deviceStore(page))?.keys.map(String) ?? [];
}

/** Waits until this device does (or no longer does) keep a way in offline. */
async function waitForWayIn(page, kept) {
  for (let waited = 0; waited < 60_000; waited += 500) {
    if ((await storeKeys(page)).some((key) => key.startsWith('device-unlock/')) === kept) return;
    await page.waitForTimeout(500);
  }
  assert.fail(`the way in offline is ${kept ? 'still missing' : 'still there'} after 60 s`);
}

async function fillLogin(page, password) {
  await page.getByLabel('Address').fill('alice');
  await page.getByLabel('Password').fill(password);
}

test('a device kept usable offline opens without the network: the password unlocks its saved mailbox, which reads and searches', async () => {
  const { page, context } = alice;
  // A new sign-in with the box ticked: this device keeps its own way in.
  await page.goto(`${server.baseUrl}/login`);
  await fillLogin(page, PASSWORD);
  const keep = page.getByLabel('Keep this device usable offline');
  assert.equal(await keep.isChecked(), false, 'off until the user asks for it');
  await keep.check();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/mail/inbox', { timeout: 60_000 });
  await page.locator('.message-row', { hasText: 'Arrived while away' }).waitFor({ timeout: 60_000 });
  // The way in is written just after sign-in (one Argon2id), the mailbox a moment after a change.
  await waitForWayIn(page, true);
  await page.waitForTimeout(2_500);
  const kept = (await storeKeys(page)).filter((key) => key.startsWith('device-unlock/'));
  assert.equal(kept.length, 1);
  assert.ok(!kept[0].includes('alice'), `the record's name does not say whose it is: ${kept[0]}`);

  await context.setOffline(true);
  try {
    // A reload forgets the keys; the service worker serves the app.
    await page.reload();
    await page.locator('#offline-indicator').getByText('Offline.').waitFor();
    await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 30_000 });
    await fillLogin(page, 'not the password at all');
    await page.waitForFunction(() => document.querySelector('#keep-offline')?.checked === true, null, { timeout: 30_000 });
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Wrong name or password.').waitFor({ timeout: 60_000 });
    assert.ok(page.url().endsWith('/login'), 'a wrong password opens nothing offline either');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/mail/inbox', { timeout: 60_000 });
    for (const subject of ['Harbour plans', 'Lighthouse rota', 'Arrived while away']) {
      await page.locator('.message-row', { hasText: subject }).waitFor({ timeout: 30_000 });
    }
    await page.locator('.message-row', { hasText: 'Harbour plans' }).click();
    await page.locator('.reader', { hasText: 'bring the blue charts' }).waitFor({ timeout: 30_000 });
    assert.deepEqual(await search(page, 'lighthouse'), ['Lighthouse rota'], 'the index opens offline too');
    assert.equal(await page.locator('.message-list .error').count(), 0, 'no sync error beside the offline indicator');
    await screenshot(page, 'offline-unlocked');
  } finally {
    await context.setOffline(false);
  }

  // Back online, the saved mailbox catches up from its cursor.
  await send(bob.page, 'alice', 'After the crossing', 'Landed safely.');
  await bob.page.waitForURL('**/mail/sent', { timeout: 60_000 });
  await folder(page, 'Inbox').click();
  await page.locator('.message-row', { hasText: 'After the crossing' }).waitFor({ timeout: 60_000 });

  // Signing in with the box unticked deletes the way in: offline, the server is needed again.
  await page.goto(`${server.baseUrl}/login`);
  await fillLogin(page, PASSWORD);
  await page.waitForFunction(() => document.querySelector('#keep-offline')?.checked === true, null, { timeout: 30_000 });
  await keep.uncheck();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/mail/inbox', { timeout: 60_000 });
  await waitForWayIn(page, false);
  await context.setOffline(true);
  try {
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 30_000 });
    await fillLogin(page, PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Could not reach the server').waitFor({ timeout: 60_000 });
  } finally {
    await context.setOffline(false);
  }
  const unexpected = alice.problems.filter((p) => !p.includes('ERR_INTERNET_DISCONNECTED'));
  assert.deepEqual(unexpected, []);
});
