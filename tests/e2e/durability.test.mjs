// Durability of incoming mail: parallel SMTP senders deliver to `plico serve --smtp` while the
// server is killed with SIGKILL several times and restarted on the same data directory. After
// every restart, each message that got 250 is stored exactly once, no message that got a 4xx or
// 5xx is stored, and every stored message's blob is on disk and whole.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startServer, startBrowser, signUp } from './harness.mjs';

const SENDERS = 6;
const CRASHES = 4;
let server;

before(async () => {
  server = await startServer({ smtp: true });
  const browser = await startBrowser();
  await signUp(browser.page, server.baseUrl, 'dora');
  await browser.page.waitForURL('**/mail/inbox', { timeout: 60_000 });
  await browser.close();
});

after(async () => {
  await server?.stop();
});

/** A minimal SMTP client: sends lines, reads whole replies; rejects when the connection ends. */
function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buffer = '';
    const waiting = [];
    let closed = null;
    const pump = () => {
      for (;;) {
        const match = buffer.match(/^(\d{3}) [^\n]*\n/m);
        if (!match || waiting.length === 0) return;
        const end = buffer.indexOf(match[0]) + match[0].length;
        buffer = buffer.slice(end);
        waiting.shift().resolve(Number(match[1]));
      }
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => { buffer += chunk; pump(); });
    const fail = (error) => {
      closed = error ?? new Error('closed');
      while (waiting.length) waiting.shift().reject(closed);
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
    const client = {
      reply: () => new Promise((res, rej) => { if (closed) rej(closed); else { waiting.push({ resolve: res, reject: rej }); pump(); } }),
      async say(text) { socket.write(text); return client.reply(); },
      close() { socket.destroy(); },
    };
    socket.once('connect', async () => {
      try {
        if ((await client.reply()) !== 220) throw new Error('no greeting');
        if ((await client.say('EHLO load.example.org\r\n')) !== 250) throw new Error('EHLO refused');
        resolve(client);
      } catch (error) { reject(error); }
    });
    socket.once('error', reject);
  });
}

/** Sends messages until `running()` is false; records each id's outcome in `outcomes`. */
async function sender(index, running, outcomes) {
  let sequence = 0;
  while (running()) {
    let client;
    try {
      client = await connect(server.smtpPort);
    } catch {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    try {
      while (running()) {
        const id = `load-${index}-${sequence++}@example.org`;
        outcomes.set(id, 'unanswered');
        if ((await client.say('MAIL FROM:<load@example.org>\r\n')) !== 250) throw new Error('MAIL');
        if ((await client.say('RCPT TO:<dora@plico.test>\r\n')) !== 250) throw new Error('RCPT');
        if ((await client.say('DATA\r\n')) !== 354) throw new Error('DATA');
        const body = `From: load@example.org\r\nTo: dora@plico.test\r\nSubject: load ${id}\r\nMessage-ID: <${id}>\r\n\r\n${'durable line\r\n'.repeat(50)}.\r\n`;
        const code = await client.say(body);
        outcomes.set(id, code === 250 ? 'stored' : code >= 400 ? 'refused' : 'unanswered');
      }
    } catch {
      // The server went away mid-transaction: whatever is 'unanswered' stays so.
    } finally {
      client.close();
    }
  }
}

/** Message-ID → how many stored messages carry it, read from the blobs the database names: in
 *  their row (small mail from the SMTP ingress) or as a file. */
function storedIds() {
  const rows = execFileSync('sqlite3', ['-separator', '|', path.join(server.dataDir, 'plico.sqlite'),
    'SELECT m.blob_hash, hex(b.data) FROM messages m LEFT JOIN blobs b ON b.hash = m.blob_hash'],
  { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 }).split('\n').filter(Boolean);
  const counts = new Map();
  const broken = [];
  for (const row of rows) {
    const [hash, inline] = row.split('|');
    const file = path.join(server.dataDir, 'blobs', hash.slice(0, 2), hash);
    let text;
    if (inline) text = Buffer.from(inline, 'hex').toString('utf8');
    else if (fs.existsSync(file)) text = fs.readFileSync(file, 'utf8');
    else { broken.push(`missing ${hash}`); continue; }
    if (!text.includes('-----BEGIN PGP MESSAGE-----') || !text.includes('-----END PGP MESSAGE-----')) broken.push(`truncated ${hash}`);
    const id = text.match(/^Message-ID: <([^>]+)>/mi)?.[1];
    if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
    else broken.push(`no Message-ID in ${hash}`);
  }
  return { counts, broken };
}

test(`kill -9 under ${SENDERS} parallel SMTP senders, ${CRASHES} times: every 250 is stored exactly once, no refusal is stored`, async () => {
  const outcomes = new Map();
  const report = [];
  for (let round = 0; round < CRASHES; round += 1) {
    let live = true;
    const senders = Array.from({ length: SENDERS }, (_, i) => sender(`${round}-${i}`, () => live, outcomes));
    // Let mail flow, then pull the plug at a moment that varies from round to round.
    await new Promise((r) => setTimeout(r, 1200 + round * 350));
    await server.crash();
    live = false;
    await Promise.all(senders);
    server = await startServer({ reuse: server });

    const { counts, broken } = storedIds();
    assert.deepEqual(broken, [], 'every stored message has its whole blob, in its row or on disk');
    const stored = [...outcomes].filter(([, outcome]) => outcome === 'stored').map(([id]) => id);
    const refused = [...outcomes].filter(([, outcome]) => outcome === 'refused').map(([id]) => id);
    const unanswered = [...outcomes].filter(([, outcome]) => outcome === 'unanswered').map(([id]) => id);
    for (const id of stored) assert.equal(counts.get(id), 1, `${id} got 250 and must be stored exactly once`);
    for (const id of refused) assert.equal(counts.get(id), undefined, `${id} was refused and must not be stored`);
    for (const [id, count] of counts) assert.equal(count, 1, `${id} is stored ${count} times`);
    const unansweredStored = unanswered.filter((id) => counts.has(id)).length;
    report.push(`round ${round + 1}: ${stored.length} acknowledged, ${refused.length} refused, ${unanswered.length} cut off (${unansweredStored} of them stored)`);
    assert.ok(stored.length > round * 10, `mail kept flowing (${stored.length} acknowledged so far)`);
  }
  console.log(report.join('\n'));
});
