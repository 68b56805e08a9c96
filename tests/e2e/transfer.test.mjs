// Export everything and import mail through the real UI: alice imports an mbox from "another
// provider" (with a malformed record, which the report names), receives a signed message from
// carol, and exports everything. Python's zipfile checks the archive (every CRC) and its
// mailbox module opens the exported mbox. dave, a fresh account, imports that mbox (pausing
// half way), exports again, and every message's bodies and attachments are byte for byte the
// same as in alice's export.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, startBrowser, screenshot, signUp } from './harness.mjs';

const PASSPHRASE = 'export passphrase 7';
/** Messages in the file the pause test imports. */
const COUNT = 24;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plico-transfer-'));
let server;
let alice;
let carol;
let dave;

/** A message with a 3 MB attachment makes the mbox three pieces of 2 MB: pause has a gap to act in. */
function outsideMbox() {
  const big = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  const b64 = big.toString('base64').replace(/.{76}/g, '$&\n');
  return [
    'From dana@example.org Tue Mar  3 10:00:00 2026',
    'From: Dana <dana@example.org>', 'To: alice@plico.test', 'Subject: Holiday photos',
    'Date: Tue, 03 Mar 2026 10:00:00 +0000', 'Message-ID: <photos-1@example.org>', 'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"', '', '--b1', 'Content-Type: text/plain; charset=utf-8', '',
    'Here they are.', '>From the beach, mostly.', '', '--b1',
    'Content-Type: image/jpeg; name="beach.jpg"', 'Content-Disposition: attachment; filename="beach.jpg"',
    'Content-Transfer-Encoding: base64', '', b64, '--b1--', '',
    'From eve@example.org Wed Mar  4 09:00:00 2026',
    'this record has no header section', '',
    'From erik@example.se Thu Mar  5 08:00:00 2026',
    'From: Erik <erik@example.se>', 'To: alice@plico.test', 'Subject: =?utf-8?q?R=C3=A4ksm=C3=B6rg=C3=A5s?=',
    'Date: Thu, 05 Mar 2026 08:00:00 +0000', 'Message-ID: <erik-1@example.se>', 'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '',
    'Hej Alice, smörgåsbord på fredag?', '',
  ].join('\n');
}

/** Python over an export: the entries, every CRC, and each message's parts as hashes. */
const PY_SUMMARY = `
import hashlib, json, mailbox, sys, zipfile, email, email.policy
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None, "a CRC does not match"
names = z.namelist()
z.extractall(sys.argv[2])
box = mailbox.mbox(sys.argv[2] + "/mail/Inbox.mbox")
def parts(msg):
    out = []
    for part in msg.walk():
        if part.is_multipart(): continue
        out.append([part.get_filename() or "", hashlib.sha256(part.get_payload(decode=True) or b"").hexdigest()])
    return out
messages = {}
for m in box:
    parsed = email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
    messages[str(parsed["Message-ID"])] = {"subject": str(parsed["Subject"]), "parts": parts(parsed)}
emls = sorted(n for n in names if n.startswith("mail/Inbox/") and n.endswith(".eml"))
eml_ids = sorted(str(email.message_from_bytes(z.read(n), policy=email.policy.default)["Message-ID"]) for n in emls)
print(json.dumps({"names": names, "messages": messages, "eml_ids": eml_ids,
                  "readme": z.read("README.txt").decode(), "secret": z.read("keys/secret-key.asc").decode()[:40],
                  "receipts": json.loads(z.read("privacy/consent-receipts.json")),
                  "logins": json.loads(z.read("account/login-history.json"))}))
`;

function summarise(zip, name) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', PY_SUMMARY, zip, dir], { maxBuffer: 64 << 20 }).toString());
}

async function openAccount(page) {
  await page.locator('a.account-link').click();
  await page.getByRole('heading', { name: 'Account', exact: true }).waitFor();
}

async function exportEverything(page, name) {
  await openAccount(page);
  const panel = page.locator('#export-panel');
  await panel.getByLabel('Passphrase for the secret key').fill(PASSPHRASE);
  await panel.getByLabel('Repeat the passphrase').fill(PASSPHRASE);
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 120_000 }),
    panel.getByRole('button', { name: 'Export' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^plico-[a-z]+-\d{4}-\d\d-\d\d\.zip$/);
  const file = path.join(work, `${name}.zip`);
  await download.saveAs(file);
  await panel.locator('#export-done').waitFor();
  return file;
}

async function importFile(page, file, { pause = false, folder = 'Inbox' } = {}) {
  await openAccount(page);
  const panel = page.locator('#import-panel');
  await panel.locator('#import-folder option').first().waitFor({ state: 'attached', timeout: 30_000 });
  await panel.getByLabel('Into folder').selectOption({ label: folder });
  await panel.getByLabel('Files').setInputFiles(file);
  await panel.getByRole('button', { name: 'Import', exact: true }).click();
  if (pause) {
    // Paused at once: the piece in flight finishes, then nothing moves.
    await panel.getByRole('button', { name: 'Pause' }).click();
    await panel.locator('#import-status').getByText(/^Paused: /).waitFor();
    await page.waitForTimeout(3_000);
    const held = await panel.locator('#import-status').textContent();
    await page.waitForTimeout(3_000);
    assert.equal(await panel.locator('#import-status').textContent(), held, 'nothing is imported while paused');
    assert.match(held, /^Paused: \d+ imported/, 'the pause came before the end');
    assert.ok(Number(held.match(/(\d+) imported/)[1]) < COUNT, held);
    await screenshot(page, 'transfer-import-paused');
    await panel.getByRole('button', { name: 'Resume' }).click();
  }
  await panel.locator('#import-status').getByText(/^Done: /).waitFor({ timeout: 180_000 });
  return panel;
}

before(async () => {
  server = await startServer();
  [alice, carol, dave] = [await startBrowser(), await startBrowser(), await startBrowser()];
  for (const [user, name] of [[alice, 'alice'], [carol, 'carol'], [dave, 'dave']]) {
    await signUp(user.page, server.baseUrl, name);
    await user.page.waitForURL('**/mail/inbox', { timeout: 60_000 });
  }
});

after(async () => {
  await alice?.close();
  await carol?.close();
  await dave?.close();
  await server?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

test('an import reports each record it cannot take and imports the rest', async () => {
  const mbox = path.join(work, 'from-elsewhere.mbox');
  fs.writeFileSync(mbox, 'leading junk\n' + outsideMbox());
  const panel = await importFile(alice.page, mbox);
  assert.match(await panel.locator('#import-status').textContent(), /^Done: 2 imported, 2 could not be imported/);
  const report = await panel.locator('#import-report li').allTextContents();
  assert.equal(report.length, 2, report.join('\n'));
  assert.match(report[0], /from-elsewhere\.mbox, line 1: .*not an mbox file/);
  assert.match(report[1], /from-elsewhere\.mbox, message 2 \(line \d+\): .*no header section/);
  await screenshot(alice.page, 'transfer-import-report');

  // A file that is not mail at all, as .eml: reported by name.
  const eml = path.join(work, 'notes.eml');
  fs.writeFileSync(eml, 'just some notes, not an email\n');
  const second = await importFile(alice.page, eml);
  assert.match(await second.locator('#import-report').textContent(), /notes\.eml: It does not start with a header field/);

  // The imported mail is in the Inbox with its own dates.
  await alice.page.getByRole('link', { name: /^Inbox/ }).first().click();
  await alice.page.locator('.messages').getByText('Holiday photos').waitFor({ timeout: 30_000 });
  await alice.page.locator('.messages').getByText('Räksmörgås').waitFor();
});

test('alice exports everything; the archive opens in Python with every message, key and record', async () => {
  // A signed message from another Plico user, with an attachment.
  const page = carol.page;
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByLabel('To', { exact: true }).fill('alice');
  await page.getByLabel('Subject', { exact: true }).fill('Contract draft');
  await page.getByLabel('Message', { exact: true }).fill('From now on, this is the version to sign.');
  await page.locator('#compose-files').setInputFiles({ name: 'contract.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 contract v2') });
  await page.getByRole('button', { name: 'Send encrypted' }).click();
  await page.waitForURL('**/mail/sent', { timeout: 60_000 });
  await alice.page.getByRole('link', { name: /^Inbox/ }).first().click();
  await alice.page.locator('.messages').getByText('Contract draft').waitFor({ timeout: 60_000 });

  // A passphrase too short, or mistyped, is refused before anything is made.
  await openAccount(alice.page);
  const panel = alice.page.locator('#export-panel');
  await panel.getByLabel('Passphrase for the secret key').fill('short one!');
  await panel.getByLabel('Repeat the passphrase').fill('short one?');
  await panel.getByRole('button', { name: 'Export' }).click();
  await panel.getByText('The two passphrases differ.').waitFor();

  const zip = await exportEverything(alice.page, 'alice');
  await screenshot(alice.page, 'transfer-export-done');
  assert.match(await alice.page.locator('#export-done').textContent(), /Exported 3 messages/);
  const summary = summarise(zip, 'alice');
  for (const name of ['README.txt', 'mail/Inbox.mbox', 'contacts/contacts.vcf', 'keys/public-key.asc', 'keys/secret-key.asc', 'privacy/consent-receipts.json', 'account/login-history.json']) {
    assert.ok(summary.names.includes(name), `${name} is in the archive: ${summary.names.join(', ')}`);
  }
  const ids = Object.keys(summary.messages).sort();
  assert.equal(ids.length, 3, JSON.stringify(summary.messages));
  assert.deepEqual(summary.eml_ids, ids, 'the .eml files are the same messages as the mbox');
  const photos = summary.messages['<photos-1@example.org>'];
  assert.equal(photos.subject, 'Holiday photos');
  assert.equal(photos.parts[1][0], 'beach.jpg');
  assert.equal(summary.messages['<erik-1@example.se>'].subject, 'Räksmörgås');
  assert.ok(Object.values(summary.messages).some((m) => m.subject === 'Contract draft' && m.parts.some(([name]) => name === 'contract.pdf')));
  assert.ok(summary.secret.startsWith('-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n'), summary.secret);
  assert.ok(summary.receipts.length >= 1 && summary.receipts[0].policy_version === 2, JSON.stringify(summary.receipts));
  assert.ok(summary.logins.events.length >= 1, 'the sign-up is in the login history');
  assert.match(summary.readme, /Every message was exported\./);
  // The secret key is protected: GnuPG imports it only with the passphrase.
  const gnupg = fs.mkdtempSync(path.join(os.tmpdir(), 'plico-gpg-'));
  fs.writeFileSync(path.join(gnupg, 'gpg-agent.conf'), 'default-cache-ttl 0\nmax-cache-ttl 0\n');
  const key = path.join(work, 'alice', 'keys', 'secret-key.asc');
  const listing = execFileSync('gpg', ['--homedir', gnupg, '--batch', '--list-packets', key]).toString();
  assert.match(listing, /protected/, 'the secret key packets are encrypted');
  fs.rmSync(gnupg, { recursive: true, force: true });
});

test('a fresh account imports the export and holds the same messages byte for byte', async () => {
  const mbox = path.join(work, 'alice', 'mail', 'Inbox.mbox');
  assert.ok(fs.statSync(mbox).size > 4 * 1024 * 1024, 'several pieces of 2 MB');
  const panel = await importFile(dave.page, mbox);
  assert.match(await panel.locator('#import-status').textContent(), /^Done: 3 imported, 0 could not be imported/);
  const zip = await exportEverything(dave.page, 'dave');
  const original = summarise(path.join(work, 'alice.zip'), 'alice-again');
  const copy = summarise(zip, 'dave');
  assert.deepEqual(copy.messages, original.messages, 'same subjects, bodies and attachments (SHA-256 of every part)');
  for (const problems of [alice.problems, carol.problems, dave.problems]) assert.deepEqual(problems, []);
});

test('an import pauses between pieces and resumes where it stopped', async () => {
  // COUNT messages of about 1.5 MB: eighteen pieces of 2 MB.
  const records = [];
  for (let n = 1; n <= COUNT; n++) {
    const body = Buffer.alloc(1100 * 1024, 65 + n).toString('base64').replace(/.{76}/g, '$&\n');
    records.push([`From bulk@example.org Mon Mar  2 10:00:00 2026`, `From: bulk@example.org`, `Subject: Bulk ${n}`,
      `Message-ID: <bulk-${n}@example.org>`, `Date: Mon, 02 Mar 2026 10:${String(n).padStart(2, '0')}:00 +0000`, 'Content-Type: application/octet-stream',
      'Content-Transfer-Encoding: base64', '', body, ''].join('\n'));
  }
  const mbox = path.join(work, 'bulk.mbox');
  fs.writeFileSync(mbox, records.join('\n'));
  const panel = await importFile(dave.page, mbox, { pause: true, folder: 'Archive' });
  assert.match(await panel.locator('#import-status').textContent(), new RegExp(`^Done: ${COUNT} imported, 0 could not be imported`));
});

test('an export of about 150 MB streams: the worker\'s memory grows far less than the archive', async () => {
  // The same 36 MB of mail into the Inbox too: the archive holds it twice (mbox and .eml) per folder.
  await importFile(dave.page, path.join(work, 'bulk.mbox'));
  const zip = await exportEverything(dave.page, 'dave-big');
  const done = dave.page.locator('#export-done');
  const bytes = Number(await done.getAttribute('data-bytes'));
  const grown = Number(await done.getAttribute('data-memory-grown'));
  assert.equal(fs.statSync(zip).size, bytes, 'the download is the whole archive');
  assert.ok(bytes > 140e6, `the archive is ${bytes} bytes`);
  // Held whole in wasm memory it would need at least its size less what is free there.
  assert.ok(grown < bytes / 4, `the worker's memory grew ${grown} bytes for an archive of ${bytes}`);
  console.log(`export of ${bytes} bytes: worker memory grew ${grown} bytes`);
  const summary = JSON.parse(execFileSync('/usr/bin/python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(len(z.namelist()))', zip]).toString());
  assert.ok(summary > 2 * COUNT, `${summary} entries`);
});
