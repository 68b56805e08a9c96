// Account security in the real app: the authenticator app turned on from Settings (after the
// password is confirmed again) and asked for at sign-in, a recovery code instead, and sessions
// ended from another browser, which then signs out and deletes what it kept of the mail.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { PASSWORD, startServer, startBrowser, startSignedUp, screenshot, signIn, signUp, startSmtpSink, waitUntil } from './harness.mjs';

let server;
let sink;
const browsers = [];

before(async () => {
  // Mail to outside addresses (the recovery address's code and notices) goes to a real SMTP sink.
  sink = await startSmtpSink();
  // A second-factor reset's waiting period is 72 hours by default; here it is none. Sessions name
  // their country from ip-location-db's database (npm); a browser "elsewhere" comes through a
  // reverse proxy that says whom it forwards (X-Forwarded-For).
  const countries = new URL('./node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb', import.meta.url).pathname;
  server = await startServer({ args: [...sink.args, '--factor-reset-wait-hours', '0', '--geoip-db', countries, '--trust-forwarded-for'] });
});

after(async () => {
  for (const browser of browsers) await browser.close();
  await server?.stop();
  sink?.stop();
});

/** The 8-digit code in the newest mail the sink got for `address`, waiting for it. */
async function mailedCode(address, after) {
  const mail = await waitUntil(() => sink.received().slice(after).find((m) => m.envelope.rcpt_tos[0] === address),
    `a mail to ${address}`);
  const code = mail.eml.split(/\r?\n/).map((line) => line.trim()).find((line) => /^\d{8}$/.test(line));
  assert.ok(code, `an 8-digit code in ${mail.eml}`);
  return code;
}

/** RFC 6238's code (HMAC-SHA1, 30-second steps, six digits) of a base32 secret at `unix` seconds. */
function totp(secret, unix) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unix / 30)));
  const hash = crypto.createHmac('sha1', key).update(counter).digest();
  const offset = hash[19] & 0x0f;
  return String((hash.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

async function confirmPasswordIfAsked(page) {
  const prompt = page.locator('#reauth');
  await Promise.race([
    prompt.waitFor({ state: 'visible', timeout: 15_000 }).catch(() => {}),
    page.waitForTimeout(1_500),
  ]);
  if (await prompt.isVisible()) {
    await page.locator('#reauth-password').fill(PASSWORD);
    await prompt.getByRole('button', { name: 'Confirm' }).click();
    await prompt.waitFor({ state: 'hidden', timeout: 30_000 });
  }
}

/** Opens Settings from the app (a reload would lock the keys and ask for the password). */
async function openSettings(page) {
  await page.getByRole('link', { name: /@plico\.test/ }).click();
  await page.getByRole('link', { name: 'Security settings' }).click();
  await page.getByRole('heading', { name: 'Two-step verification' }).waitFor({ timeout: 30_000 });
}

async function databases(page) {
  return page.evaluate(async () => (await indexedDB.databases()).map((db) => db.name));
}

test('turn on the authenticator app, sign in with it and with a recovery code, and end sessions elsewhere', async () => {
  const owner = await startSignedUp(server.baseUrl, 'sam');
  browsers.push(owner);
  const page = owner.page;
  await openSettings(page);
  await page.locator('#two-step-status', { hasText: 'Off.' }).waitFor();

  // Setting up asks for the password again first.
  await page.locator('#totp-start').click();
  await page.locator('#reauth').waitFor({ state: 'visible', timeout: 15_000 });
  await screenshot(page, 'security-01-confirm-password');
  await page.locator('#reauth-password').fill('not the password');
  await page.locator('#reauth').getByRole('button', { name: 'Confirm' }).click();
  await page.locator('#reauth .field-error', { hasText: /wrong/i }).waitFor({ timeout: 30_000 });
  await page.locator('#reauth-password').fill(PASSWORD);
  await page.locator('#reauth').getByRole('button', { name: 'Confirm' }).click();
  await page.locator('#totp-secret').waitFor({ timeout: 30_000 });
  assert.ok(await page.locator('.qr svg').count() === 1, 'a QR code is drawn');
  await screenshot(page, 'security-02-qr');
  const shown = (await page.locator('#totp-secret').textContent()).trim();
  assert.match(shown, /^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/, 'the key in groups of four');
  const secret = shown.replaceAll(' ', '');

  // A wrong code is refused by name; the right one turns it on and shows ten recovery codes.
  const now = Math.floor(Date.now() / 1000);
  const right = totp(secret, now);
  await page.locator('#totp-code').fill(right === '000000' ? '111111' : '000000');
  await page.locator('#totp-confirm').click();
  await page.locator('.error', { hasText: 'That is not the code the app shows now' }).waitFor({ timeout: 15_000 });
  await page.locator('#totp-code').fill(totp(secret, Math.floor(Date.now() / 1000)));
  await page.locator('#totp-confirm').click();
  await page.locator('#recovery-codes li').first().waitFor({ timeout: 15_000 });
  const codes = await page.locator('#recovery-codes li').allTextContents();
  assert.equal(codes.length, 10);
  await screenshot(page, 'security-03-recovery-codes');
  await page.locator('#codes-saved').click();
  await page.locator('#two-step-status', { hasText: 'On. Recovery codes left: 10' }).waitFor();

  // Another browser: the password, then the code (the next step's: the one that turned the app
  // on cannot be used twice). No session before the code.
  const laptop = await startBrowser();
  browsers.push(laptop);
  await signIn(laptop.page, server.baseUrl, 'sam');
  await laptop.page.locator('#second-factor-code').waitFor({ state: 'visible', timeout: 30_000 });
  assert.equal((await laptop.page.request.get(`${server.baseUrl}/api/v1/session`)).status(), 401, 'half signed in');
  await screenshot(laptop.page, 'security-04-second-step');
  await laptop.page.locator('#second-factor-code').fill('123 45');
  await laptop.page.getByRole('button', { name: 'Verify' }).click();
  await laptop.page.locator('[role=alert]', { hasText: /not one of your unused recovery codes/ }).waitFor({ timeout: 15_000 });
  await laptop.page.locator('#second-factor-code').fill(totp(secret, Math.floor(Date.now() / 1000) + 30));
  await laptop.page.getByRole('button', { name: 'Verify' }).click();
  await laptop.page.waitForURL('**/mail/inbox', { timeout: 30_000 });
  await laptop.page.locator('.message-list').first().waitFor({ timeout: 30_000 });

  // A third browser signs in with a recovery code, typed as people copy it.
  const phone = await startBrowser({ viewport: { width: 390, height: 844 } });
  browsers.push(phone);
  await signIn(phone.page, server.baseUrl, 'sam');
  await phone.page.locator('#second-factor-code').waitFor({ state: 'visible', timeout: 30_000 });
  await screenshot(phone.page, 'security-05-second-step-phone');
  await phone.page.locator('#second-factor-code').fill(codes[0].toLowerCase());
  await phone.page.getByRole('button', { name: 'Verify' }).click();
  await phone.page.waitForURL('**/mail/inbox', { timeout: 30_000 });

  // The laptop keeps a copy of the mailbox on the device.
  await laptop.page.waitForFunction(async () => (await indexedDB.databases()).some((db) => db.name === 'plico-local'), null, { timeout: 30_000 });
  const laptopSession = (await (await laptop.page.request.get(`${server.baseUrl}/api/v1/account/sessions`)).json())
    .sessions.find((session) => session.current).id;

  // The owner sees three sessions and ends the laptop's.
  await page.getByRole('link', { name: 'Mail', exact: true }).click();
  await openSettings(page);
  await page.locator('.session').nth(2).waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('.session').count(), 3);
  assert.equal(await page.locator('.session.current').count(), 1);
  await screenshot(page, 'security-06-sessions');
  await page.locator(`.session[data-id="${laptopSession}"] .end-session`).click();
  await page.locator('.notice', { hasText: 'That session is signed out' }).waitFor({ timeout: 15_000 });
  await page.locator('.session').nth(1).waitFor();
  assert.equal(await page.locator('.session').count(), 2);

  // Within one poll the laptop is signed out, told why, and its copy of the mail is gone.
  await laptop.page.waitForURL('**/login?ended', { timeout: 45_000 });
  await laptop.page.locator('[role=alert]', { hasText: 'You were signed out' }).waitFor({ timeout: 15_000 });
  assert.ok(!(await databases(laptop.page)).includes('plico-local'), 'the revoked browser deleted its device store');
  await laptop.page.bringToFront();
  await screenshot(laptop.page, 'security-07-ended');

  // Every other session: the phone goes too; the owner stays.
  await page.locator('#end-others').click();
  await confirmPasswordIfAsked(page);
  await page.locator('.notice', { hasText: 'Every other session is signed out.' }).waitFor({ timeout: 30_000 });
  await phone.page.waitForURL('**/login?ended', { timeout: 45_000 });
  assert.ok(!(await databases(phone.page)).includes('plico-local'));
  assert.equal((await page.request.get(`${server.baseUrl}/api/v1/session`)).status(), 200);

  // The history shows the second factors used.
  await page.getByRole('link', { name: 'Mail', exact: true }).click();
  await openSettings(page);
  await page.getByRole('cell', { name: 'Sign-in with an authenticator code' }).first().waitFor({ timeout: 30_000 });
  await page.getByRole('cell', { name: 'Sign-in with a recovery code' }).first().waitFor();
  await page.getByRole('cell', { name: 'Failed sign-in: wrong second factor' }).first().waitFor();
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, 'security-08-settings-phone');
  await page.setViewportSize({ width: 1280, height: 800 });

  // Off again (with the password, when the last confirmation has lapsed).
  await page.locator('#totp-off').click();
  await confirmPasswordIfAsked(page);
  await page.locator('#two-step-status', { hasText: 'Off.' }).waitFor({ timeout: 30_000 });
  // The 403s are the answers this test provokes (the password asked for again, wrong codes).
  for (const browser of [owner, laptop, phone]) {
    assert.deepEqual(browser.problems.filter((problem) => !problem.includes('status of 403')), []);
  }
});

test('change the password in Settings, end the other sessions, and sign in with the new one elsewhere', async () => {
  const NEW = 'quartz lantern meadow 7';
  const owner = await startSignedUp(server.baseUrl, 'pam');
  browsers.push(owner);
  const other = await startBrowser();
  browsers.push(other);
  await signIn(other.page, server.baseUrl, 'pam');
  await other.page.waitForURL('**/mail/inbox', { timeout: 30_000 });

  const page = owner.page;
  await openSettings(page);
  await page.locator('#new-password').fill(NEW);
  await page.locator('#new-password-again').fill('something else entirely');
  await page.locator('#change-password').click();
  await page.locator('.error', { hasText: 'The two passwords differ.' }).waitFor();
  await page.locator('#new-password-again').fill(NEW);
  await page.locator('#change-password').click();
  // The old password first.
  await page.locator('#reauth').waitFor({ state: 'visible', timeout: 15_000 });
  await page.locator('#reauth-password').fill(PASSWORD);
  await page.locator('#reauth').getByRole('button', { name: 'Confirm' }).click();
  await page.locator('.notice', { hasText: 'Your password is changed, and every other session is signed out.' }).waitFor({ timeout: 60_000 });
  await page.locator('.session').nth(1).waitFor({ state: 'detached', timeout: 15_000 });
  assert.equal(await page.locator('.session').count(), 1, 'the list shows this browser only');
  await screenshot(page, 'security-09-password-changed');

  // The other browser is signed out at its next contact; a new one signs in with the new password only.
  await other.page.waitForURL('**/login?ended', { timeout: 45_000 });
  const third = await startBrowser();
  browsers.push(third);
  await signIn(third.page, server.baseUrl, 'pam');
  await third.page.locator('.error, [role=alert]', { hasText: /wrong/i }).first().waitFor({ timeout: 30_000 });
  await signIn(third.page, server.baseUrl, 'pam', NEW);
  await third.page.waitForURL('**/mail/inbox', { timeout: 30_000 });
  for (const browser of [owner, other, third]) {
    assert.deepEqual(browser.problems.filter((problem) => !problem.includes('status of 403') && !problem.includes('status of 401')), []);
  }
});

test('the recovery address asks for the password, is confirmed with the mailed code, and the old one hears of a change', async () => {
  const owner = await startSignedUp(server.baseUrl, 'rita');
  browsers.push(owner);
  const page = owner.page;
  await openSettings(page);
  const panel = page.locator('#recovery-panel');
  await panel.getByRole('heading', { name: 'Recovery address' }).waitFor();

  // An address on this server is refused by name, after the password is confirmed again.
  await panel.locator('#recovery-address').fill('rita@plico.test');
  await panel.getByRole('button', { name: 'Save and send a code' }).click();
  await page.locator('#reauth').waitFor({ state: 'visible', timeout: 15_000 });
  await page.locator('#reauth-password').fill(PASSWORD);
  await page.locator('#reauth').getByRole('button', { name: 'Confirm' }).click();
  await page.locator('.error', { hasText: 'must be outside plico.test' }).waitFor({ timeout: 30_000 });

  const before = sink.received().length;
  await panel.locator('#recovery-address').fill('rita.backup@example.org');
  await panel.getByRole('button', { name: 'Save and send a code' }).click();
  await panel.locator('#recovery-status', { hasText: 'not confirmed yet' }).waitFor({ timeout: 15_000 });
  await page.locator('.notice', { hasText: 'A code is on its way' }).waitFor();
  const code = await mailedCode('rita.backup@example.org', before);
  await screenshot(page, 'security-10-recovery-code');

  // A wrong code counts down by name; the mailed one confirms.
  await panel.locator('#recovery-code').fill(code === '00000000' ? '11111111' : '00000000');
  await panel.getByRole('button', { name: 'Confirm' }).click();
  await page.locator('.error', { hasText: 'tries left' }).waitFor({ timeout: 15_000 });
  await panel.locator('#recovery-code').fill(code);
  await panel.getByRole('button', { name: 'Confirm' }).click();
  await panel.locator('#recovery-status', { hasText: 'confirmed' }).filter({ hasNotText: 'not' }).waitFor({ timeout: 15_000 });
  await page.setViewportSize({ width: 390, height: 844 });
  await panel.scrollIntoViewIfNeeded();
  await screenshot(page, 'security-11-recovery-confirmed-phone');
  await page.setViewportSize({ width: 1280, height: 800 });

  // Removing it then setting another: the confirmed address is told, and the new one gets a code.
  const count = sink.received().length;
  await panel.locator('#recovery-remove').click();
  await confirmPasswordIfAsked(page);
  await page.locator('.notice', { hasText: 'The recovery address is removed.' }).waitFor({ timeout: 15_000 });
  const notice = await waitUntil(() => sink.received().slice(count).find((m) => m.envelope.rcpt_tos[0] === 'rita.backup@example.org'),
    'the notice to the old address');
  assert.match(notice.eml, /Subject: Your recovery address was (changed|removed)/);
  assert.deepEqual(owner.problems.filter((problem) => !/status of 40[39]/.test(problem)), []);
});

test('add a passkey in Settings (Chromium virtual authenticator) and sign in with it', async () => {
  // Passkeys are bound to the server's address: without --public-url that is localhost.
  const base = server.baseUrl.replace('127.0.0.1', 'localhost');
  const owner = await startSignedUp(base, 'kim');
  browsers.push(owner);
  const page = owner.page;
  const cdp = await owner.context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true },
  });

  await openSettings(page);
  await page.locator('#passkey-name').fill('Work laptop');
  await page.locator('#passkey-start').click();
  await confirmPasswordIfAsked(page);
  // The first second factor brings the recovery codes.
  await page.locator('#recovery-codes li').first().waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('#recovery-codes li').count(), 10);
  await page.locator('#codes-saved').click();
  await page.locator('#passkeys .passkey', { hasText: 'Work laptop' }).waitFor();
  await page.locator('#two-step-status', { hasText: 'On. Recovery codes left: 10' }).waitFor();
  const stored = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(stored.credentials.length, 1, 'the authenticator made one credential');
  await screenshot(page, 'security-12-passkey-added');

  // The same authenticator again is named, not registered twice.
  await page.locator('#passkey-name').fill('Again');
  await page.locator('#passkey-start').click();
  await page.locator('.error', { hasText: /holds a passkey for your account already|registered already/ }).waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('#passkeys .passkey').count(), 1);

  // Signed out, then in: the password, then the passkey.
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.waitForURL('**/login');
  await page.getByLabel('Address').fill('kim');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#use-passkey').waitFor({ state: 'visible', timeout: 30_000 });
  assert.equal(await page.getByText('Or one of your recovery codes').isVisible(), true, 'a recovery code is the way out');
  await screenshot(page, 'security-13-passkey-step');
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, 'security-14-passkey-step-phone');
  await page.setViewportSize({ width: 1280, height: 800 });
  // Without a confirmed recovery address, a lost factor cannot be reset by mail: said by name.
  await page.locator('#lost-factor').click();
  await page.locator('[role=alert]', { hasText: 'no confirmed recovery address' }).waitFor({ timeout: 15_000 });
  await page.locator('#use-passkey').click();
  await page.waitForURL('**/mail/inbox', { timeout: 30_000 });
  const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.ok(after.credentials[0].signCount >= 1, 'the authenticator signed');

  await openSettings(page);
  await page.getByRole('cell', { name: 'Sign-in with a passkey' }).first().waitFor({ timeout: 30_000 });
  await page.locator('#passkeys .passkey', { hasText: 'last used' }).waitFor();

  // Removed (with the password when the confirmation lapsed): the second step is off again.
  await page.getByRole('button', { name: 'Remove the passkey Work laptop' }).click();
  await confirmPasswordIfAsked(page);
  await page.locator('#two-step-status', { hasText: 'Off.' }).waitFor({ timeout: 30_000 });
  assert.deepEqual(owner.problems.filter((problem) => !/status of 40[39]/.test(problem)), []);
});

test('a lost second factor is reset with the code mailed to the recovery address', async () => {
  const owner = await startBrowser();
  browsers.push(owner);
  const page = owner.page;
  await page.goto(`${server.baseUrl}/signup`);
  await page.getByLabel(/Recovery address/).fill('lia.backup@example.org');
  const before = sink.received().length;
  await signUp(page, server.baseUrl, 'lia', PASSWORD, { navigate: false });
  await page.waitForURL('**/mail/inbox', { timeout: 60_000 });
  const activation = await mailedCode('lia.backup@example.org', before);
  await openSettings(page);
  await page.locator('#recovery-code').fill(activation);
  await page.locator('#recovery-panel').getByRole('button', { name: 'Confirm' }).click();
  await page.locator('#recovery-status', { hasText: 'confirmed' }).filter({ hasNotText: 'not' }).waitFor({ timeout: 15_000 });
  await page.locator('#totp-start').click();
  await confirmPasswordIfAsked(page);
  const secret = (await page.locator('#totp-secret').textContent({ timeout: 30_000 })).replaceAll(' ', '').trim();
  await page.locator('#totp-code').fill(totp(secret, Math.floor(Date.now() / 1000)));
  await page.locator('#totp-confirm').click();
  await page.locator('#codes-saved').click();

  // Another browser, with neither the app nor the codes: the password, then "Lost your second factor?".
  const lost = await startBrowser();
  browsers.push(lost);
  await signIn(lost.page, server.baseUrl, 'lia');
  await lost.page.locator('#second-factor-code').waitFor({ state: 'visible', timeout: 30_000 });
  const count = sink.received().length;
  await lost.page.locator('#lost-factor').click();
  await lost.page.locator('[role=status]', { hasText: /A reset code went to l…@example\.org/ }).waitFor({ timeout: 15_000 });
  await screenshot(lost.page, 'security-15-reset-asked');
  const resetCode = await mailedCode('lia.backup@example.org', count);
  await lost.page.locator('#second-factor-code').fill(resetCode);
  await lost.page.getByRole('button', { name: 'Verify' }).click();
  await lost.page.waitForURL('**/mail/inbox', { timeout: 30_000 });

  // Two-step verification is off; the Inbox says what happened.
  await lost.page.locator('.message-list').getByText('Two-step verification was turned off').first().waitFor({ timeout: 30_000 });
  await openSettings(lost.page);
  await lost.page.locator('#two-step-status', { hasText: 'Off.' }).waitFor({ timeout: 30_000 });
  await lost.page.getByRole('cell', { name: 'Sign-in with a reset code: two-step verification turned off' }).first().waitFor();
  for (const browser of [owner, lost]) {
    assert.deepEqual(browser.problems.filter((problem) => !/status of 40[39]/.test(problem)), []);
  }
});

test('the session list names the country of a session signed in from elsewhere', async () => {
  const here = await startSignedUp(server.baseUrl, 'petra');
  // RIPE NCC's own network, in the Netherlands.
  const away = await startBrowser();
  browsers.push(here, away);
  // That browser reaches Plico through a reverse proxy on this host (a trusted proxy), which says
  // whom it forwards: every request, the crypto worker's included, carries X-Forwarded-For.
  const target = new URL(server.baseUrl);
  const proxy = http.createServer((request, response) => {
    const upstream = http.request({ host: target.hostname, port: target.port, path: request.url, method: request.method,
      headers: { ...request.headers, 'x-forwarded-for': '193.0.6.139' } }, (answer) => {
      response.writeHead(answer.statusCode, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  try {
    await signIn(away.page, `http://127.0.0.1:${proxy.address().port}`, 'petra@plico.test');
    await away.page.waitForURL('**/mail/inbox', { timeout: 60_000 });
  } finally {
    proxy.close();
  }
  const page = here.page;
  await openSettings(page);
  const elsewhere = page.locator('li.session').filter({ hasText: '193.0.6.139' });
  await elsewhere.getByText(/^193\.0\.6\.139 \(Netherlands\) · signed in /).waitFor({ timeout: 30_000 }).catch(async (error) => {
    throw new Error(`${error.message}; the sessions: ${await page.locator('#sessions').textContent()}`);
  });
  // This browser comes from the loopback address: no country.
  assert.match(await page.locator('li.session.current p').textContent(), /^127\.0\.0\.1 · signed in /);
  await page.locator('#sessions, .session').first().scrollIntoViewIfNeeded();
  await screenshot(page, 'security-09-session-country');
});
