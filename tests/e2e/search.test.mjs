// Local search through the real UI: alice and carol write to bob; bob's browser indexes the
// mail it decrypts, encrypted in IndexedDB, and finds exactly the expected messages by word,
// phrase, prefix, accent-free spelling, from:, has:attachment, exclusion and date range. The
// index survives a reload without indexing again, follows a deletion, and shows no word raw.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startBrowser, screenshot, signUp, signIn, deviceStore } from './harness.mjs';

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

/** Types `query` in the search box and returns the subjects of the results, in order. */
async function search(page, query) {
  const box = page.getByRole('searchbox', { name: 'Search mail' });
  await box.fill(query);
  const results = page.locator('.search-results');
  // The answer for this query: a count line or "No messages match".
  await results.locator('.result-count, .empty-state').first().waitFor({ timeout: 30_000 });
  await page.waitForTimeout(150);
  if (await results.locator('.empty-state').count()) return [];
  return results.locator('.search-hit .row-subject').allTextContents();
}

function sorted(list) {
  return [...list].sort();
}

function day(offset) {
  const date = new Date(Date.now() + offset * 86_400_000);
  return date.toISOString().slice(0, 10);
}

test('bob finds exactly the expected messages by word, phrase, prefix, field, attachment and date', async () => {
  const page = bob.page;
  await page.reload();
  await signIn(page, server.baseUrl, 'bob@plico.test');
  await page.waitForURL('**/mail/inbox', { timeout: 60_000 });
  await page.locator('.messages').getByText('Holiday photos').waitFor({ timeout: 30_000 });
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
  await page.locator('.search-results .result-count').waitFor({ timeout: 30_000 });
  assert.deepEqual(await search(page, 'zanzibar '), ['Quarterly figures']);
  await page.waitForTimeout(1_000);
  assert.deepEqual(blobs, [], 'nothing downloaded to rebuild the index');

  // Deleting a message takes it out of the results.
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Inbox/ }).click();
  const row = page.locator('.message-item').filter({ hasText: 'Lunch' });
  await row.locator('.row-check').check();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
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
