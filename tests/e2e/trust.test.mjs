// Trust hardening (issue 20) in the real app: a correspondent whose Autocrypt key changes is not
// taken silently (the reader says so, and the user chooses), and the account page shows how much
// of the storage quota is used. Issue 21: a Plico correspondent's key, kept the first time Bob
// writes to her, changed afterwards in the server's database, is neither encrypted to nor
// trusted until Bob chooses it, and when he refuses it his mail stays encrypted to the key he kept.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { startServer, startBrowser, screenshot, signUp, writeMessage } from './harness.mjs';

let server;
let bob;
let alice;
let dir;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plico-e2e-trust-'));
  server = await startServer({ smtp: true });
  bob = await startBrowser();
  await signUp(bob.page, server.baseUrl, 'bob');
  await bob.page.waitForURL('**/mail/inbox', { timeout: 60_000 });
});

after(async () => {
  await alice?.close();
  await bob?.close();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Delivers a letter from Carol over SMTP, carrying `publicKey` in an Autocrypt header. */
async function deliverFromCarol(subject, publicKey) {
  const keydata = Buffer.from(publicKey.write()).toString('base64').match(/.{1,76}/g).join('\r\n ');
  const letter = `From: Carol <carol@example.net>\r\nTo: bob@plico.test\r\nSubject: ${subject}\r\n`
    + `Date: ${new Date().toUTCString()}\r\nMessage-ID: <${subject.replace(/\W/g, '.')}@example.net>\r\n`
    + `Autocrypt: addr=carol@example.net; prefer-encrypt=mutual; keydata=\r\n ${keydata}\r\n`
    + `Content-Type: text/plain; charset=utf-8\r\n\r\n${subject}: hello Bob.\r\n`;
  const file = path.join(dir, 'letter.eml');
  fs.writeFileSync(file, letter);
  const swaks = spawnSync('swaks', ['--server', `127.0.0.1:${server.smtpPort}`, '--from', 'carol@example.net',
    '--to', 'bob@plico.test', '--data', `@${file}`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(swaks.status, 0, swaks.stdout + swaks.stderr);
}

async function open(page, subject) {
  const row = page.locator('.message-row').filter({ hasText: subject });
  for (let i = 0; i < 60 && !(await row.count()); i++) {
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Sent/ }).click();
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Inbox/ }).click();
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await row.first().click({ timeout: 30_000 });
  await page.locator('#reader-subject').filter({ hasText: subject }).waitFor({ timeout: 30_000 });
}

test('a correspondent whose key changes is said, not taken, and the user chooses the new key', async () => {
  const first = await openpgp.generateKey({ userIDs: [{ email: 'carol@example.net' }], format: 'object' });
  const second = await openpgp.generateKey({ userIDs: [{ email: 'carol@example.net' }], format: 'object' });
  await deliverFromCarol('TRUST-E2E first letter', first.publicKey);
  const page = bob.page;
  await open(page, 'TRUST-E2E first letter');
  assert.equal(await page.locator('.key-changed').count(), 0, 'the first key is simply kept');

  await deliverFromCarol('TRUST-E2E new key', second.publicKey);
  await open(page, 'TRUST-E2E new key');
  const notice = page.locator('.key-changed');
  await notice.waitFor({ timeout: 30_000 });
  assert.match(await notice.textContent(), /different key for carol@example\.net than the one Plico kept/);
  await screenshot(page, '70-reader-key-changed');
  await notice.getByRole('button', { name: 'Use the new key' }).click();
  await notice.getByText('The new key is kept; replies are encrypted to it.').waitFor({ timeout: 30_000 });

  // The keyring on the account page now holds the new key, as the user's choice.
  await page.locator('.account-link').click();
  const fingerprint = second.publicKey.getFingerprint().toUpperCase();
  const keyring = page.locator('tr').filter({ hasText: 'carol@example.net' });
  await keyring.first().waitFor({ timeout: 30_000 });
  const grouped = fingerprint.match(/.{4}/g).join(' ');
  assert.ok((await keyring.first().textContent()).replace(/\s+/g, ' ').includes(grouped.slice(0, 14)),
    'the kept key is the new one');
});

test('the account page shows the storage used against the quota', async () => {
  const page = bob.page;
  if (!page.url().endsWith('/account')) await page.locator('.account-link').click();
  const meter = page.locator('meter.storage-meter');
  await meter.waitFor({ timeout: 30_000 });
  const used = Number(await meter.getAttribute('value'));
  const quota = Number(await meter.getAttribute('max'));
  assert.ok(used > 0, 'two letters take room');
  assert.equal(quota, 5_000_000_000, 'the operator default, 5,000 MB');
  await page.getByText(/ of 4\.7 GB used$/).waitFor({ timeout: 10_000 });
  await screenshot(page, '71-account-storage');
});

/** Changes the server's database as someone with access to it would (WAL: the server stays up). */
function tamper(sql, ...values) {
  const db = path.join(server.dataDir, 'plico.sqlite');
  // Strings go in as bytes: the column is a BLOB (a STRICT table refuses TEXT there).
  const script = 'import sqlite3, sys, json; c = sqlite3.connect(sys.argv[1], timeout=30); '
    + 'c.execute(sys.argv[2], [v.encode() if isinstance(v, str) else v for v in json.loads(sys.argv[3])]); c.commit()';
  const run = spawnSync('/usr/bin/python3', ['-c', script, db, sql, JSON.stringify(values)], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
}

test('a Plico correspondent\'s key changed in the directory after first use is refused until the user chooses it', async () => {
  alice = await startBrowser();
  await signUp(alice.page, server.baseUrl, 'alice');
  await alice.page.waitForURL('**/mail/inbox', { timeout: 60_000 });
  const page = bob.page;

  // Bob writes to Alice once: the key he used for her is kept, and the account page says where from.
  await writeMessage(page, 'alice', 'KEPT-E2E first');
  await page.waitForURL('**/mail/sent', { timeout: 60_000 });
  await page.locator('.account-link').click();
  const row = page.locator('tr').filter({ hasText: 'alice@plico.test' });
  await row.getByText('Plico directory').waitFor({ timeout: 30_000 });
  await row.getByText('Kept on first use').waitFor();
  await screenshot(page, '72-account-keyring-kept');
  // Bob compares the fingerprint with Alice in person and marks the key verified.
  await row.getByRole('button', { name: /^Mark verified the key for alice@plico\.test/ }).click();
  await page.getByText('The key for alice@plico.test is marked verified.').waitFor({ timeout: 30_000 });
  await row.getByText('Verified', { exact: true }).waitFor();
  assert.equal(await row.getByRole('button', { name: /verified/ }).count(), 0, 'nothing left to mark');
  await screenshot(page, '72b-account-keyring-verified');

  // Someone with the database publishes their own key as Alice's.
  const forged = await openpgp.generateKey({ userIDs: [{ email: 'alice@plico.test' }], format: 'armored' });
  tamper("UPDATE accounts SET public_cert = ? WHERE name = 'alice'", forged.publicKey);

  // Bob's next message is not sent, and he is told why, with both fingerprints.
  await writeMessage(page, 'alice', 'KEPT-E2E refused');
  const refusal = page.getByRole('alert').filter({ hasText: "Another key is now published for them" });
  await refusal.waitFor({ timeout: 60_000 });
  assert.match(await refusal.textContent(), /alice@plico\.test \(kept [0-9A-F ]+, now [0-9A-F ]+\)/);
  assert.match(await refusal.textContent(), /Nothing was sent\./);
  assert.ok(page.url().endsWith('/compose'), 'the message stays in the composer');
  await screenshot(page, '73-compose-key-changed');

  await page.getByRole('button', { name: 'Discard' }).click();

  // Alice's own mail still reads as hers (checked with the kept key), and the reader says the
  // directory's key changed.
  await writeMessage(alice.page, 'bob', 'KEPT-E2E from Alice');
  await alice.page.waitForURL('**/mail/sent', { timeout: 60_000 });
  await open(page, 'KEPT-E2E from Alice');
  assert.match(await page.locator('.reader .signature').textContent(), /valid/);
  // Checked with the key Bob verified: the reader shows its fingerprint, grouped, and says so.
  const signer = page.locator('.reader .signer-key');
  await signer.getByText('Verified', { exact: true }).waitFor({ timeout: 30_000 });
  assert.match(await signer.locator('code').textContent(), /^[0-9A-F]{4}( [0-9A-F]{4}){4}  [0-9A-F]{4}( [0-9A-F]{4}){4}$/);
  const notice = page.locator('.key-changed');
  await notice.waitFor({ timeout: 30_000 });
  assert.match(await notice.textContent(), /Plico's directory now gives a different key for alice@plico\.test/);
  await screenshot(page, '74-reader-directory-key-changed');

  // Bob refuses the new key: his message goes out encrypted to the key he kept, which only Alice
  // holds, and she reads it.
  await writeMessage(page, 'alice', 'KEPT-E2E kept the old key');
  await page.getByRole('alert').filter({ hasText: "Another key is now published for them" }).waitFor({ timeout: 60_000 });
  await page.locator('.compose .key-changed').getByRole('button', { name: 'Keep the old key' }).click();
  await page.getByRole('status').filter({ hasText: 'Mail to alice@plico.test stays encrypted to the key you kept. Send again.' })
    .waitFor({ timeout: 30_000 });
  await screenshot(page, '75a-compose-old-key-kept');
  await page.getByRole('button', { name: 'Send encrypted' }).click();
  await page.waitForURL('**/mail/sent', { timeout: 60_000 });
  await alice.page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Sent/ }).click();
  await open(alice.page, 'KEPT-E2E kept the old key');
  assert.match(await alice.page.locator('.message-text').textContent({ timeout: 30_000 }), /KEPT-E2E kept the old key: hello\./);
  // The refused key is not offered again: the next message to Alice is simply sent.
  await writeMessage(page, 'alice', 'KEPT-E2E still the old key');
  await page.waitForURL('**/mail/sent', { timeout: 60_000 });

  // Another key appears in the directory; Bob, having asked Alice another way, chooses it in the
  // composer and sends again.
  const forgedAgain = await openpgp.generateKey({ userIDs: [{ email: 'alice@plico.test' }], format: 'armored' });
  tamper("UPDATE accounts SET public_cert = ? WHERE name = 'alice'", forgedAgain.publicKey);
  await writeMessage(page, 'alice', 'KEPT-E2E after choosing');
  await page.getByRole('alert').filter({ hasText: "Another key is now published for them" }).waitFor({ timeout: 60_000 });
  await page.locator('.compose .key-changed').getByRole('button', { name: 'Use the new key' }).click();
  await page.getByRole('status').filter({ hasText: 'Mail to alice@plico.test is now encrypted to their new key. Send again.' })
    .waitFor({ timeout: 30_000 });
  await screenshot(page, '75-compose-key-chosen');
  await page.getByRole('button', { name: 'Send encrypted' }).click();
  await page.waitForURL('**/mail/sent', { timeout: 60_000 });
  await page.locator('.account-link').click();
  await row.getByText('Imported').waitFor({ timeout: 30_000 });
  await row.getByText('Chosen by you').waitFor();
  // Nothing of the refused message reached Alice.
  await alice.page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Inbox/ }).click();
  await alice.page.locator('.message-row').filter({ hasText: 'KEPT-E2E first' }).waitFor({ timeout: 60_000 });
  assert.equal(await alice.page.locator('.message-row').filter({ hasText: 'KEPT-E2E refused' }).count(), 0);
});
