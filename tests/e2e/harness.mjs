// Test support: start the real `plico serve` on a free port with a fresh data directory, and a
// real headless Chromium driven by Playwright.

import { chromium } from 'playwright-core';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

export const PASSWORD = 'violet staple orbit 42';

// The data directories this process made. A server is often stopped and started again on the
// same directory (`reuse`), so they go when the test file's process exits, not at stop(). A cold
// `cargo xtask test` left 3 GB of them in /tmp before, and CI's disk is not large.
const madeDataDirs = new Set();
process.on('exit', () => {
  // PLICO_E2E_KEEP_DATA=1 keeps them, to look at after a failure.
  if (process.env.PLICO_E2E_KEEP_DATA) return;
  for (const dir of madeDataDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForHttp(url, child, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`plico exited with ${child.exitCode}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`plico did not answer at ${url}`);
}

/**
 * Starts the server; returns { baseUrl, dataDir, stop, crash, log }, and smtpPort with `smtp`.
 * `reuse` (an earlier server's result) restarts on the same data directory and ports.
 */
export async function startServer({ smtp = false, reuse, args = reuse?.args ?? [] } = {}) {
  const bin = process.env.PLICO_BIN;
  const dist = process.env.PLICO_DIST;
  if (!bin || !dist) throw new Error('PLICO_BIN and PLICO_DIST must be set (cargo xtask test sets them)');
  let dataDir = reuse?.dataDir;
  if (!dataDir) {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plico-e2e-data-'));
    madeDataDirs.add(dataDir);
  }
  const port = reuse?.port ?? await freePort();
  const log = [];
  const smtpPort = reuse?.smtpPort ?? (smtp ? await freePort() : undefined);
  const smtpArgs = smtpPort ? ['--smtp', `127.0.0.1:${smtpPort}`] : [];
  // SPF, DKIM and DMARC look up the senders' real domains unless a test names its own DNS server
  // (tests/e2e must not depend on the Internet's DNS).
  if (!args.includes('--mail-auth-dns')) smtpArgs.push('--mail-auth-dns', 'off');
  // Likewise WKD lookups of outside recipients' keys.
  if (!args.includes('--wkd-https-port')) smtpArgs.push('--no-wkd');
  const child = spawn(bin, ['serve', '--http', `127.0.0.1:${port}`, '--data-dir', dataDir, '--dist', dist, '--domain', 'plico.test', ...smtpArgs, ...args], {
    env: { ...process.env, PLICO_LOG: 'info', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitForHttp(`${baseUrl}/api/v1/info`, child);
  return {
    baseUrl,
    dataDir,
    port,
    smtpPort,
    args,
    log,
    async stop() {
      child.kill('SIGINT');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.on('exit', r)));
    },
    /** kill -9: no shutdown of any kind. */
    async crash() {
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.on('exit', r)));
    },
  };
}

/**
 * Starts headless Chromium with a fresh profile; returns { context, page, close }. Unless
 * `consent: 'undecided'`, the profile already holds a "reject all" consent receipt for the
 * built-in policy (version 2), so that the consent banner does not cover what other tests
 * click; `privacy.test.mjs` tests the banner itself from an undecided profile.
 */
// `gpc: true` sends Global Privacy Control both ways (the Sec-GPC header and
// navigator.globalPrivacyControl); `gpc: 'header'` only as the header.
// `locale` is the browser's language (navigator.languages), English by default.
// Host names resolve to nothing, as the server's `--no-wkd` and `--mail-auth-dns off` keep it off
// the Internet: the contacts worker looks outside keys up from the browser (WKD). `hosts` maps
// names to local `host:port`s (a test's key directory), for HTTPS whose certificate is not
// checked.
export async function startBrowser({ consent = 'decided', viewport = { width: 1280, height: 800 }, gpc = false, locale = 'en-US', hosts = {}, headers = {}, timezoneId } = {}) {
  const rules = [...Object.entries(hosts).map(([name, to]) => `MAP ${name} ${to}`), 'MAP * ~NOTFOUND', 'EXCLUDE localhost', 'EXCLUDE 127.0.0.1'];
  const tls = Object.keys(hosts).length ? ['--ignore-certificate-errors'] : [];
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'plico-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport,
    locale,
    ...(timezoneId ? { timezoneId } : {}),
    extraHTTPHeaders: { ...(gpc ? { 'Sec-GPC': '1' } : {}), ...headers },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', `--host-resolver-rules=${rules.join(', ')}`, ...tls],
  });
  if (consent === 'decided') {
    await context.addInitScript(() => {
      // Only the app's own document: the reader's sandboxed message frame has no storage.
      if (window !== window.top) return;
      if (!localStorage.getItem('plico.consent')) {
        localStorage.setItem('plico.consent', JSON.stringify([
          { policy_version: 2, categories: ['necessary'], at: Math.floor(Date.now() / 1000), method: 'banner' },
        ]));
      }
    });
  }
  if (gpc === true) {
    // Chromium has no switch for Global Privacy Control; a browser that sends it exposes this.
    await context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }));
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // A 401 for /api/v1/session before sign-in is expected; anything else is a problem.
    if (message.type() === 'error' && !message.text().includes('401')) problems.push(`console: ${message.text()}`);
  });
  return {
    context,
    page,
    problems,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

function freeUdpPort() {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.bind(0, '127.0.0.1', () => { const { port } = socket.address(); socket.close(() => resolve(port)); });
  });
}

/**
 * dnsmasq on a free port, answering for `.test` only: `records` are [name, TXT text] pairs,
 * `addresses` names (with their subdomains) that resolve to 127.0.0.1. Returns { child, port }.
 */
export async function startDns(records = [], { addresses = [] } = {}) {
  const port = await freeUdpPort();
  // dnsmasq splits TXT strings at commas; long records go in 200-character strings.
  const txt = records.map(([name, text]) => `--txt-record=${name},${text.match(/.{1,200}/g).join(',')}`);
  const local = addresses.map((name) => `--address=/${name}/127.0.0.1`);
  const child = spawn('dnsmasq', ['--no-daemon', '--no-resolv', '--no-hosts', '--bind-interfaces', '--listen-address=127.0.0.1',
    '--user=root', '--group=root', '--local=/test/', `--port=${port}`, ...txt, ...local], { stdio: 'ignore' });
  // Ready when it answers.
  const query = Buffer.from('1234010000010000000000000470696e670474657374000010 0001'.replace(' ', ''), 'hex');
  for (let i = 0; i < 100; i++) {
    const answered = await new Promise((resolve) => {
      const socket = dgram.createSocket('udp4');
      const timer = setTimeout(() => { socket.close(); resolve(false); }, 100);
      socket.on('message', () => { clearTimeout(timer); socket.close(); resolve(true); });
      socket.send(query, port, '127.0.0.1');
    });
    if (answered) return { child, port };
  }
  throw new Error('dnsmasq did not answer');
}

/** WKD's hash: z-base-32 of SHA-1 of the lowercase local part. */
export function wkdHash(localPart) {
  const alphabet = 'ybndrfg8ejkmcpqxot1uwisza345h769';
  const digest = crypto.createHash('sha1').update(localPart.toLowerCase()).digest();
  let bits = '';
  for (const byte of digest) bits += byte.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i < bits.length; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)];
  return out;
}

/**
 * A smarthost for the server's outside mail: aiosmtpd (tests/peers/smtp_sink.py) with STARTTLS
 * (a throwaway certificate) and AUTH. Returns { port, dir, args, received(), stop() }: `args` are
 * the `plico serve` flags that relay through it, `received()` the messages so far as
 * [{ eml, envelope }], oldest first.
 */
export async function startSmtpSink() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plico-sink-'));
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=localhost'],
  { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl could not make the sink's certificate: ${made.stderr}`);
  const script = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'peers', 'smtp_sink.py');
  const child = spawn('/usr/bin/python3', [script, '--out', path.join(dir, 'out'), '--cert', path.join(dir, 'cert.pem'),
    '--key', path.join(dir, 'key.pem'), '--user', 'relay', '--password', 'relay-secret'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', (line) => {
      const found = Number(line.replace(/^ready /, ''));
      if (found) resolve(found); else reject(new Error(`the SMTP sink did not start: ${line}`));
    });
    child.once('exit', (code) => reject(new Error(`the SMTP sink exited (${code}); is python3-aiosmtpd installed?`)));
  });
  const received = () => {
    const out = path.join(dir, 'out');
    if (!fs.existsSync(out)) return [];
    return fs.readdirSync(out).filter((name) => name.endsWith('.eml') && !name.startsWith('.')).sort().map((name) => ({
      eml: fs.readFileSync(path.join(out, name), 'latin1'),
      envelope: JSON.parse(fs.readFileSync(path.join(out, name.replace(/\.eml$/, '.json')), 'utf8')),
    }));
  };
  const args = ['--smarthost', `localhost:${port}`, '--smarthost-user', 'relay', '--smarthost-password', 'relay-secret',
    '--smarthost-insecure-tls'];
  const stop = () => {
    child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { port, dir, args, received, stop };
}

/** Polls `check` until it returns something truthy, which it returns; fails after `timeout` ms. */
export async function waitUntil(check, what, timeout = 30_000) {
  const until = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Screenshots go to tests/e2e/artifacts, which CI keeps out of git. */
export async function screenshot(page, name) {
  const dir = path.join(path.dirname(new URL(import.meta.url).pathname), 'artifacts');
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

export async function signUp(page, baseUrl, name, password = PASSWORD, { navigate = true } = {}) {
  if (navigate) await page.goto(`${baseUrl}/signup`);
  await page.getByLabel('Address', { exact: true }).fill(name);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Confirm password').fill(password);
  await page.getByLabel('I accept the terms of use').check();
  await page.getByRole('button', { name: 'Create account' }).click();
}

/** Writes `subject` to `to` from the composer ("`subject`: hello." as the body) and presses Send;
 * what comes next (Sent, or a refusal) is the caller's to wait for. */
export async function writeMessage(page, to, subject) {
  await page.getByRole('link', { name: 'New message' }).click();
  await page.getByLabel('To', { exact: true }).fill(to);
  await page.getByLabel('Subject', { exact: true }).fill(subject);
  await page.getByLabel('Message', { exact: true }).fill(`${subject}: hello.`);
  await page.getByRole('button', { name: 'Send encrypted' }).click();
}

/** A new browser (`startBrowser` options) where account `name` has signed up and its Inbox shows. */
export async function startSignedUp(baseUrl, name, options = {}) {
  const user = await startBrowser(options);
  await signUp(user.page, baseUrl, name);
  await user.page.waitForURL('**/mail/inbox', { timeout: 60_000 });
  return user;
}

/** Types `query` in the search box and returns the subjects of its results, in order. */
export async function searchSubjects(page, query, timeout = 30_000) {
  await page.getByRole('searchbox', { name: 'Search mail' }).fill(query);
  // The count line names the query it answers: no stale answer is read.
  await page.waitForFunction((q) => document.querySelector('.search-results .result-count')?.dataset.query === q, query, { timeout });
  if (/^No messages match/.test(await page.locator('.search-results .result-count').textContent())) return [];
  return page.locator('.search-results .search-hit .row-subject').allTextContents();
}

export async function signIn(page, baseUrl, address, password = PASSWORD) {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Address').fill(address);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Every key packet body (tag 6 public key, tag 14 public subkey; or the `tags` given) of a
 * binary certificate, or of several one after the other. */
export function publicKeyPacketBodies(cert, tags = [6, 14]) {
  const bodies = [];
  let offset = 0;
  while (offset < cert.length) {
    const ctb = cert[offset];
    if ((ctb & 0x80) === 0) throw new Error(`not an OpenPGP packet at ${offset}`);
    let tag;
    let length;
    let header;
    if (ctb & 0x40) {
      tag = ctb & 0x3f;
      const first = cert[offset + 1];
      if (first < 192) { length = first; header = 2; }
      else if (first < 224) { length = ((first - 192) << 8) + cert[offset + 2] + 192; header = 3; }
      else if (first === 255) { length = cert.readUInt32BE(offset + 2); header = 6; }
      else throw new Error('partial lengths do not occur in certificates');
    } else {
      tag = (ctb >> 2) & 0x0f;
      const type = ctb & 0x03;
      if (type === 0) { length = cert[offset + 1]; header = 2; }
      else if (type === 1) { length = cert.readUInt16BE(offset + 1); header = 3; }
      else if (type === 2) { length = cert.readUInt32BE(offset + 1); header = 5; }
      else throw new Error('indeterminate length in a certificate');
    }
    const body = cert.subarray(offset + header, offset + header + length);
    if (tags.includes(tag)) bodies.push(Buffer.from(body));
    offset += header + length;
  }
  return bodies;
}

/** Every record of the device store, raw, as text ('' when the database does not exist). */
export async function deviceStore(page) {
  return page.evaluate(async () => {
    const names = (await indexedDB.databases()).map((db) => db.name);
    if (!names.includes('plico-local')) return null;
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open('plico-local');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const read = (what) => new Promise((resolve, reject) => {
      const request = db.transaction('records').objectStore('records')[what]();
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const keys = await read('getAllKeys');
    const values = await read('getAll');
    db.close();
    const latin1 = (bytes) => Array.from(bytes, (b) => String.fromCharCode(b)).join('');
    return { keys, values: values.map((v) => latin1(new Uint8Array(v.buffer ?? v))) };
  });
}
