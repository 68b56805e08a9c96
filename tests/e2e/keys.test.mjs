// The account's keys in the real app: Quinn adds a post-quantum key from Settings (her classical
// key stays published beside it), mail goes both ways between her and Carl, who keeps a classical
// key, and what reached Quinn before the change still opens. WKD serves both of her keys; the
// directory gives Plico senders the post-quantum one. Then she replaces it, revokes the classical
// key (WKD publishes the revocation) and imports a key made by OpenPGP.js with its passphrase.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as openpgp from 'openpgp';
import { PASSWORD, publicKeyPacketBodies, startServer, startSignedUp, screenshot, wkdHash, writeMessage } from './harness.mjs';

let server;
const browsers = [];

before(async () => {
  server = await startServer();
});

after(async () => {
  for (const browser of browsers) await browser.close();
  await server?.stop();
});

async function write(page, to, subject) {
  await writeMessage(page, to, subject);
  await page.waitForURL('**/mail/sent', { timeout: 60_000 });
}

/** Opens the Inbox, then the message with `subject`, and waits for its signature line. */
async function read(page, subject, signer) {
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Inbox/ }).click();
  await page.locator('.message-row').filter({ hasText: subject }).first().click({ timeout: 60_000 });
  await page.getByText(`Signed by ${signer}: the signature is valid.`).waitFor({ timeout: 60_000 });
  assert.match(await page.locator('.message-text').textContent(), new RegExp(`${subject}: hello\\.`));
}

async function openSettings(page) {
  await page.getByRole('link', { name: /@plico\.test/ }).click();
  await page.getByRole('link', { name: 'Security settings' }).click();
  await page.getByRole('heading', { name: 'Encryption keys' }).waitFor({ timeout: 30_000 });
}

/** What WKD serves for `name`: the bytes, and the version of each certificate's primary key in
 * order (read from the packets: OpenPGP.js 6.3 skips the post-quantum keys it does not know). */
async function wkd(name) {
  const response = await fetch(`${server.baseUrl}/.well-known/openpgpkey/hu/${wkdHash(name)}?l=${name}`);
  assert.equal(response.status, 200);
  const bytes = Buffer.from(await response.arrayBuffer());
  return { bytes, versions: publicKeyPacketBodies(bytes, [6]).map((body) => body[0]) };
}

test('a post-quantum key from Settings: mail both ways with a classical user, older mail still opens, rotation and revocation', async () => {
  const quinn = await startSignedUp(server.baseUrl, 'quinn');
  const carl = await startSignedUp(server.baseUrl, 'carl');
  browsers.push(quinn, carl);

  // Before the change: Carl writes to Quinn's classical key.
  await write(carl.page, 'quinn', 'KEYS-E2E before');

  const page = quinn.page;
  await openSettings(page);
  const panel = page.locator('#keys-panel');
  await panel.locator('li.key').first().waitFor();
  assert.equal(await panel.locator('li.key').count(), 1);
  assert.match(await panel.locator('li.key').first().textContent(), /Primary.*v4 · Ed25519, X25519/s);

  // No password: the panel says what is missing and changes nothing.
  await page.getByRole('button', { name: 'Add a post-quantum key' }).click();
  await panel.getByText('Enter your password first: it seals your keys anew.').waitFor();
  // A wrong one is refused by name.
  await page.locator('#keys-password').fill('not the password');
  await page.getByRole('button', { name: 'Add a post-quantum key' }).click();
  await panel.locator('.field-error').filter({ hasText: 'Wrong name or password.' }).waitFor({ timeout: 60_000 }).catch(async (error) => {
    throw new Error(`${error.message}; the panel said: ${await panel.textContent()}`);
  });
  assert.equal(await panel.locator('li.key').count(), 1);

  await page.locator('#keys-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Add a post-quantum key' }).click();
  await page.getByText('Your post-quantum key is primary now').waitFor({ timeout: 120_000 });
  await panel.locator('li.key').nth(1).waitFor();
  const rows = await panel.locator('li.key').allTextContents();
  assert.match(rows[0], /Primary.*Post-quantum.*v6 · ML-DSA-65\+Ed25519, ML-KEM-768\+X25519/s);
  assert.match(rows[1], /Published.*v4 · Ed25519, X25519/s);
  assert.ok(await page.getByRole('button', { name: 'Add a post-quantum key' }).isHidden(), 'offered once');
  await screenshot(page, 'keys-01-post-quantum-desktop');
  await page.setViewportSize({ width: 390, height: 844 });
  await panel.scrollIntoViewIfNeeded();
  await screenshot(page, 'keys-02-post-quantum-phone');
  await page.setViewportSize({ width: 1280, height: 800 });

  // WKD serves both keys, the post-quantum one first; the directory gives the post-quantum one.
  assert.deepEqual((await wkd('quinn')).versions, [6, 4]);
  const directory = await (await fetch(`${server.baseUrl}/api/v1/keys/quinn@plico.test`)).json();
  assert.equal(directory.fingerprint.length, 64, 'a v6 fingerprint: the post-quantum key');
  assert.match(rows[0].replace(/\s/g, ''), new RegExp(directory.fingerprint));

  // Mail both ways: Carl to the post-quantum key, Quinn (signing with ML-DSA) to Carl's classical
  // one. Carl kept Quinn's classical key when he first wrote to her, so his composer says her key
  // changed, sends nothing, and he takes the new one.
  const compose = carl.page;
  await writeMessage(compose, 'quinn', 'KEYS-E2E after');
  await compose.getByRole('alert').filter({ hasText: 'Another key is now published for them' }).waitFor({ timeout: 60_000 });
  await compose.locator('.compose .key-changed').getByRole('button', { name: 'Use the new key' }).click();
  await compose.getByRole('status').filter({ hasText: 'Mail to quinn@plico.test is now encrypted to their new key. Send again.' })
    .waitFor({ timeout: 30_000 });
  await compose.getByRole('button', { name: 'Send encrypted' }).click();
  await compose.waitForURL('**/mail/sent', { timeout: 60_000 });
  await page.getByRole('link', { name: 'Mail', exact: true }).click();
  await read(page, 'KEYS-E2E after', 'carl@plico.test');
  await read(page, 'KEYS-E2E before', 'carl@plico.test');
  await write(page, 'carl', 'KEYS-E2E reply');
  await read(carl.page, 'KEYS-E2E reply', 'quinn@plico.test');

  // A new primary key replaces the post-quantum one, and the classical key is revoked.
  await openSettings(page);
  await page.locator('#keys-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Replace the primary key' }).click();
  await page.getByText('Your new key is primary now.').waitFor({ timeout: 120_000 });
  await panel.locator('li.key').nth(2).waitFor();
  const classical = panel.locator('li.key[data-state="published"]');
  await classical.getByLabel('Reason').selectOption('compromised');
  await page.locator('#keys-password').fill(PASSWORD);
  await classical.getByRole('button', { name: 'Revoke' }).click();
  await page.getByText('The key is revoked.').waitFor({ timeout: 120_000 });
  await panel.locator('li.key[data-state="revoked"]').getByText(/Revoked: compromised/).waitFor();
  const states = await panel.locator('li.key').evaluateAll((items) => items.map((item) => item.dataset.state));
  assert.equal(states.length, 3, JSON.stringify(states));
  assert.equal(states[0], 'primary');
  assert.ok(states.includes('retired') && states.includes('revoked'), JSON.stringify(states));
  await screenshot(page, 'keys-03-rotated-revoked');
  const after = await wkd('quinn');
  assert.deepEqual(after.versions, [6, 4], 'the new primary and the revoked key; the retired one is not served');
  // OpenPGP.js reads the classical key and finds it revoked.
  const [classicalKey] = await openpgp.readKeys({ binaryKeys: new Uint8Array(after.bytes) });
  assert.equal(classicalKey.keyPacket.version, 4);
  assert.ok(await classicalKey.isRevoked(), 'the revocation is published');

  // A key made elsewhere (OpenPGP.js, protected by a passphrase) imported from a file: a wrong
  // passphrase is refused by name, the right one makes it primary.
  const made = await openpgp.generateKey({ userIDs: [{ name: 'Quinn', email: 'quinn@plico.test' }],
    passphrase: 'a passphrase from elsewhere', format: 'armored' });
  const importedFingerprint = (await openpgp.readKey({ armoredKey: made.publicKey })).getFingerprint().toUpperCase();
  await page.locator('#import-file').setInputFiles({ name: 'quinn.asc', mimeType: 'text/plain', buffer: Buffer.from(made.privateKey) });
  await page.locator('#import-passphrase').fill('not this one');
  await page.locator('#keys-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await panel.locator('.field-error').filter({ hasText: 'The passphrase does not unlock this key.' }).waitFor({ timeout: 120_000 });
  await page.locator('#import-passphrase').fill('a passphrase from elsewhere');
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.getByText('The imported key is your primary key now.').waitFor({ timeout: 120_000 });
  await panel.locator('li.key').nth(3).waitFor();
  assert.match((await panel.locator('li.key').first().textContent()).replace(/\s/g, ''), new RegExp(`Primary.*${importedFingerprint}`));
  const imported = await (await fetch(`${server.baseUrl}/api/v1/keys/quinn@plico.test`)).json();
  assert.equal(imported.fingerprint, importedFingerprint, 'the directory gives the imported key');

  // Older mail still opens after the rotation and the import.
  await page.getByRole('link', { name: 'Mail', exact: true }).click();
  await read(page, 'KEYS-E2E before', 'carl@plico.test');
  assert.deepEqual(quinn.problems, []);
  assert.deepEqual(carl.problems, []);
});
