// Two Plico users exchange end-to-end encrypted mail through the real UI, in two browsers, against
// the real server: send with a 1 MiB attachment, read and verify, download byte-identical, reply
// and see the conversation, flags, user folders, moves, Trash, recovery and the 45-day purge.
// Then nothing readable may be on the server's disk.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, startBrowser, startSignedUp, screenshot, signIn, deviceStore } from './harness.mjs';

let server;
let alice;
let bob;

const SUBJECT = 'E2E-SUBJECT lunch';
const BODY = 'E2E-BODY Noon at the usual place.';
const REPLY = 'E2E-REPLY See you there.';
const FILE_NAME = 'E2E-contract.bin';
const MARKER = 'E2E-ATTACHMENT-MARKER';
const FOLDER = 'E2E-FOLDER Projects';
const ATTACHMENT = Buffer.concat([Buffer.from(MARKER), crypto.randomBytes(1024 * 1024 - MARKER.length)]);

before(async () => {
  server = await startServer();
  alice = await startSignedUp(server.baseUrl, 'alice');
  bob = await startSignedUp(server.baseUrl, 'bob');
});

after(async () => {
  await alice?.close();
  await bob?.close();
  await server?.stop();
});

/** Opens a folder from the sidebar and waits for a message with `text` in the list. */
async function openFolder(page, name, text) {
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: new RegExp(`^${name}`) }).click();
  if (text) await page.locator('.messages').getByText(text).first().waitFor({ timeout: 30_000 });
}

function row(page, text) {
  return page.locator('.message-item').filter({ hasText: text });
}

function sql(query) {
  return execFileSync('sqlite3', [path.join(server.dataDir, 'plico.sqlite'), query], { encoding: 'utf8' }).trim();
}

function filesUnder(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

test('an unknown recipient is refused before anything is sent', async () => {
  const page = alice.page;
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByLabel('To', { exact: true }).fill('stranger');
  await page.getByLabel('Subject', { exact: true }).fill(SUBJECT);
  await page.getByRole('button', { name: 'Send encrypted' }).click();
  await page.getByRole('alert').filter({ hasText: 'No Plico account and no key for: stranger@plico.test. Nothing was sent.' }).waitFor({ timeout: 30_000 });
  await screenshot(page, '10-compose-unknown-recipient');
});

test('alice sends bob a 1 MiB attachment; bob reads it, sees a valid signature and downloads it byte-identical', async () => {
  const page = alice.page;
  await page.getByLabel('To', { exact: true }).fill('bob');
  await page.getByLabel('Message', { exact: true }).fill(BODY);
  await page.locator('#compose-files').setInputFiles({ name: FILE_NAME, mimeType: 'application/octet-stream', buffer: ATTACHMENT });
  await page.getByText(`${FILE_NAME} (1 MB)`).waitFor();
  await screenshot(page, '11-compose-with-attachment');
  // Record every progress line the composer shows while it sends.
  await page.evaluate(() => {
    window.__progress = [];
    new MutationObserver(() => {
      const line = document.querySelector('.progress span')?.textContent;
      if (line && window.__progress.at(-1) !== line) window.__progress.push(line);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await page.getByRole('button', { name: 'Send encrypted' }).click();
  await page.waitForURL('**/mail/sent', { timeout: 60_000 });
  const progress = await page.evaluate(() => window.__progress);
  assert.ok(progress.includes('Encrypting…'), JSON.stringify(progress));
  assert.ok(progress.some((line) => /^Uploading the encrypted message… \d+%$/.test(line)), JSON.stringify(progress));
  assert.ok(progress.includes('Uploading the encrypted message… 100%'), JSON.stringify(progress));
  await page.getByText(SUBJECT).waitFor();

  const reader = bob.page;
  await openFolder(reader, 'Sent');
  await openFolder(reader, 'Inbox', SUBJECT);
  await reader.getByLabel('1 unread').waitFor();
  await reader.locator('.message-row').filter({ hasText: SUBJECT }).click();
  await reader.getByText('Signed by alice@plico.test: the signature is valid.').waitFor({ timeout: 30_000 });
  assert.match(await reader.locator('.message-text').textContent(), /E2E-BODY Noon at the usual place\./);
  assert.match(await reader.locator('.headers').textContent(), /bob@plico\.test/);
  const [download] = await Promise.all([
    reader.waitForEvent('download', { timeout: 30_000 }),
    reader.getByRole('button', { name: new RegExp(FILE_NAME) }).click(),
  ]);
  assert.equal(download.suggestedFilename(), FILE_NAME);
  const downloaded = fs.readFileSync(await download.path());
  assert.equal(downloaded.length, ATTACHMENT.length);
  assert.ok(downloaded.equals(ATTACHMENT), 'the attachment comes back byte-identical');
  await screenshot(reader, '12-reader');
});

test('bob replies with the original quoted; alice sees both messages in one conversation', async () => {
  const page = bob.page;
  await page.getByRole('button', { name: 'Reply', exact: true }).click();
  await page.waitForURL('**/compose');
  assert.equal(await page.getByLabel('To', { exact: true }).inputValue(), 'alice@plico.test');
  assert.equal(await page.getByLabel('Subject', { exact: true }).inputValue(), `Re: ${SUBJECT}`);
  const quoted = await page.getByLabel('Message', { exact: true }).inputValue();
  assert.match(quoted, /alice@plico\.test wrote:\n> E2E-BODY Noon at the usual place\./);
  await page.getByLabel('Message', { exact: true }).fill(`${REPLY}\n${quoted}`);
  await screenshot(page, '13-reply');
  await page.getByRole('button', { name: 'Send encrypted' }).click();
  await page.waitForURL('**/mail/sent', { timeout: 60_000 });

  const reader = alice.page;
  await openFolder(reader, 'Inbox', `Re: ${SUBJECT}`);
  await reader.locator('.message-row').filter({ hasText: `Re: ${SUBJECT}` }).click();
  await reader.getByText('Signed by bob@plico.test: the signature is valid.').waitFor({ timeout: 30_000 });
  const conversation = reader.getByRole('region', { name: 'Conversation' });
  await conversation.getByText('Conversation (2 messages)').waitFor();
  assert.equal(await conversation.locator('li').count(), 2);
  await conversation.getByText(SUBJECT, { exact: true }).waitFor();
  await screenshot(reader, '14-conversation');
  assert.deepEqual([...alice.problems, ...bob.problems], []);
});

test('a draft saves itself, encrypted, while alice types; it reopens whole and goes when sent', async () => {
  const page = alice.page;
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByLabel('To', { exact: true }).fill('bob');
  await page.getByLabel('Bcc', { exact: true }).fill('alice');
  await page.getByLabel('Subject', { exact: true }).fill('E2E-DRAFT plan');
  await page.getByLabel('Message', { exact: true }).fill('E2E-DRAFT-BODY first thoughts');
  await page.getByText(/Draft saved, encrypted, at/).waitFor({ timeout: 30_000 });
  await page.getByLabel('Message', { exact: true }).fill('E2E-DRAFT-BODY second thoughts');
  await page.locator('.draft-state[data-saves="2"]').waitFor({ timeout: 30_000 });
  await screenshot(page, '15-draft-saved');

  await openFolder(page, 'Drafts', 'E2E-DRAFT plan');
  assert.equal(await row(page, 'E2E-DRAFT plan').count(), 1, 'one draft, replaced in place');
  await page.locator('.message-row').filter({ hasText: 'E2E-DRAFT plan' }).click();
  await page.waitForURL('**/compose');
  await page.getByRole('heading', { name: 'Draft' }).waitFor();
  assert.equal(await page.getByLabel('To', { exact: true }).inputValue(), 'bob@plico.test');
  assert.equal(await page.getByLabel('Bcc', { exact: true }).inputValue(), 'alice@plico.test');
  assert.equal(await page.getByLabel('Subject', { exact: true }).inputValue(), 'E2E-DRAFT plan');
  assert.match(await page.getByLabel('Message', { exact: true }).inputValue(), /^E2E-DRAFT-BODY second thoughts/);
  await page.getByRole('button', { name: 'Send encrypted' }).click();
  await page.waitForURL('**/mail/sent', { timeout: 60_000 });
  await openFolder(page, 'Drafts');
  await page.getByRole('heading', { name: 'No drafts' }).waitFor();
  await openFolder(page, 'Inbox', 'E2E-DRAFT plan');
});

test('leaving the composer while its first save is still running keeps one draft, not two', async () => {
  const page = alice.page;
  // Hold the first save in flight (a new draft looks up the Drafts folder before filing).
  const hold = async (route) => {
    await new Promise((r) => setTimeout(r, 1_500));
    await route.continue();
  };
  await alice.context.route('**/api/v1/folders', hold);
  try {
    await page.getByRole('link', { name: 'New message' }).click();
    await page.getByLabel('Subject', { exact: true }).fill('E2E-TEMP one draft');
    await page.getByText('Saving draft…').waitFor({ timeout: 10_000 });
    await openFolder(page, 'Inbox');
    await new Promise((r) => setTimeout(r, 4_000));
  } finally {
    await alice.context.unroute('**/api/v1/folders', hold);
  }
  await openFolder(page, 'Drafts', 'E2E-TEMP one draft');
  await page.waitForTimeout(500);
  assert.equal(await row(page, 'E2E-TEMP one draft').count(), 1, 'the last save went over the first');
  await row(page, 'E2E-TEMP one draft').getByRole('checkbox').check();
  await page.getByRole('toolbar', { name: 'Actions on selected messages' }).getByRole('button', { name: 'Delete', exact: true }).click();
  await row(page, 'E2E-TEMP one draft').waitFor({ state: 'detached' });
});

test('flags, a user folder created, renamed and deleted, and moves', async () => {
  const page = alice.page;
  await openFolder(page, 'Inbox', `Re: ${SUBJECT}`);
  // The Bcc copy of the draft test arrived read or unread; mark it read so the counts below are the reply's.
  await row(page, 'E2E-DRAFT plan').getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Mark read' }).click();
  await page.getByLabel(/unread/).waitFor({ state: 'detached' });
  const reply = row(page, `Re: ${SUBJECT}`);
  await reply.getByRole('button', { name: 'Starred' }).click();
  await page.waitForFunction(() => document.querySelector('.message-item .star.on') !== null);
  await reply.getByRole('checkbox').check();
  await page.getByText('1 selected').waitFor();
  await screenshot(page, '15b-selection');
  await page.getByRole('button', { name: 'Mark unread' }).click();
  await page.getByLabel('1 unread').waitFor();
  await reply.getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Mark read' }).click();
  await page.getByLabel('1 unread').waitFor({ state: 'detached' });

  await page.getByRole('button', { name: 'New folder' }).click();
  await page.getByLabel('Folder name').fill('E2E-TEMP');
  await page.getByRole('button', { name: 'Create' }).click();
  const folders = page.getByRole('list', { name: 'Folders' });
  await folders.getByRole('link', { name: 'E2E-TEMP' }).click();
  await page.getByRole('button', { name: 'Rename' }).click();
  await page.getByLabel('New folder name').fill(FOLDER);
  await page.getByRole('button', { name: 'Save' }).click();
  await folders.getByRole('link', { name: FOLDER }).waitFor();
  await page.getByRole('heading', { name: FOLDER }).waitFor();

  await openFolder(page, 'Inbox', `Re: ${SUBJECT}`);
  await row(page, `Re: ${SUBJECT}`).getByRole('checkbox').check();
  await page.getByLabel('Move to').selectOption({ label: FOLDER });
  await row(page, `Re: ${SUBJECT}`).waitFor({ state: 'detached' });
  await folders.getByRole('link', { name: FOLDER }).click();
  await row(page, `Re: ${SUBJECT}`).waitFor();
  await screenshot(page, '15-user-folder');

  page.once('dialog', (dialog) => dialog.accept());
  await page.getByRole('button', { name: 'Delete folder' }).click();
  await page.waitForURL('**/mail/inbox');
  await folders.getByRole('link', { name: FOLDER }).waitFor({ state: 'detached' });
  await openFolder(page, 'Trash', `Re: ${SUBJECT}`);
  assert.equal(await row(page, `Re: ${SUBJECT}`).locator('.star.on').count(), 1, 'the star went along');
});

test('two devices converge: a change on one shows on the other at its next sync', async () => {
  const other = await startBrowser();
  try {
    await signIn(other.page, server.baseUrl, 'alice@plico.test');
    await other.page.waitForURL('**/mail/inbox', { timeout: 60_000 });
    await openFolder(other.page, 'Trash', `Re: ${SUBJECT}`);
    // On the first device: move the reply from Trash to Archive, and star nothing else.
    const page = alice.page;
    await openFolder(page, 'Trash', `Re: ${SUBJECT}`);
    await row(page, `Re: ${SUBJECT}`).getByRole('checkbox').check();
    await page.getByLabel('Move to').selectOption({ label: 'Archive' });
    await row(page, `Re: ${SUBJECT}`).waitFor({ state: 'detached' });
    // The other device learns of it by its timer (every 15 s), without any action of its own.
    await row(other.page, `Re: ${SUBJECT}`).waitFor({ state: 'detached', timeout: 20_000 });
    await openFolder(other.page, 'Archive', `Re: ${SUBJECT}`);
    // And a flag change arrives as soon as the tab becomes visible again.
    await openFolder(page, 'Archive', `Re: ${SUBJECT}`);
    await row(page, `Re: ${SUBJECT}`).getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Mark unread' }).click();
    await page.getByLabel('1 unread').waitFor();
    await other.page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
    await other.page.getByLabel('1 unread').waitFor({ timeout: 5_000 });
    assert.deepEqual(other.problems, []);
  } finally {
    await other.close();
  }
  // Back to Trash for the next test.
  await row(alice.page, `Re: ${SUBJECT}`).getByRole('checkbox').check();
  await alice.page.getByRole('button', { name: 'Mark read' }).click();
  await alice.page.getByLabel('1 unread').waitFor({ state: 'detached' });
  await row(alice.page, `Re: ${SUBJECT}`).getByRole('checkbox').check();
  await alice.page.getByRole('toolbar', { name: 'Actions on selected messages' }).getByRole('button', { name: 'Delete', exact: true }).click();
  await row(alice.page, `Re: ${SUBJECT}`).waitFor({ state: 'detached' });
});

test('trash: delete for good, recover within 45 days, and the purge after 45 days removes row and file', async () => {
  const page = alice.page;
  // A note to herself: its two copies (Inbox and Sent) are the only ones sharing its blob.
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByLabel('To', { exact: true }).fill('alice');
  await page.getByLabel('Subject', { exact: true }).fill('E2E-PURGE note');
  await page.getByLabel('Message', { exact: true }).fill('E2E-PURGE-BODY');
  await page.getByRole('button', { name: 'Send encrypted' }).click();
  await page.waitForURL('**/mail/sent', { timeout: 60_000 });
  const ids = sql('SELECT id FROM messages ORDER BY received_at DESC, id').split('\n');
  const blob = sql(`SELECT blob_hash FROM messages WHERE id = '${ids[0]}'`);
  assert.match(blob, /^[0-9a-f]{64}$/);
  assert.equal(sql(`SELECT count(*) FROM messages WHERE blob_hash = '${blob}'`), '2');
  const blobFile = filesUnder(path.join(server.dataDir, 'blobs')).find((file) => file.endsWith(blob));
  assert.ok(blobFile && fs.existsSync(blobFile), 'the blob is on disk');

  for (const folder of ['Sent', 'Inbox']) {
    await openFolder(page, folder, 'E2E-PURGE note');
    await row(page, 'E2E-PURGE note').getByRole('checkbox').check();
    await page.getByRole('toolbar', { name: 'Actions on selected messages' }).getByRole('button', { name: 'Delete', exact: true }).click();
    await row(page, 'E2E-PURGE note').waitFor({ state: 'detached' });
  }
  await openFolder(page, 'Trash', 'E2E-PURGE note');
  assert.equal(await row(page, 'E2E-PURGE note').count(), 2);
  await page.getByRole('button', { name: 'Empty trash' }).click();
  await page.locator('.messages').waitFor({ state: 'detached' });
  await page.getByRole('heading', { name: 'The trash is empty' }).waitFor();

  await page.getByRole('link', { name: 'Recover deleted messages' }).click();
  await row(page, 'E2E-PURGE note').first().waitFor();
  assert.match(await row(page, 'E2E-PURGE note').first().textContent(), /45 days left/);
  await screenshot(page, '16-recover');
  await row(page, `Re: ${SUBJECT}`).getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Recover to Trash' }).click();
  await row(page, `Re: ${SUBJECT}`).waitFor({ state: 'detached' });
  await openFolder(page, 'Trash', `Re: ${SUBJECT}`);

  // 44 days on, nothing is purged; 46 days on, the deleted note is gone from the database and disk.
  const retention = (days) => execFileSync(process.env.PLICO_BIN, ['retention', '--data-dir', server.dataDir, '--domain', 'plico.test', '--days-ahead', String(days)], { encoding: 'utf8' });
  assert.match(retention(44), /retention: 0 messages/);
  assert.equal(sql(`SELECT count(*) FROM messages WHERE blob_hash = '${blob}'`), '2');
  assert.match(retention(46), /retention: [1-9]\d* messages, [1-9]\d* blob files/);
  assert.equal(sql(`SELECT count(*) FROM messages WHERE blob_hash = '${blob}'`), '0');
  assert.equal(sql(`SELECT count(*) FROM blobs WHERE hash = '${blob}'`), '0');
  assert.ok(!fs.existsSync(blobFile), 'the blob file is gone');
});

test('this device keeps the mailbox sealed: the Inbox shows from it before the network answers, and forgetting the device deletes it', async () => {
  const page = bob.page;
  await openFolder(page, 'Inbox', SUBJECT);
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.waitForURL('**/login');

  // Encryption at rest: IndexedDB holds records, and none of them (names or bytes) is readable.
  const stored = await deviceStore(page);
  assert.ok(stored && stored.keys.length >= 3, 'the mailbox was saved on sign-out');
  const needles = [SUBJECT, 'E2E-SUBJECT', 'lunch', 'alice@plico.test', 'bob@plico.test', 'Noon at', FILE_NAME, 'mailbox'];
  const hits = [];
  for (const text of [...stored.keys, ...stored.values]) for (const needle of needles) if (text.includes(needle)) hits.push(needle);
  assert.deepEqual(hits, [], 'nothing readable in IndexedDB');

  // Hold every sync answer back for a while: the Inbox must show from the sealed copy first.
  let syncAnswered = false;
  const hold = async (route) => {
    await new Promise((r) => setTimeout(r, 3_000));
    await route.continue();
  };
  const answered = (request) => { if (request.url().includes('/api/v1/sync')) syncAnswered = true; };
  await bob.context.route('**/api/v1/sync*', hold);
  bob.context.on('requestfinished', answered);
  try {
    await signIn(page, server.baseUrl, 'bob@plico.test');
    await page.waitForURL('**/mail/inbox', { timeout: 60_000 });
    await row(page, SUBJECT).waitFor({ timeout: 2_500 });
    assert.equal(syncAnswered, false, 'the row came from this device, not from the sync');
    await screenshot(page, '17-inbox-from-device');
    await new Promise((r) => setTimeout(r, 3_500));
    assert.equal(syncAnswered, true, 'the held sync went through (the route works on the worker)');

    // Forget this device: signed out, and the store is gone.
    await page.getByRole('link', { name: /bob@plico\.test/ }).click();
    await page.getByRole('heading', { name: 'This device' }).waitFor();
    await screenshot(page, '18-account-this-device');
    await page.getByRole('button', { name: 'Sign out and forget this device' }).click();
    await page.waitForURL('**/login');
    const after = await deviceStore(page);
    assert.ok(after === null || after.keys.length === 0, 'forgetting the device deletes the sealed mailbox');

    // Signing in again now waits for the network: nothing was left behind.
    syncAnswered = false;
    await signIn(page, server.baseUrl, 'bob@plico.test');
    await page.waitForURL('**/mail/inbox', { timeout: 60_000 });
    await row(page, SUBJECT).waitFor({ timeout: 20_000 });
    assert.equal(syncAnswered, true, 'with nothing on the device, the list comes from the sync');
  } finally {
    bob.context.off('requestfinished', answered);
    await bob.context.unroute('**/api/v1/sync*', hold);
  }
  assert.deepEqual(bob.problems, []);
});

test('zero access: neither the database nor the blob store holds a subject, body, attachment or folder name', async () => {
  const needles = [SUBJECT, BODY, REPLY, MARKER, FILE_NAME, FOLDER, 'E2E-TEMP', 'E2E-PURGE', 'E2E-DRAFT'];
  const files = filesUnder(server.dataDir);
  assert.ok(files.some((file) => file.includes(`${path.sep}blobs${path.sep}`)), 'the scan covers the blob store');
  assert.ok(files.some((file) => file.endsWith('plico.sqlite')), 'the scan covers the database');
  const hits = [];
  for (const file of files) {
    const bytes = fs.readFileSync(file);
    for (const needle of needles) if (bytes.includes(Buffer.from(needle))) hits.push(`${needle} in ${file}`);
  }
  assert.deepEqual(hits, []);
});
