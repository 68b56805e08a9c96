// Mail to the outside, in the real app against the real server: the composer says "not
// end-to-end encrypted" before an outside recipient without a known key gets mail; the server's
// queue hands the message to a smarthost (aiosmtpd with STARTTLS and AUTH, tests/peers), and a
// permanent refusal comes back as a delivery status notification in the sender's Inbox. Keys of
// outside recipients are looked up at their domains' key directories (WKD, a local HTTPS peer
// here) from the browser when the domain's CORS allows, and through the server otherwise.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import https from 'node:https';
import * as openpgp from 'openpgp';
import { startServer, startBrowser, screenshot, signUp, startDns, wkdHash, startSmtpSink, waitUntil as waitFor } from './harness.mjs';

const MARKER = 'OUTBOUND-E2E-BODY-MARKER';
let server;
let sink;
let alice;
let dns;
let directory;

/**
 * Two domains' key directories over HTTPS (a private CA's certificate), on one port: `cors.test`
 * answers any origin (`Access-Control-Allow-Origin: *`, as the WKD draft asks), `nocors.test`
 * does not. Each publishes one key by the direct method; the advanced hosts have none. Every
 * request is noted with its Origin and User-Agent: a browser sends an Origin, Plico's server
 * says "Plico WKD".
 */
async function startKeyDirectory(dir) {
  const file = (name) => path.join(dir, name);
  const openssl = (args) => { const r = spawnSync('openssl', args, { encoding: 'utf8' }); assert.equal(r.status, 0, r.stderr); };
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Plico test CA', '-keyout', file('ca.key'), '-out', file('ca.pem')]);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=cors.test', '-keyout', file('wkd.key'), '-out', file('wkd.csr')]);
  fs.writeFileSync(file('san.ext'), 'subjectAltName=DNS:cors.test,DNS:openpgpkey.cors.test,DNS:nocors.test,DNS:openpgpkey.nocors.test\n');
  openssl(['x509', '-req', '-in', file('wkd.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2',
    '-extfile', file('san.ext'), '-out', file('wkd.pem')]);
  const erik = await openpgp.generateKey({ userIDs: [{ name: 'Erik', email: 'erik@cors.test' }], format: 'object' });
  const finn = await openpgp.generateKey({ userIDs: [{ name: 'Finn', email: 'finn@nocors.test' }], format: 'object' });
  const gus = await openpgp.generateKey({ userIDs: [{ name: 'Gus', email: 'gus@cors.test' }], format: 'object' });
  const published = {
    [`cors.test /.well-known/openpgpkey/hu/${wkdHash('gus')}`]: Buffer.from(gus.publicKey.write()),
    [`cors.test /.well-known/openpgpkey/hu/${wkdHash('erik')}`]: Buffer.from(erik.publicKey.write()),
    [`nocors.test /.well-known/openpgpkey/hu/${wkdHash('finn')}`]: Buffer.from(finn.publicKey.write()),
  };
  const requests = [];
  const peer = https.createServer({ key: fs.readFileSync(file('wkd.key')), cert: fs.readFileSync(file('wkd.pem')) }, (request, response) => {
    const host = (request.headers.host ?? '').replace(/:\d+$/, '');
    const { pathname } = new URL(request.url, 'https://peer');
    requests.push({ host, pathname, origin: request.headers.origin, agent: request.headers['user-agent'] ?? '' });
    const cors = host === 'cors.test' || host === 'openpgpkey.cors.test' ? { 'access-control-allow-origin': '*' } : {};
    const key = published[`${host} ${pathname}`];
    response.writeHead(key ? 200 : 404, { ...cors, 'content-type': 'application/octet-stream' });
    response.end(key ?? '');
  });
  await new Promise((resolve) => peer.listen(0, '127.0.0.1', resolve));
    /** Publishes `key` (an OpenPGP.js public key) as `local`'s at `host`, in place of any before. */
  const publish = (host, local, key) => { published[`${host} /.well-known/openpgpkey/hu/${wkdHash(local)}`] = Buffer.from(key.write()); };
  return { port: peer.address().port, ca: file('ca.pem'), requests, erik, finn, gus, publish, close: () => peer.close() };
}

before(async () => {
  sink = await startSmtpSink();
  directory = await startKeyDirectory(sink.dir);
  dns = await startDns([], { addresses: ['cors.test', 'nocors.test'] });
  server = await startServer({ smtp: true, args: [...sink.args,
    // The server's own lookups (the fallback) find the same directory through dnsmasq.
    '--mail-auth-dns', `127.0.0.1:${dns.port}`, '--wkd-https-port', String(directory.port), '--wkd-ca', directory.ca,
    '--wkd-allow-private'] });
  const to = `127.0.0.1:${directory.port}`;
  alice = await startBrowser({ hosts: { 'cors.test': to, 'openpgpkey.cors.test': to, 'nocors.test': to, 'openpgpkey.nocors.test': to } });
  await signUp(alice.page, server.baseUrl, 'alice');
  await alice.page.waitForURL('**/mail/inbox', { timeout: 60_000 });
});

after(async () => {
  await alice?.close();
  await server?.stop();
  directory?.close();
  dns?.child.kill();
  sink?.stop();
});

test('an outside recipient is named as not end-to-end encrypted before sending, and the mail leaves signed', async () => {
  const page = alice.page;
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByLabel('To', { exact: true }).fill('dana@example.org');
  await page.getByLabel('Subject', { exact: true }).fill('OUTBOUND-E2E hello outside');
  await page.getByLabel('Message', { exact: true }).fill(`Hello Dana, ${MARKER}.`);
  const notice = page.getByRole('note').filter({ hasText: 'Not end-to-end encrypted: Plico knows no key for dana@example.org.' });
  await notice.waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('.compose-header .badge-e2e').textContent(), 'Not end-to-end encrypted');
  await screenshot(page, '40-compose-outside-recipient');
  await page.getByRole('button', { name: 'Send without end-to-end encryption' }).click();
  await page.waitForURL('**/mail/sent', { timeout: 60_000 });

  const [message] = await waitFor(() => { const all = sink.received(); return all.length ? all : null; }, 'the smarthost to receive it');
  assert.deepEqual(message.envelope.rcpt_tos, ['dana@example.org']);
  assert.equal(message.envelope.mail_from, 'alice@plico.test');
  assert.equal(message.envelope.user, 'relay');
  assert.equal(message.envelope.tls, true);
  assert.match(message.eml, /Content-Type: multipart\/signed;/);
  assert.match(message.eml, /Subject: OUTBOUND-E2E hello outside/);
  assert.match(message.eml, /Autocrypt: addr=alice@plico\.test; prefer-encrypt=mutual; keydata=/);
  assert.match(message.eml, /-----BEGIN PGP SIGNATURE-----/);
  assert.ok(message.eml.includes(MARKER), 'a signed message is readable: that is what the notice said');

  // Nothing readable stays on the server's disk: the queue file was sealed, and it is gone.
  const queue = path.join(server.dataDir, 'queue');
  await waitFor(() => fs.readdirSync(queue).length === 0, 'the queue to empty');
  const files = spawnSync('grep', ['-rl', MARKER, server.dataDir], { encoding: 'utf8' });
  assert.equal(files.stdout.trim(), '', `plaintext found in ${files.stdout}`);

  // Plico recipients alone: the composer is back to its encrypted promise.
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByLabel('To', { exact: true }).fill('bob');
  assert.equal(await page.locator('.compose-header .badge-e2e').textContent(), 'End-to-end encrypted');
  assert.equal(await page.getByRole('note').count(), 0);
  await page.getByRole('button', { name: 'Discard' }).click();
});

test('outside keys are looked up at the domain from the browser when its CORS allows, through the server only when not; mail leaves encrypted to both, and a key changed there waits for the user', async () => {
  const page = alice.page;
  const asked = (name) => directory.requests.filter((r) => r.pathname.endsWith(`/hu/${wkdHash(name)}`));
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByLabel('To', { exact: true }).fill('erik@cors.test, finn@nocors.test');
  await page.getByLabel('Subject', { exact: true }).fill('OUTBOUND-E2E keys by WKD');
  await page.getByLabel('Message', { exact: true }).fill(`Hello both, ${MARKER}-3.`);
  // Once typing paused, both keys are found: the composer makes its usual promise.
  await page.getByRole('button', { name: 'Send encrypted' }).waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('.compose-header .badge-e2e').textContent(), 'End-to-end encrypted');
  assert.equal(await page.getByRole('note').count(), 0);
  await screenshot(page, '44b-compose-keys-by-wkd');

  // Erik's domain answers any origin: the browser asked it, and the server never did.
  assert.ok(asked('erik').some((r) => r.host === 'cors.test' && r.origin), JSON.stringify(directory.requests));
  assert.ok(!asked('erik').some((r) => r.agent.includes('Plico WKD')), 'the server did not look Erik up');
  // Finn's does not: the browser tried (and could not read the answer), then the server asked.
  assert.ok(asked('finn').some((r) => r.origin), JSON.stringify(directory.requests));
  assert.ok(asked('finn').some((r) => r.host === 'nocors.test' && !r.origin && r.agent.includes('Plico WKD')),
    JSON.stringify(directory.requests));
  // Only complete addresses were looked up, never the letters on the way.
  assert.deepEqual([...new Set(directory.requests.map((r) => r.pathname.split('/').pop()))].sort(),
    [wkdHash('erik'), wkdHash('finn')].sort());

  const before = sink.received().length;
  await page.getByRole('button', { name: 'Send encrypted' }).click();
  await page.waitForURL('**/mail/sent', { timeout: 60_000 });
  const all = await waitFor(() => { const now = sink.received(); return now.length > before ? now : null; }, 'the encrypted message');
  const sent = all[all.length - 1];
  assert.deepEqual([...sent.envelope.rcpt_tos].sort(), ['erik@cors.test', 'finn@nocors.test']);
  assert.match(sent.eml, /Content-Type: multipart\/encrypted;/);
  assert.ok(!sent.eml.includes(MARKER), 'nothing readable leaves');
  const armored = sent.eml.slice(sent.eml.indexOf('-----BEGIN PGP MESSAGE-----'), sent.eml.indexOf('-----END PGP MESSAGE-----') + 25);
  for (const { privateKey } of [directory.erik, directory.finn]) {
    const { data } = await openpgp.decrypt({ message: await openpgp.readMessage({ armoredMessage: armored }), decryptionKeys: privateKey });
    assert.ok(data.includes(`${MARKER}-3`), 'each recipient decrypts it with the key their domain published');
  }

  // Both keys are kept, as their domain's, pinned on first use.
  await page.getByRole('link', { name: /alice@plico\.test/ }).click();
  for (const address of ['erik@cors.test', 'finn@nocors.test']) {
    const row = page.getByRole('row').filter({ hasText: address });
    await row.getByText('Their domain (WKD)').waitFor({ timeout: 30_000 });
    await row.getByText('Kept on first use').waitFor();
  }
  assert.equal(asked('gus').length, 0, 'nobody was looked up unasked');

  // Asked on a contact's page, a key is looked up the same way and kept, before any mail.
  await page.getByRole('navigation', { name: 'Apps' }).getByRole('link', { name: 'Contacts' }).click();
  await page.locator('.contacts-app').waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'New contact' }).click();
  const editor = page.locator('.contact-editor');
  await editor.getByLabel('Display name').fill('Gus');
  await editor.locator('#contact-email-0').fill('gus@cors.test');
  await editor.getByRole('button', { name: 'Save' }).click();
  const key = page.locator('.contact-pane .contact-key').filter({ hasText: 'gus@cors.test' });
  await key.getByText('No key kept yet', { exact: false }).waitFor({ timeout: 30_000 });
  await key.getByRole('button', { name: 'Look up the key for gus@cors.test' }).click();
  await page.locator('.contact-pane').getByText('Found and kept the key for gus@cors.test.', { exact: false }).waitFor({ timeout: 30_000 });
  await key.getByText('Their domain (WKD)').waitFor({ timeout: 30_000 });
  await key.getByText('Kept on first use').waitFor();
  assert.equal((await key.locator('.fingerprint').textContent()).replace(/\s+/g, ''), directory.gus.publicKey.getFingerprint().toUpperCase());
  assert.ok(asked('gus').some((r) => r.host === 'cors.test' && r.origin), 'the browser asked');
  assert.ok(!asked('gus').some((r) => r.agent.includes('Plico WKD')), 'the server did not');
  await screenshot(page, '92-contact-key-looked-up');
  await page.getByRole('navigation', { name: 'Apps' }).getByRole('link', { name: 'Mail' }).click();

  // Erik publishes a new key at his domain: Alice's next message to him is not encrypted to the
  // kept key silently, nor to the new one: it waits, with both fingerprints, until she chooses.
  const renewed = await openpgp.generateKey({ userIDs: [{ name: 'Erik', email: 'erik@cors.test' }], format: 'object' });
  directory.publish('cors.test', 'erik', renewed.publicKey);
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByLabel('To', { exact: true }).fill('erik@cors.test');
  await page.getByLabel('Subject', { exact: true }).fill('OUTBOUND-E2E after a new key');
  await page.getByLabel('Message', { exact: true }).fill(`Your new key, ${MARKER}-4.`);
  await page.getByRole('button', { name: 'Send encrypted' }).click();
  const refusal = page.getByRole('alert').filter({ hasText: 'Another key is now published for them' });
  await refusal.waitFor({ timeout: 60_000 });
  const said = (await refusal.textContent()).replace(/\s+/g, '');
  assert.ok(said.includes(directory.erik.publicKey.getFingerprint().toUpperCase()), 'the kept key is named');
  assert.ok(said.includes(renewed.publicKey.getFingerprint().toUpperCase()), 'the new key is named');
  assert.match(said, /Nothingwassent\./);
  await page.locator('.compose .key-changed').getByRole('button', { name: 'Use the new key' }).click();
  await page.getByRole('status').filter({ hasText: 'Mail to erik@cors.test is now encrypted to their new key. Send again.' })
    .waitFor({ timeout: 30_000 });
  const count = sink.received().length;
  await page.getByRole('button', { name: 'Send encrypted' }).click();
  await page.waitForURL('**/mail/sent', { timeout: 60_000 });
  const now = await waitFor(() => { const all = sink.received(); return all.length > count ? all : null; }, 'the message to the new key');
  const toRenewed = now[now.length - 1].eml;
  const renewedArmor = toRenewed.slice(toRenewed.indexOf('-----BEGIN PGP MESSAGE-----'), toRenewed.indexOf('-----END PGP MESSAGE-----') + 25);
  const { data: renewedText } = await openpgp.decrypt({ message: await openpgp.readMessage({ armoredMessage: renewedArmor }), decryptionKeys: renewed.privateKey });
  assert.ok(renewedText.includes(`${MARKER}-4`), 'Erik reads it with his new key');
});

test('a permanent refusal comes back as a delivery status notification in the Inbox', async () => {
  const page = alice.page;
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByLabel('To', { exact: true }).fill('rejected-user@example.org');
  await page.getByLabel('Subject', { exact: true }).fill('OUTBOUND-E2E will bounce');
  await page.getByLabel('Message', { exact: true }).fill('This one cannot be delivered.');
  await page.getByRole('button', { name: 'Send without end-to-end encryption' }).click();
  await page.waitForURL('**/mail/sent', { timeout: 60_000 });
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Inbox/ }).click();
  const row = page.locator('.message-row').filter({ hasText: 'Undelivered mail' }).first();
  for (let i = 0; i < 60 && !(await row.count()); i++) {
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Sent/ }).click();
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Inbox/ }).click();
    await new Promise((r) => setTimeout(r, 500));
  }
  await row.click({ timeout: 30_000 });
  const text = await page.locator('.message-text').textContent({ timeout: 30_000 });
  assert.match(text, /could not be delivered to this recipient/);
  assert.match(text, /rejected-user@example\.org/);
  assert.match(text, /550 5\.1\.1/);
  await screenshot(page, '41-bounce-in-inbox');
});

test('a key that came in an Autocrypt header makes the reply end-to-end encrypted, and OpenPGP.js reads it', async () => {
  const { privateKey, publicKey } = await openpgp.generateKey({ userIDs: [{ email: 'erik@example.net' }], format: 'object' });
  const keydata = Buffer.from(publicKey.write()).toString('base64').match(/.{1,76}/g).join('\r\n ');
  const letter = `From: Erik <erik@example.net>\r\nTo: alice@plico.test\r\nSubject: OUTBOUND-E2E from Erik\r\n`
    + `Date: ${new Date().toUTCString()}\r\nMessage-ID: <erik.1@example.net>\r\n`
    + `Autocrypt: addr=erik@example.net; prefer-encrypt=mutual; keydata=\r\n ${keydata}\r\n`
    + 'Content-Type: text/plain; charset=utf-8\r\n\r\nHi Alice, write back encrypted.\r\n';
  const file = path.join(sink.dir, 'erik.eml');
  fs.writeFileSync(file, letter);
  const swaks = spawnSync('swaks', ['--server', `127.0.0.1:${server.smtpPort}`, '--from', 'erik@example.net',
    '--to', 'alice@plico.test', '--data', `@${file}`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(swaks.status, 0, swaks.stdout + swaks.stderr);

  const page = alice.page;
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Sent/ }).click();
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Inbox/ }).click();
  await page.locator('.message-row').filter({ hasText: 'OUTBOUND-E2E from Erik' }).first().click({ timeout: 30_000 });
  await page.locator('#reader-subject').filter({ hasText: 'OUTBOUND-E2E from Erik' }).waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Reply', exact: true }).click();
  await page.getByLabel('To', { exact: true }).waitFor();
  assert.equal(await page.getByLabel('To', { exact: true }).inputValue(), 'erik@example.net');
  // The keyring knows Erik now: no notice, and the usual promise.
  await page.getByRole('button', { name: 'Send encrypted' }).waitFor({ timeout: 10_000 });
  assert.equal(await page.getByRole('note').count(), 0);
  assert.equal(await page.locator('.compose-header .badge-e2e').textContent(), 'End-to-end encrypted');
  await page.getByLabel('Message', { exact: true }).fill(`Encrypted reply, ${MARKER}-2.`);
  await screenshot(page, '44-compose-outside-with-key');
  const before = sink.received().length;
  await page.getByRole('button', { name: 'Send encrypted' }).click();
  await page.waitForURL('**/mail/sent', { timeout: 60_000 });

  const all = await waitFor(() => { const now = sink.received(); return now.length > before ? now : null; }, 'the encrypted reply');
  const reply = all[all.length - 1];
  assert.deepEqual(reply.envelope.rcpt_tos, ['erik@example.net']);
  assert.match(reply.eml, /Content-Type: multipart\/encrypted;/);
  assert.ok(!reply.eml.includes(MARKER), 'nothing readable leaves');
  const armored = reply.eml.slice(reply.eml.indexOf('-----BEGIN PGP MESSAGE-----'), reply.eml.indexOf('-----END PGP MESSAGE-----') + 25);
  const { data } = await openpgp.decrypt({ message: await openpgp.readMessage({ armoredMessage: armored }), decryptionKeys: privateKey });
  assert.ok(data.includes(`${MARKER}-2`), 'OpenPGP.js decrypts what Alice sent');
});

test('a key imported on the account page makes mail to that address end-to-end encrypted, and GnuPG decrypts and verifies it', async () => {
  // GnuPG makes Fay's key, as a correspondent on another server would.
  const gnupg = fs.mkdtempSync(path.join(os.tmpdir(), 'plico-gnupg-'));
  const gpg = (args, input) => spawnSync('gpg', ['--batch', '--homedir', gnupg, '--pinentry-mode', 'loopback', '--passphrase', '', ...args],
    { input, encoding: 'utf8', timeout: 60_000 });
  const made = gpg(['--quick-gen-key', 'Fay <fay@example.com>', 'future-default', 'default', 'never']);
  assert.equal(made.status, 0, made.stderr);
  const fayKey = gpg(['--armor', '--export', 'fay@example.com']).stdout;
  assert.match(fayKey, /BEGIN PGP PUBLIC KEY BLOCK/);

  const page = alice.page;
  await page.getByRole('link', { name: /alice@plico\.test/ }).click();
  await page.getByRole('heading', { name: 'Keys of your correspondents' }).waitFor();
  const paste = page.getByLabel('Import a public key');
  // A bad paste is refused with what is wrong, and nothing is kept.
  await paste.fill('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----');
  await page.getByRole('button', { name: 'Import key' }).click();
  await page.getByRole('alert').filter({ hasText: 'That is not an OpenPGP public key.' }).waitFor();
  await paste.fill(fayKey);
  await page.getByRole('button', { name: 'Import key' }).click();
  await page.getByText('Kept the key for fay@example.com: mail to that address now leaves end-to-end encrypted.').waitFor({ timeout: 30_000 });
  const row = page.getByRole('row').filter({ hasText: 'fay@example.com' });
  await row.getByText('Imported').waitFor();
  await screenshot(page, '45-account-keyring');

  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByLabel('To', { exact: true }).fill('fay@example.com');
  await page.getByLabel('Subject', { exact: true }).fill('OUTBOUND-E2E to Fay');
  await page.getByLabel('Message', { exact: true }).fill(`Hello Fay, ${MARKER}-3.`);
  await page.getByRole('button', { name: 'Send encrypted' }).waitFor({ timeout: 10_000 });
  assert.equal(await page.getByRole('note').count(), 0, 'no "not end-to-end encrypted" notice');
  const before = sink.received().length;
  await page.getByRole('button', { name: 'Send encrypted' }).click();
  await page.waitForURL('**/mail/sent', { timeout: 60_000 });
  const all = await waitFor(() => { const now = sink.received(); return now.length > before ? now : null; }, 'the mail to Fay');
  const mail = all[all.length - 1];
  assert.deepEqual(mail.envelope.rcpt_tos, ['fay@example.com']);
  assert.match(mail.eml, /Content-Type: multipart\/encrypted;/);
  assert.ok(!mail.eml.includes(MARKER), 'nothing readable leaves');

  // GnuPG opens it with Fay's secret key and checks Alice's signature with her published key.
  const published = await (await fetch(`${server.baseUrl}/api/v1/keys/alice@plico.test`)).json();
  assert.equal(gpg(['--import'], published.public_cert).status, 0);
  const armored = mail.eml.slice(mail.eml.indexOf('-----BEGIN PGP MESSAGE-----'), mail.eml.indexOf('-----END PGP MESSAGE-----') + 25);
  const opened = gpg(['--status-fd', '2', '--decrypt'], armored);
  assert.equal(opened.status, 0, opened.stderr);
  assert.ok(opened.stdout.includes(`${MARKER}-3`), 'GnuPG decrypts what Alice sent');
  assert.match(opened.stderr, /\[GNUPG:\] GOODSIG/, 'and the signature is good');

  // Forgetting the key brings the notice back.
  await page.getByRole('link', { name: /alice@plico\.test/ }).click();
  await page.getByRole('button', { name: 'Forget the key for fay@example.com' }).click();
  await page.getByText('Forgot the key for fay@example.com.').waitFor({ timeout: 30_000 });
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByLabel('To', { exact: true }).fill('fay@example.com');
  await page.getByRole('note').filter({ hasText: 'Not end-to-end encrypted' }).waitFor({ timeout: 10_000 });
  await page.getByRole('button', { name: 'Discard' }).click();
  assert.deepEqual(alice.problems, []);
  fs.rmSync(gnupg, { recursive: true, force: true });
});
