// Contacts (issue 21) in the real app: the Contacts app, loaded into the mail app's shell at
// /contacts, creates, edits, groups, searches, merges, deletes and restores contacts; imports a
// .vcf with a broken card (reported by name) and exports it again; the composer suggests
// contacts and groups; the reader adds a sender. Afterwards the server's database and blob store
// hold none of the contacts' names, addresses, phones or notes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { startServer, startBrowser, screenshot, signIn, signUp } from './harness.mjs';

let server;
let bob;
let dir;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plico-e2e-contacts-'));
  server = await startServer({ smtp: true });
  bob = await startBrowser();
  await signUp(bob.page, server.baseUrl, 'bob');
  await bob.page.waitForURL('**/mail/inbox', { timeout: 60_000 });
});

after(async () => {
  await bob?.close();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const pane = (page) => page.locator('.contact-pane');
const rows = (page) => page.locator('.contact-row');

async function openContacts(page) {
  await page.getByRole('navigation', { name: 'Apps' }).getByRole('link', { name: 'Contacts' }).click();
  await page.waitForURL('**/contacts');
  await page.locator('.contacts-app').waitFor({ timeout: 60_000 });
}

/** Fills the editor's fields that are given, and saves. */
async function fillAndSave(page, { name, email, phone, organization, groups, note }, saved) {
  const editor = page.locator('.contact-editor');
  await editor.waitFor();
  if (name !== undefined) await editor.getByLabel('Display name').fill(name);
  if (email !== undefined) await editor.locator('#contact-email-0').fill(email);
  if (phone !== undefined) {
    await editor.getByRole('button', { name: '+ Add a phone number' }).click();
    await editor.locator('#contact-phone-0').fill(phone);
  }
  if (organization !== undefined) await editor.getByLabel('Organisation').fill(organization);
  if (groups !== undefined) await editor.getByLabel('Groups').fill(groups);
  if (note !== undefined) await editor.getByLabel('Note').fill(note);
  await editor.getByRole('button', { name: 'Save' }).click();
  await pane(page).getByText(saved).waitFor({ timeout: 30_000 });
}

async function newContact(page, fields) {
  await page.getByRole('button', { name: 'New contact' }).click();
  await fillAndSave(page, fields, 'Contact created.');
  await pane(page).locator('.contact-header h2').filter({ hasText: fields.name }).waitFor();
}

// What the server must never hold. Not ada@example.org or grace@navy.example: the composer test
// writes to them, and a draft's envelope names its recipients (addresses are the metadata the
// server may keep for mail); the imported addresses are never written to. Not Carol Danvers
// either: her name came in her message's From header, which the envelope of received mail keeps.
const SECRETS = ['Lovelace', '7946 0000', 'Analytical', 'first program', 'Hopper', 'Turing', 'alan@bletchley.example',
  'Countess', 'countess@example.org', 'Codebreaker', 'US Navy', 'Invented the compiler', 'Written on device A'];

test('contacts are created, edited, grouped, searched and found by the composer', async () => {
  const page = bob.page;
  await openContacts(page);
  await pane(page).getByText('No contacts yet').waitFor({ timeout: 30_000 });
  await screenshot(page, '80-contacts-empty');

  await newContact(page, {
    name: 'Ada Lovelace', email: 'ada@example.org', phone: '+44 20 7946 0000', groups: 'Friends, Pioneers',
    note: 'Wrote the first program.',
  });
  const detail = pane(page).locator('.contact-page');
  assert.match(await detail.textContent(), /ada@example\.org/);
  assert.match(await detail.textContent(), /\+44 20 7946 0000/);
  assert.match(await detail.textContent(), /Wrote the first program\./);
  await screenshot(page, '81-contacts-detail');

  // Editing changes what it changes and keeps the rest.
  await detail.getByRole('button', { name: 'Edit' }).click();
  await screenshot(page, '82-contacts-editor');
  await fillAndSave(page, { organization: 'Analytical Engines' }, 'Contact saved.');
  assert.match(await pane(page).locator('.contact-header').textContent(), /Analytical Engines/);
  assert.match(await pane(page).locator('.contact-page').textContent(), /Wrote the first program\./);

  // A bad birthday is refused with what is wrong, and nothing is saved.
  await pane(page).getByRole('button', { name: 'Edit' }).click();
  await page.locator('.contact-editor').getByLabel('Birthday').fill('10/12/1815');
  await page.locator('.contact-editor').getByRole('button', { name: 'Save' }).click();
  const refused = page.locator('.contact-editor .error');
  await refused.waitFor();
  assert.match(await refused.textContent(), /The birthday "10\/12\/1815" is not a date/);
  await page.locator('.contact-editor').getByRole('button', { name: 'Cancel' }).click();

  await newContact(page, { name: 'Grace Hopper', email: 'grace@navy.example', groups: 'Friends' });
  // The list follows the save (on a loaded machine a moment after the contact's page).
  await rows(page).nth(1).waitFor({ timeout: 30_000 });
  assert.equal(await rows(page).count(), 2);

  // Groups filter the list; search finds by any word.
  await page.getByRole('navigation', { name: 'Contact groups' }).getByRole('button', { name: /Pioneers/ }).click();
  assert.deepEqual(await page.locator('.contact-name').allTextContents(), ['Ada Lovelace']);
  await page.getByRole('navigation', { name: 'Contact groups' }).getByRole('button', { name: /All contacts/ }).click();
  await page.getByLabel('Search contacts').fill('navy');
  assert.deepEqual(await page.locator('.contact-name').allTextContents(), ['Grace Hopper']);
  await page.getByLabel('Search contacts').fill('');
  await rows(page).nth(1).waitFor({ timeout: 30_000 });
  assert.equal(await rows(page).count(), 2);

  // The composer suggests a contact by name, and a group expands to its members.
  await page.getByRole('navigation', { name: 'Apps' }).getByRole('link', { name: 'Mail' }).click();
  await page.getByRole('link', { name: 'New message' }).click();
  const to = page.locator('#compose-to');
  await to.pressSequentially('gra');
  const option = page.getByRole('option', { name: /Grace Hopper/ });
  await option.waitFor({ timeout: 30_000 });
  await screenshot(page, '83-composer-suggestions');
  await to.press('Enter');
  assert.equal(await to.inputValue(), 'grace@navy.example, ');
  await to.pressSequentially('friends');
  await page.getByRole('option', { name: /Friends/ }).waitFor({ timeout: 30_000 });
  await to.press('Enter');
  const addresses = (await to.inputValue()).split(',').map((a) => a.trim()).filter(Boolean).sort();
  assert.deepEqual(addresses, ['ada@example.org', 'grace@navy.example', 'grace@navy.example'].sort());
});

test('a .vcf with a broken card is imported with a report, merged, exported, deleted and restored', async () => {
  const page = bob.page;
  await openContacts(page);
  await rows(page).first().waitFor({ timeout: 30_000 });
  const vcf = [
    'BEGIN:VCARD', 'VERSION:3.0', 'N:Turing;Alan;;;', 'FN:Alan Turing', 'EMAIL;TYPE=INTERNET;TYPE=WORK:alan@bletchley.example',
    'item1.X-ABLabel:Codebreaker', 'END:VCARD',
    'BEGIN:VCARD', 'VERSION:4.0', 'FN:Broken Card', 'this line is no property', 'END:VCARD',
    'BEGIN:VCARD', 'VERSION:4.0', 'FN:Ada, Countess of Lovelace', 'EMAIL:countess@example.org', 'END:VCARD',
  ].join('\r\n') + '\r\n';
  await page.locator('.contacts-side input[type=file]').setInputFiles({ name: 'google.vcf', mimeType: 'text/vcard', buffer: Buffer.from(vcf) });
  const report = page.locator('.import-report');
  await report.waitFor({ timeout: 60_000 });
  assert.match(await report.textContent(), /Imported 2 contacts\. 1 card could not be read:/);
  assert.match(await report.textContent(), /Card 2 \(Broken Card\): this line is not a vCard property/);
  await screenshot(page, '84-contacts-import-report');
  await report.getByRole('button', { name: 'Close' }).click();
  await page.locator('.contact-name').filter({ hasText: 'Alan Turing' }).waitFor({ timeout: 30_000 });
  assert.equal(await rows(page).count(), 4);

  // Merge the two Adas: the first chosen keeps its name and gains the other's address.
  await page.getByRole('checkbox', { name: 'Select Ada Lovelace' }).check();
  await page.getByRole('checkbox', { name: 'Select Ada, Countess of Lovelace' }).check();
  await screenshot(page, '85-contacts-selection');
  await page.getByRole('toolbar', { name: 'Selected contacts' }).getByRole('button', { name: 'Merge' }).click();
  await pane(page).getByText('Merged 2 contacts into one.').waitFor({ timeout: 30_000 });
  const merged = await pane(page).locator('.contact-page').textContent();
  assert.match(merged, /ada@example\.org/);
  assert.match(merged, /countess@example\.org/);
  await page.waitForFunction(() => document.querySelectorAll('.contact-row').length === 3);

  // Export: a vCard 4 file with every contact, the imported card's unknown property included.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export all' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'contacts.vcf');
  const exported = fs.readFileSync(await download.path(), 'utf8');
  assert.equal(exported.match(/BEGIN:VCARD/g).length, 3, exported);
  assert.match(exported, /VERSION:4\.0/);
  assert.match(exported, /FN:Alan Turing/);
  assert.match(exported, /X-ABLabel:Codebreaker/i);
  assert.match(exported, /countess@example\.org/);

  // Delete goes to Recently deleted for 45 days, and Restore brings it back.
  await page.locator('.contact-open').filter({ hasText: 'Alan Turing' }).click();
  await pane(page).locator('.contact-header h2').filter({ hasText: 'Alan Turing' }).waitFor();
  await pane(page).getByRole('button', { name: 'Delete' }).click();
  await pane(page).getByText(/Moved 1 contact to Recently deleted/).waitFor({ timeout: 30_000 });
  await page.waitForFunction(() => document.querySelectorAll('.contact-row').length === 2);
  await page.getByRole('navigation', { name: 'Contact groups' }).getByRole('button', { name: 'Recently deleted' }).click();
  await page.locator('.contact-row').filter({ hasText: 'Alan Turing' }).filter({ hasText: '45 days left to restore' })
    .waitFor({ timeout: 30_000 });
  await screenshot(page, '86-contacts-recently-deleted');
  await page.getByRole('checkbox', { name: 'Select Alan Turing' }).check();
  await page.getByRole('toolbar', { name: 'Selected contacts' }).getByRole('button', { name: 'Restore' }).click();
  await pane(page).getByText('Restored 1 contact.').waitFor({ timeout: 30_000 });
  await page.getByRole('navigation', { name: 'Contact groups' }).getByRole('button', { name: /All contacts/ }).click();
  await page.locator('.contact-name').filter({ hasText: 'Alan Turing' }).waitFor({ timeout: 30_000 });
});

test('the reader adds a sender to contacts', async () => {
  const page = bob.page;
  const letter = `From: Carol Danvers <carol@example.net>\r\nTo: bob@plico.test\r\nSubject: CONTACTS-E2E hello\r\n`
    + `Date: ${new Date().toUTCString()}\r\nMessage-ID: <contacts.e2e@example.net>\r\n`
    + `Content-Type: text/plain; charset=utf-8\r\n\r\nHello Bob.\r\n`;
  const file = path.join(dir, 'letter.eml');
  fs.writeFileSync(file, letter);
  const swaks = spawnSync('swaks', ['--server', `127.0.0.1:${server.smtpPort}`, '--from', 'carol@example.net',
    '--to', 'bob@plico.test', '--data', `@${file}`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(swaks.status, 0, swaks.stdout + swaks.stderr);
  await page.getByRole('navigation', { name: 'Apps' }).getByRole('link', { name: 'Mail' }).click();
  const row = page.locator('.message-row').filter({ hasText: 'CONTACTS-E2E hello' });
  for (let i = 0; i < 60 && !(await row.count()); i++) {
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Sent/ }).click();
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Inbox/ }).click();
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await row.first().click({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Add to contacts' }).click();
  await page.getByText('carol@example.net is in your contacts now.').waitFor({ timeout: 30_000 });
  await screenshot(page, '87-reader-added-to-contacts');
  await openContacts(page);
  await page.locator('.contact-name').filter({ hasText: 'Carol Danvers' }).waitFor({ timeout: 30_000 });
});

test("a contact's page shows the key kept for each address, and the user marks it verified", async () => {
  const page = bob.page;
  // Grace gives Bob her key; he imports it on the account page.
  const grace = await openpgp.generateKey({ userIDs: [{ name: 'Grace Hopper', email: 'grace@navy.example' }], format: 'object' });
  const fingerprint = grace.publicKey.getFingerprint().toUpperCase();
  await page.getByRole('navigation', { name: 'Apps' }).getByRole('link', { name: 'Mail' }).click();
  await page.locator('.account-link').click();
  await page.getByLabel('Import a public key').fill(grace.publicKey.armor());
  await page.getByRole('button', { name: 'Import key' }).click();
  await page.getByRole('row').filter({ hasText: 'grace@navy.example' }).waitFor({ timeout: 30_000 });

  await openContacts(page);
  await page.locator('.contact-open').filter({ hasText: 'Grace Hopper' }).click();
  const key = pane(page).locator('.contact-key').filter({ hasText: 'grace@navy.example' });
  await key.waitFor({ timeout: 30_000 });
  // The fingerprint as the user compares it aloud: blocks of four, all forty digits.
  const shown = (await key.locator('.fingerprint').textContent()).replace(/\s+/g, '');
  assert.equal(shown, fingerprint);
  assert.match(await key.locator('.fingerprint').textContent(), /^[0-9A-F]{4}( [0-9A-F]{4}){4}  [0-9A-F]{4}( [0-9A-F]{4}){4}$/);
  await key.getByText('Imported').waitFor();
  await key.getByText('Chosen by you').waitFor();
  await screenshot(page, '90-contact-key');
  await key.getByRole('button', { name: /^Mark verified the key for grace@navy\.example/ }).click();
  await pane(page).getByText('The key for grace@navy.example is marked verified.').waitFor({ timeout: 30_000 });
  await key.locator('.key-trust.verified').filter({ hasText: 'Verified' }).waitFor({ timeout: 30_000 });
  assert.equal(await key.getByRole('button', { name: /Mark verified/ }).count(), 0, 'nothing left to mark');
  await screenshot(page, '91-contact-key-verified');

  // The export carries the kept key with the contact, as a vCard KEY with its trust, and OpenPGP.js
  // reads the certificate back out of it.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export all' }).click(),
  ]);
  const exported = fs.readFileSync(await download.path(), 'utf8').replace(/\r\n[ \t]/g, '');
  const card = exported.split('END:VCARD').find((text) => text.includes('FN:Grace Hopper'));
  const keyLine = card.split('\r\n').find((line) => line.startsWith('KEY;'));
  assert.ok(keyLine, card);
  assert.match(keyLine, /X-PLICO-ADDRESS=grace@navy\.example/i);
  assert.match(keyLine, new RegExp(`X-PLICO-FINGERPRINT=${fingerprint}`, 'i'));
  assert.match(keyLine, /X-PLICO-TRUST=verified/i);
  const base64 = keyLine.slice(keyLine.indexOf('base64') + 'base64'.length).replace(/^\\?,/, '');
  const readBack = await openpgp.readKey({ binaryKey: Buffer.from(base64, 'base64') });
  assert.equal(readBack.getFingerprint().toUpperCase(), fingerprint);

  // The account page's keyring is the same keyring: the key is verified there too.
  await page.getByRole('navigation', { name: 'Apps' }).getByRole('link', { name: 'Mail' }).click();
  await page.locator('.account-link').click();
  await page.getByRole('row').filter({ hasText: 'grace@navy.example' }).getByText('Verified', { exact: true }).waitFor({ timeout: 30_000 });

  // An address nothing is kept for says so.
  await openContacts(page);
  await page.locator('.contact-open').filter({ hasText: 'Ada Lovelace' }).click();
  const none = pane(page).locator('.contact-key').filter({ hasText: 'No key kept yet' }).first();
  await none.waitFor({ timeout: 30_000 });
  // Looking one up is the user's to ask; a domain that publishes none is said plainly.
  const address = await none.locator('.key-address').textContent();
  await none.getByRole('button', { name: `Look up the key for ${address}` }).click();
  await pane(page).getByRole('alert').filter({ hasText: `No key is published for ${address}` }).waitFor({ timeout: 30_000 });
  await screenshot(page, '93-contact-key-none-published');
  assert.equal(await pane(page).locator('.contact-key').filter({ hasText: address }).locator('.fingerprint').count(), 0);
});

test('contacts are in the search index and a result opens the contact', async () => {
  const page = bob.page;
  await page.getByRole('navigation', { name: 'Apps' }).getByRole('link', { name: 'Mail' }).click();
  const box = page.getByRole('searchbox', { name: 'Search mail' });
  await box.click();
  // Her organisation and her note are found, not only her name.
  await box.fill('analytical engines');
  await page.waitForURL('**/search');
  const hit = page.locator('.search-hit').filter({ hasText: 'Ada Lovelace' });
  await hit.waitFor({ timeout: 60_000 });
  assert.match(await hit.locator('.row-date').textContent(), /^Contacts · /);
  await box.fill('first program');
  await hit.waitFor({ timeout: 30_000 });
  await screenshot(page, '92-search-finds-contact');
  await hit.locator('.message-row').click();
  await page.waitForURL(/\/contacts\/[^/]+$/, { timeout: 30_000 });
  await pane(page).locator('.contact-header h2').filter({ hasText: 'Ada Lovelace' }).waitFor({ timeout: 60_000 });
  // A deleted contact leaves the index at the next search.
  await page.locator('.contact-open').filter({ hasText: 'Carol Danvers' }).click();
  await pane(page).locator('.contact-header h2').filter({ hasText: 'Carol Danvers' }).waitFor({ timeout: 30_000 });
  await pane(page).getByRole('button', { name: 'Delete' }).click();
  await pane(page).getByText(/Moved 1 contact to Recently deleted/).waitFor({ timeout: 30_000 });
  await page.getByRole('navigation', { name: 'Apps' }).getByRole('link', { name: 'Mail' }).click();
  await box.fill('danvers');
  await page.waitForURL('**/search');
  await page.locator('.search-results .result-count[data-query="danvers"]').waitFor({ timeout: 60_000 });
  // Her message is still found; she is not, as a contact.
  await page.locator('.search-hit').filter({ hasText: 'CONTACTS-E2E hello' }).waitFor();
  const contactRows = page.locator('.search-hit').filter({ has: page.locator('.row-date', { hasText: /^Contacts · / }) });
  assert.equal(await contactRows.count(), 0);
  // Restored, for the tests after this one.
  await openContacts(page);
  await page.getByRole('navigation', { name: 'Contact groups' }).getByRole('button', { name: /Recently deleted/ }).click();
  await page.getByRole('checkbox', { name: 'Select Carol Danvers' }).check();
  await page.getByRole('toolbar', { name: 'Selected contacts' }).getByRole('button', { name: 'Restore' }).click();
  await pane(page).getByText('Restored 1 contact.').waitFor({ timeout: 30_000 });
});

test('two devices edit the same contact: each keeps the fields it changed, and the last writer wins a field both changed', async () => {
  const other = await startBrowser();
  try {
    const a = bob.page;
    const b = other.page;
    await signIn(b, server.baseUrl, 'bob');
    await b.waitForURL('**/mail/inbox', { timeout: 60_000 });
    const editGrace = async (page) => {
      await openContacts(page);
      await page.locator('.contact-open').filter({ hasText: 'Grace Hopper' }).click();
      await pane(page).locator('.contact-header h2').filter({ hasText: 'Grace Hopper' }).waitFor({ timeout: 30_000 });
      await pane(page).getByRole('button', { name: 'Edit' }).click();
      await page.locator('.contact-editor').waitFor();
    };
    // Both open the editor on the same version; A saves first, then B.
    await editGrace(a);
    await editGrace(b);
    await fillAndSave(a, { organization: 'US Navy', note: 'Written on device A.' }, 'Contact saved.');
    // B's list syncs while its editor stays open (here an import, which syncs when it is done):
    // B's worker now holds A's version, and B's editor still shows the one before it.
    await b.locator('.contacts-side input[type=file]').setInputFiles({ name: 'one.vcf', mimeType: 'text/vcard',
      buffer: Buffer.from('BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Sync Trigger\r\nEND:VCARD\r\n') });
    const report = b.locator('.import-report');
    await report.waitFor({ timeout: 30_000 });
    await report.getByRole('button', { name: 'Close' }).click();
    await b.locator('.contact-name').filter({ hasText: 'Sync Trigger' }).waitFor({ timeout: 30_000 });
    assert.equal(await b.locator('.contact-editor').getByLabel('Organisation').inputValue(), '', 'B still edits the version it opened');
    await fillAndSave(b, { note: 'Invented the compiler.' }, 'Contact saved.');
    // A's organisation survived B's save (B did not change it); the note both changed is B's.
    for (const page of [b, a]) {
      await openContacts(page);
      await page.locator('.contact-open').filter({ hasText: 'Grace Hopper' }).click();
      const card = pane(page).locator('.contact-page');
      await card.getByText('Invented the compiler.').waitFor({ timeout: 30_000 });
      assert.match(await card.textContent(), /US Navy/);
      assert.doesNotMatch(await card.textContent(), /Written on device A/);
    }
    await screenshot(b, '93-contacts-two-devices-merged');
    assert.deepEqual(other.problems, []);
  } finally {
    await other.close();
  }
});

test('contacts on a phone-sized screen', async () => {
  const phone = await startBrowser({ viewport: { width: 390, height: 844 } });
  try {
    const { page } = phone;
    await signIn(page, server.baseUrl, 'bob');
    await page.waitForURL('**/mail/inbox', { timeout: 60_000 });
    await openContacts(page);
    await page.locator('.contact-open').filter({ hasText: 'Ada Lovelace' }).click();
    await pane(page).locator('.contact-header h2').filter({ hasText: 'Ada Lovelace' }).waitFor({ timeout: 30_000 });
    await screenshot(page, '88-contacts-phone');
    assert.deepEqual(phone.problems, []);
  } finally {
    await phone.close();
  }
});

test('the Contacts app speaks the language the mail app speaks', async () => {
  const french = await startBrowser({ locale: 'fr-FR' });
  try {
    const { page } = french;
    await page.goto(`${server.baseUrl}/login`);
    await page.getByLabel('Adresse').fill('bob');
    await page.getByLabel('Mot de passe').fill('violet staple orbit 42');
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.waitForURL('**/mail/inbox', { timeout: 60_000 });
    await page.getByRole('navigation', { name: 'Applications' }).getByRole('link', { name: 'Contacts' }).click();
    await page.getByRole('button', { name: 'Nouveau contact' }).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: /Tous les contacts/ }).waitFor();
    await page.getByPlaceholder('Rechercher dans les contacts').waitFor();
    await page.locator('.contact-open').filter({ hasText: 'Ada Lovelace' }).click();
    await page.getByRole('button', { name: 'Modifier' }).click();
    await page.getByLabel('Nom affiché').waitFor();
    await screenshot(page, '89-contacts-editor-fr');
    assert.deepEqual(french.problems, []);
  } finally {
    await french.close();
  }
});

test("contacts open from this device's copy when the server cannot be reached", async () => {
  const device = bob;
  const { page, context } = device;
  // A new visit on the same device: new workers, the copy in IndexedDB kept. The copy is
  // written 1.5 s after a change.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  await signIn(page, server.baseUrl, 'bob');
  await page.waitForURL('**/mail/inbox', { timeout: 60_000 });
  await context.route('**/api/v1/items/**', (route) => route.abort('internetdisconnected'));
  try {
    await openContacts(page);
    await page.locator('.contact-name').filter({ hasText: 'Ada Lovelace' }).waitFor({ timeout: 30_000 });
    assert.ok(await rows(page).count() >= 4, 'every contact is listed from the copy');
    await page.locator('.contact-open').filter({ hasText: 'Grace Hopper' }).click();
    await pane(page).locator('.contact-header h2').filter({ hasText: 'Grace Hopper' }).waitFor({ timeout: 30_000 });
  } finally {
    await context.unroute('**/api/v1/items/**');
  }
});

test('the server holds no contact name, address, phone or note', async () => {
  assert.deepEqual(bob.problems, []);
  const found = [];
  const scan = (file) => {
    const bytes = fs.readFileSync(file);
    for (const secret of SECRETS) if (bytes.includes(Buffer.from(secret))) found.push(`${secret} in ${path.relative(server.dataDir, file)}`);
  };
  const walk = (at) => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) walk(full); else scan(full);
    }
  };
  walk(server.dataDir);
  assert.deepEqual(found, []);
});
