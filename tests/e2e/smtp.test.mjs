// Mail from the Internet: swaks (a real SMTP client) delivers plaintext, HTML, an attachment,
// 8-bit text and a malformed message to `plico serve --smtp`; each good one is read in the real
// UI, the malformed one gets a clear SMTP error, and nothing readable reaches the server's disk.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, startBrowser, screenshot, signUp } from './harness.mjs';

let server;
let carol;
let tlsDir;
const ATTACHMENT = Buffer.from('SMTP-E2E-ATTACHMENT-MARKER ' + 'report data '.repeat(200));

before(async () => {
  // A self-signed certificate for STARTTLS (swaks does not check it; a real MX has a real one).
  tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plico-tls-'));
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', path.join(tlsDir, 'key.pem'), '-out', path.join(tlsDir, 'cert.pem'), '-days', '2', '-subj', '/CN=plico.test'], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  server = await startServer({ smtp: true, args: ['--smtp-tls-cert', path.join(tlsDir, 'cert.pem'), '--smtp-tls-key', path.join(tlsDir, 'key.pem')] });
  carol = await startBrowser();
  await signUp(carol.page, server.baseUrl, 'carol');
  await carol.page.waitForURL('**/mail/inbox', { timeout: 60_000 });
});

after(async () => {
  await carol?.close();
  await server?.stop();
  if (tlsDir) fs.rmSync(tlsDir, { recursive: true, force: true });
});

/** Runs swaks against the listener; returns { status, output }. */
function swaks(args) {
  const result = spawnSync('swaks', ['--server', `127.0.0.1:${server.smtpPort}`, '--helo', 'sender.example.org',
    '--from', 'dana@example.org', '--to', 'carol@plico.test', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function filesUnder(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

async function openMessage(page, subject) {
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Sent/ }).click();
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Inbox/ }).click();
  await page.locator('.message-row').filter({ hasText: subject }).first().click({ timeout: 30_000 });
  await page.locator('#reader-subject').filter({ hasText: subject }).waitFor({ timeout: 30_000 });
  await page.getByText('Not signed: the sender cannot be confirmed.').waitFor({ timeout: 30_000 });
}

test('swaks delivers plaintext, HTML, an attachment and 8-bit text; each reads in the app; malformed mail is refused', async () => {
  // Over STARTTLS: the listener offers it (a certificate is configured) and the whole
  // transaction after it runs inside TLS ("<~" and "~>" are swaks's TLS lines).
  const plain = swaks(['--tls', '--header', 'Subject: SMTP-E2E plain note', '--body', 'SMTP-E2E-BODY plain text from outside.']);
  assert.equal(plain.status, 0, plain.output);
  assert.match(plain.output, /<- +250[ -]STARTTLS/);
  assert.match(plain.output, /=== TLS started with cipher TLSv1\.3/);
  assert.match(plain.output, /<~ +250 2\.0\.0 Ok: stored as /);

  const html = swaks(['--header', 'Subject: SMTP-E2E html letter', '--add-header', 'MIME-Version: 1.0',
    '--add-header', 'Content-Type: text/html; charset=utf-8', '--body', '<p>SMTP-E2E-HTML <b>bold words</b></p>']);
  assert.equal(html.status, 0, html.output);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plico-swaks-'));
  const file = path.join(dir, 'report.txt');
  fs.writeFileSync(file, ATTACHMENT);
  const attached = swaks(['--header', 'Subject: SMTP-E2E with attachment', '--body', 'See the attached report.',
    '--attach-type', 'text/plain', '--attach-name', 'report.txt', '--attach', `@${file}`]);
  assert.equal(attached.status, 0, attached.output);

  const eightBit = swaks(['--header', 'Subject: SMTP-E2E Grüße', '--add-header', 'MIME-Version: 1.0',
    '--add-header', 'Content-Type: text/plain; charset=utf-8', '--add-header', 'Content-Transfer-Encoding: 8bit',
    '--body', 'Smörgåsbord für alle, SMTP-E2E-8BIT.']);
  assert.equal(eightBit.status, 0, eightBit.output);

  const malformed = swaks(['--data', 'this is not a mail message at all\r\n']);
  assert.notEqual(malformed.status, 0, malformed.output);
  assert.match(malformed.output, /<\*\* +554 5\.6\.0 The message does not start with a header field/);

  const unknown = swaks(['--to', 'nobody@plico.test', '--body', 'x']);
  assert.notEqual(unknown.status, 0, unknown.output);
  assert.match(unknown.output, /<\*\* +550 5\.1\.1 <nobody@plico\.test>: no such mailbox here/);

  const relay = swaks(['--to', 'someone@elsewhere.example', '--body', 'x']);
  assert.match(relay.output, /<\*\* +550 5\.7\.1 .*does not relay/);
  fs.rmSync(dir, { recursive: true, force: true });

  const page = carol.page;
  await openMessage(page, 'SMTP-E2E plain note');
  assert.match(await page.locator('.message-text').textContent(), /SMTP-E2E-BODY plain text from outside\./);
  assert.match(await page.locator('.headers').textContent(), /dana@example\.org/);
  await screenshot(page, '30-smtp-plain');

  await openMessage(page, 'SMTP-E2E html letter');
  await page.frameLocator('iframe.message-frame').getByText('bold words').waitFor({ timeout: 10_000 });
  await page.waitForTimeout(300);
  await screenshot(page, '31-smtp-html');

  await openMessage(page, 'SMTP-E2E with attachment');
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 30_000 }),
    page.getByRole('button', { name: /report\.txt/ }).click(),
  ]);
  assert.ok(fs.readFileSync(await download.path()).equals(ATTACHMENT), 'the attachment comes back byte-identical');

  await openMessage(page, 'SMTP-E2E Grüße');
  assert.match(await page.locator('.message-text').textContent(), /Smörgåsbord für alle, SMTP-E2E-8BIT\./);
  await screenshot(page, '32-smtp-8bit');
  assert.deepEqual(carol.problems, []);

  // Zero access: the plaintext was encrypted before it was written anywhere.
  const markers = ['SMTP-E2E plain', 'SMTP-E2E-BODY', 'SMTP-E2E-HTML', 'SMTP-E2E-ATTACHMENT-MARKER', 'SMTP-E2E-8BIT',
    'bold words', 'report data'];
  const hits = [];
  for (const file of filesUnder(server.dataDir)) {
    const bytes = fs.readFileSync(file);
    for (const marker of markers) if (bytes.includes(Buffer.from(marker))) hits.push(`${marker} in ${file}`);
  }
  assert.deepEqual(hits, []);
  assert.ok(!server.log.join('').includes('SMTP-E2E'), 'the server log holds no message content');
});

test('the account page switches spam and virus checks off and on, and the server honours it', async () => {
  const { page } = carol;
  const spammy = (subject) => swaks(['--header', `Subject: ${subject} YOU HAVE WON THE LOTTERY!!!`,
    '--body', 'Congratulations! Claim your prize: verify your account and send a wire transfer fee. Act now, 100% free.']);

  await page.getByRole('link', { name: /carol@plico\.test/ }).click();
  await page.getByRole('heading', { name: 'Account', exact: true }).waitFor();
  const toggle = page.getByRole('checkbox', { name: 'Check incoming mail for spam and viruses' });
  await toggle.waitFor();
  await page.waitForFunction(() => !document.querySelector('.toggle input').disabled);
  assert.equal(await toggle.isChecked(), true, 'checks are on by default');

  // On: the lottery mail is filed in Spam.
  assert.equal(spammy('SMTP-E2E-CHECKED').status, 0);
  await toggle.uncheck();
  await page.getByText('Saved: incoming mail is not analysed.').waitFor();
  await screenshot(page, '33-account-checks-off');
  const settings = await page.evaluate(async () => (await fetch('/api/v1/account/settings')).json());
  assert.deepEqual(settings, { mail_analysis: false });
  // Off: the same mail goes to the Inbox, unscored.
  assert.equal(spammy('SMTP-E2E-UNCHECKED').status, 0);

  const roles = await page.evaluate(async () => {
    const folders = await (await fetch('/api/v1/folders')).json();
    const sync = await (await fetch('/api/v1/sync?since=0')).json();
    return sync.messages.map((m) => folders.find((f) => f.id === m.folder_id)?.role);
  });
  const counts = roles.reduce((acc, role) => ({ ...acc, [role]: (acc[role] ?? 0) + 1 }), {});
  assert.equal(counts.spam, 1, `one message in Spam: ${JSON.stringify(counts)}`);

  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Spam/ }).click();
  await page.locator('.message-row').first().waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('.message-row').count(), 1);
  await page.locator('.message-row').first().click();
  await page.locator('#reader-subject').filter({ hasText: 'YOU HAVE WON' }).waitFor({ timeout: 30_000 });
  // The subject is inside the encryption; the sealed summary gives which of the two it is.
  await page.locator('.message-row').filter({ hasText: 'SMTP-E2E-CHECKED' }).waitFor();
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Inbox/ }).click();
  await page.locator('.message-row').filter({ hasText: 'SMTP-E2E-UNCHECKED' }).waitFor({ timeout: 30_000 });

  // Back on, and it stays on across a reload of the page.
  await page.getByRole('link', { name: /carol@plico\.test/ }).click();
  await toggle.waitFor();
  await page.waitForFunction(() => !document.querySelector('.toggle input').disabled);
  assert.equal(await toggle.isChecked(), false, 'the page shows the saved setting');
  await toggle.check();
  await page.getByText('Saved: incoming mail is checked.').waitFor();
  const again = await page.evaluate(async () => (await fetch('/api/v1/account/settings')).json());
  assert.deepEqual(again, { mail_analysis: true });
  assert.deepEqual(carol.problems, []);
});
