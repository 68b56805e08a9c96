// SPF, DKIM and DMARC in the real app: dnsmasq publishes the senders' records, dkimpy signs as
// the sending domain, swaks delivers; the reader shows the server's verdict, a forged sender's
// mail is in Spam with the failure said plainly.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, startBrowser, screenshot, signUp, startDns } from './harness.mjs';

let dir;
let dns;
let server;
let erin;

function run(command, args, input) {
  const result = spawnSync(command, args, { encoding: 'utf8', input, timeout: 60_000 });
  assert.equal(result.status, 0, `${command}: ${result.stderr}`);
  return result.stdout;
}

function swaksData(from, helo, message) {
  const file = path.join(dir, `${Date.now()}-${Math.random()}.eml`);
  fs.writeFileSync(file, message);
  const result = spawnSync('swaks', ['--server', `127.0.0.1:${server.smtpPort}`, '--helo', helo, '--from', from,
    '--to', 'erin@plico.test', '--data', `@${file}`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
}

function letter(from, subject, body) {
  return `From: ${from}\r\nTo: erin@plico.test\r\nSubject: ${subject}\r\nDate: ${new Date().toUTCString()}\r\n`
    + `Message-ID: <${subject.replace(/\W+/g, '.')}@example.test>\r\nMIME-Version: 1.0\r\n`
    + `Content-Type: text/plain; charset=utf-8\r\n\r\n${body}\r\n`;
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plico-auth-'));
  const key = path.join(dir, 'dkim.pem');
  run('openssl', ['genrsa', '-traditional', '-out', key, '2048']);
  const publicKey = spawnSync('openssl', ['rsa', '-in', key, '-pubout', '-outform', 'DER']).stdout.toString('base64');
  dns = await startDns([
    ['example.test', 'v=spf1 ip4:127.0.0.1 -all'],
    ['sel._domainkey.example.test', `v=DKIM1; k=rsa; p=${publicKey}`],
    ['_dmarc.example.test', 'v=DMARC1; p=reject'],
    ['bank.test', 'v=spf1 -all'],
    ['_dmarc.bank.test', 'v=DMARC1; p=quarantine'],
  ]);
  server = await startServer({ smtp: true, args: ['--mail-auth-dns', `127.0.0.1:${dns.port}`] });
  erin = await startBrowser();
  await signUp(erin.page, server.baseUrl, 'erin');
  await erin.page.waitForURL('**/mail/inbox', { timeout: 60_000 });

  const signScript = "import dkim, sys\nm = sys.stdin.buffer.read()\n"
    + "s = dkim.sign(m, b'sel', b'example.test', open(sys.argv[1], 'rb').read(), include_headers=[b'from', b'to', b'subject', b'date'])\n"
    + 'sys.stdout.buffer.write(s + m)\n';
  const signed = run('/usr/bin/python3', ['-c', signScript, key], letter('Dana <dana@example.test>', 'AUTH-E2E signed', 'Signed by the domain.'));
  swaksData('dana@example.test', 'mail.example.test', signed);
  swaksData('ceo@bank.test', 'mail.bank.test', letter('The Bank <ceo@bank.test>', 'AUTH-E2E forged', 'Please wire the money.'));
});

after(async () => {
  await erin?.close();
  await server?.stop();
  dns?.child.kill();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function open(page, folder, subject) {
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Sent/ }).click();
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: new RegExp(`^${folder}`) }).click();
  await page.locator('.message-row').filter({ hasText: subject }).first().click({ timeout: 30_000 });
  await page.locator('#reader-subject').filter({ hasText: subject }).waitFor({ timeout: 30_000 });
}

test('the reader shows DMARC, DKIM and SPF as the server found them; a forged sender is in Spam, flagged', async () => {
  const page = erin.page;
  await open(page, 'Inbox', 'AUTH-E2E signed');
  const checks = page.locator('.sender-checks');
  await checks.waitFor({ timeout: 30_000 });
  assert.equal(await checks.textContent(),
    'Checked by plico.test: sent by example.test, DMARC pass (DKIM pass (example.test), SPF pass).');
  assert.equal(await page.locator('.sender-checks.failed').count(), 0);
  await screenshot(page, '42-reader-sender-checks');

  await open(page, 'Spam', 'AUTH-E2E forged');
  const failed = page.locator('.sender-checks.failed');
  await failed.waitFor({ timeout: 30_000 });
  assert.match(await failed.textContent(), /this message may not be from bank\.test, DMARC fail \(SPF fail\)/);
  await screenshot(page, '43-reader-dmarc-fail');
});
