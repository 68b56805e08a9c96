// Local search through the real UI: alice and carol write to bob; bob's browser indexes the
// mail it decrypts, encrypted in IndexedDB, and finds exactly the expected messages by word,
// phrase, prefix, accent-free spelling, from:, has:attachment, exclusion and date range. The
// index survives a reload without indexing again, follows a deletion, and shows no word raw.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startBrowser, screenshot, signUp, signIn, deviceStore, searchSubjects } from './harness.mjs';

let server;
let alice;
let bob;
let carol;

const MAIL = [
  { from: 'alice', subject: 'Quarterly figures', body: 'The quarterly budget review is on Tuesday at the Zanzibar office.' },
  { from: 'alice', subject: "Réunion d'équipe", body: 'La réunion aura lieu jeudi à Malmö. Ordre du jour en pièce jointe.', file: 'agenda-jeudi.pdf' },
  { from: 'carol', subject: 'Lunch', body: 'Shall we meet for lunch near the budget office? Carol' },
  { from: 'carol', subject: 'Holiday photos', body: 'Pictures from the trip to the mountains.' },
];

before(async () => {
  server = await startServer();
  [alice, bob, carol] = [await startBrowser(), await startBrowser(), await startBrowser()];
  for (const [user, name] of [[alice, 'alice'], [bob, 'bob'], [carol, 'carol']]) {
    await signUp(user.page, server.baseUrl, name);
    await user.page.waitForURL('**/mail/inbox', { timeout: 60_000 });
  }
  for (const mail of MAIL) {
    const page = (mail.from === 'alice' ? alice : carol).page;
    await page.getByRole('link', { name: 'New message' }).click();
    await page.getByLabel('To', { exact: true }).fill('bob');
    await page.getByLabel('Subject', { exact: true }).fill(mail.subject);
    await page.getByLabel('Message', { exact: true }).fill(mail.body);
    if (mail.file) {
      await page.locator('#compose-files').setInputFiles({ name: mail.file, mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 agenda') });
    }
    await page.getByRole('button', { name: 'Send encrypted' }).click();
    await page.waitForURL('**/mail/sent', { timeout: 60_000 });
  }
});

after(async () => {
  await alice?.close();
  await bob?.close();
  await carol?.close();
  await server?.stop();
});

const search = (page, query) => searchSubjects(page, query);

function sorted(list) {
  return [...list].sort();
}

function day(offset) {
  const date = new Date(Date.now() + offset * 86_400_000);
  return date.toISOString().slice(0, 10);
}

test('bob finds exactly the expected messages by word, phrase, prefix, field, attachment and date', async () => {
  const page = bob.page;
  // Bob is signed in since before the mail was sent: the next poll (every 15 s) brings it.
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Inbox/ }).click();
  await page.locator('.messages').getByText('Holiday photos').waitFor({ timeout: 60_000 });
  await page.getByRole('searchbox', { name: 'Search mail' }).click();
  await page.getByRole('searchbox', { name: 'Search mail' }).fill('budget');
  await page.waitForURL('**/search');
  await page.locator('.index-status').getByText(/4 messages indexed on this device/).waitFor({ timeout: 60_000 });

  assert.deepEqual(sorted(await search(page, 'budget ')), ['Lunch', 'Quarterly figures']);
  assert.deepEqual(await search(page, '"budget review"'), ['Quarterly figures']);
  assert.deepEqual(await search(page, '"review budget"'), []);
  assert.deepEqual(await search(page, 'zanzi'), ['Quarterly figures'], 'the last word is a prefix');
  assert.deepEqual(await search(page, 'reunion malmo '), ["Réunion d'équipe"], 'accents do not matter');
  assert.deepEqual(sorted(await search(page, 'from:carol ')), ['Holiday photos', 'Lunch']);
  assert.deepEqual(await search(page, 'has:attachment '), ["Réunion d'équipe"]);
  assert.deepEqual(await search(page, 'agenda '), ["Réunion d'équipe"], 'attachment names are indexed');
  assert.deepEqual(await search(page, 'budget -lunch '), ['Quarterly figures']);
  assert.deepEqual(await search(page, 'meetings '), ['Lunch'], 'light stemming: meetings finds meet');
  assert.equal((await search(page, `after:${day(-1)} before:${day(1)} `)).length, 4);
  assert.deepEqual(await search(page, `budget after:${day(1)} `), []);
  assert.deepEqual(await search(page, `before:${day(0)} `), []);
  assert.deepEqual(await search(page, 'unicorn '), []);

  // Matches are highlighted, and a result opens in the reader.
  await search(page, 'quarterly budget ');
  const marks = await page.locator('.search-hit mark').allTextContents();
  assert.ok(marks.includes('Quarterly') && marks.includes('budget'), JSON.stringify(marks));
  await screenshot(page, '60-search-results');
  await page.locator('.search-hit .message-row').first().click();
  await page.locator('.reader').getByText('Zanzibar office').waitFor({ timeout: 30_000 });
  await screenshot(page, '61-search-result-opened');

  // A bad operator says what is wrong.
  await page.getByRole('searchbox', { name: 'Search mail' }).fill('before:yesterday ');
  await page.getByRole('alert').filter({ hasText: 'YYYY-MM-DD' }).waitFor({ timeout: 10_000 });
  await screenshot(page, '62-search-bad-date');
});

test('the index is kept encrypted: reopened without indexing again, never readable raw, and it follows deletions', async () => {
  const page = bob.page;
  // Signed out, the sealed copy stays: nothing readable, neither names nor bytes.
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.waitForURL('**/login');
  const stored = await deviceStore(page);
  const needles = ['budget', 'Budget', 'quarterly', 'Quarterly', 'zanzibar', 'Zanzibar', 'agenda', 'carol', 'Holiday', 'union'];
  const found = [];
  for (const text of [...stored.keys, ...stored.values]) for (const needle of needles) if (text.includes(needle)) found.push(needle);
  assert.deepEqual(found, [], 'no indexed word in IndexedDB');

  // Signing in again reads the index back: no message is downloaded to index it again.
  const blobs = [];
  page.on('request', (request) => { if (request.url().includes('/api/v1/blobs/')) blobs.push(request.url()); });
  await signIn(page, server.baseUrl, 'bob@plico.test');
  await page.waitForURL('**/mail/inbox', { timeout: 60_000 });
  await page.getByRole('searchbox', { name: 'Search mail' }).fill('zanzibar ');
  assert.deepEqual(await search(page, 'zanzibar '), ['Quarterly figures']);
  await page.waitForTimeout(1_000);
  assert.deepEqual(blobs, [], 'nothing downloaded to rebuild the index');

  // Offline, search still answers from the local index.
  await bob.context.setOffline(true);
  assert.deepEqual(sorted(await search(page, 'from:carol ')), ['Holiday photos', 'Lunch']);
  await bob.context.setOffline(false);

  // Deleting a message takes it out of the results.
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Inbox/ }).click();
  const row = page.locator('.message-item').filter({ hasText: 'Lunch' });
  await row.locator('.row-check').check();
  await page.getByRole('toolbar', { name: 'Actions on selected messages' }).getByRole('button', { name: 'Delete', exact: true }).click();
  await row.waitFor({ state: 'detached', timeout: 30_000 });
  await page.getByRole('searchbox', { name: 'Search mail' }).fill('budget ');
  await page.waitForURL('**/search');
  let subjects = [];
  for (let attempt = 0; attempt < 40; attempt += 1) {
    subjects = await search(page, 'budget ');
    if (subjects.length === 1) break;
    await page.waitForTimeout(250);
  }
  assert.deepEqual(subjects, ['Quarterly figures']);
  assert.deepEqual(bob.problems, []);
});

test('a big first build shows its progress and time left, pauses, resumes and finishes', async () => {
  const page = alice.page;
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.waitForURL('**/login');
  const { execFileSync } = await import('node:child_process');
  execFileSync(process.env.PLICO_BIN, ['seed', '--data-dir', server.dataDir, '--domain', 'plico.test', '--account', 'alice', '--messages', '3000']);
  await signIn(page, server.baseUrl, 'alice@plico.test');
  await page.waitForURL('**/mail/inbox', { timeout: 60_000 });
  await page.getByRole('searchbox', { name: 'Search mail' }).fill('seeded');
  const status = page.locator('.index-status');
  await status.locator('progress').waitFor({ timeout: 120_000 });
  assert.match(await status.textContent(), /Indexing on this device: [\d,]+ of 3,000 messages, about \d+ (s|min) left\. Searchable back to /);
  await screenshot(page, '63-search-indexing');
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('button', { name: 'Resume' }).waitFor({ timeout: 30_000 });
  const paused = await status.textContent();
  assert.match(paused, /Indexing paused: [\d,]+ messages are not searchable yet/);
  await page.waitForTimeout(2_000);
  assert.equal(await status.textContent(), paused, 'nothing is indexed while paused');
  await screenshot(page, '64-search-paused');
  await page.getByRole('button', { name: 'Resume' }).click();
  // The 3000 seeded messages and the copies of the two alice sent.
  await status.getByText(/^3,002 messages indexed on this device/).waitFor({ timeout: 600_000 });
  assert.equal((await search(page, 'seeded ')).length, 50);
  assert.match(await page.locator('.search-results .result-count').textContent(), /^3,000 messages \(the best 50 shown\)/);
  assert.deepEqual(alice.problems, []);
});

test('when the browser has no room left, indexing stops and says so, and what was indexed stays searchable', async () => {
  // Erin signs up in one browser and is indexed in another: Chromium keeps a quota per origin
  // bucket that it reads when IndexedDB is first used there, and a browser that already used
  // IndexedDB for the origin (the sign-up does) went on writing past an override set later.
  const newcomer = await startBrowser();
  try {
    await signUp(newcomer.page, server.baseUrl, 'erin');
    await newcomer.page.waitForURL('**/mail/inbox', { timeout: 60_000 });
  } finally {
    await newcomer.close();
  }
  const { execFileSync } = await import('node:child_process');
  execFileSync(process.env.PLICO_BIN, ['seed', '--data-dir', server.dataDir, '--domain', 'plico.test', '--account', 'erin', '--messages', '4000']);
  const user = await startBrowser();
  try {
    const page = user.page;
    await page.goto(`${server.baseUrl}/login`);
    // Room for 400 KB more: far below what 4,000 messages' index needs. Counted from what the
    // origin already uses (the service worker's precached app is about 8 MB): Chromium 156 does
    // not refuse the index's writes under a quota set below the usage already there.
    const cdp = await user.context.newCDPSession(page);
    // The service worker precaches the app (nine wasm binaries since Settings) as it installs;
    // what it adds after the quota is set would push the usage over it, and Chromium then
    // refuses nothing. `ready` (an active worker) means the install is done; the usage is then
    // read once three readings a second apart agree.
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    let usage = -1;
    let same = 0;
    for (let i = 0; i < 120 && same < 2; i += 1) {
      const now = (await cdp.send('Storage.getUsageAndQuota', { origin: server.baseUrl })).usage;
      same = now === usage ? same + 1 : 0;
      usage = now;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.baseUrl, quotaSize: usage + 400_000 });
    await signIn(page, server.baseUrl, 'erin@plico.test');
    await page.waitForURL('**/mail/inbox', { timeout: 60_000 });
    await page.getByRole('searchbox', { name: 'Search mail' }).fill('seeded ');
    const status = page.locator('.index-status');
    await status.getByText(/no more room for the search index: older mail is not searchable/).waitFor({ timeout: 300_000 });
    await screenshot(page, '66-search-out-of-space');
    // What is indexed (the newest mail) is still found.
    const found = await search(page, 'seeded ');
    assert.ok(found.length > 0, 'the newest mail is searchable');
  } finally {
    await user.close();
  }
});
