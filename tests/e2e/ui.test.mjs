// The app for keyboard users and in five languages: Gmail-like shortcuts (discoverable, and off
// when the user says so), the UI in en/fr/de/nl/sv from the browser's language or the footer's
// menu with localised dates, axe-core on every main screen (0 serious or critical
// violations), every control reachable with Tab with a visible focus, and screenshots of every
// main screen on a 390×844 phone and a 1440×900 desktop. PLICO_UPDATE_SCREENSHOTS=1 writes them
// to docs/screenshots/ (committed); otherwise they go to artifacts/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startServer, startBrowser, signUp, screenshot } from './harness.mjs';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

let server;
let alice;

before(async () => {
  server = await startServer();
  alice = await startBrowser();
  await signUp(alice.page, server.baseUrl, 'alice');
  await alice.page.waitForURL('**/mail/inbox', { timeout: 60_000 });
  for (const subject of ['Keys one', 'Keys two', 'Keys three']) {
    await alice.page.getByRole('link', { name: 'New message' }).click();
    await alice.page.getByLabel('To', { exact: true }).fill('alice');
    await alice.page.getByLabel('Subject', { exact: true }).fill(subject);
    await alice.page.getByLabel('Message', { exact: true }).fill(`Body of ${subject}.`);
    await alice.page.getByRole('button', { name: 'Send encrypted' }).click();
    await alice.page.waitForURL('**/mail/sent', { timeout: 60_000 });
    // Arrival times have second resolution: one second apart, the order is the sending order.
    await alice.page.waitForTimeout(1_100);
  }
  await alice.page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Inbox/ }).click();
  await alice.page.locator('.message-row').nth(2).waitFor({ timeout: 60_000 });
});

after(async () => {
  await alice?.close();
  await server?.stop();
});

const openSubject = (page) => page.locator('#reader-subject').textContent();

test('j and k open the next and previous message; r, a and f answer the open one', async () => {
  const page = alice.page;
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('j');
  await page.locator('#reader-subject').waitFor();
  const first = await openSubject(page);
  assert.equal(first, 'Keys three', 'the newest message is the first row');
  await page.keyboard.press('j');
  await page.locator('#reader-subject', { hasText: 'Keys two' }).waitFor();
  await page.keyboard.press('j');
  await page.locator('#reader-subject', { hasText: 'Keys one' }).waitFor();
  await page.keyboard.press('j');
  await page.waitForTimeout(300);
  assert.equal(await openSubject(page), 'Keys one', 'j stops at the last row');
  await page.keyboard.press('k');
  await page.locator('#reader-subject', { hasText: 'Keys two' }).waitFor();
  await screenshot(page, '70-shortcuts-j-k');

  await page.keyboard.press('r');
  await page.waitForURL('**/compose');
  assert.equal(await page.getByLabel('Subject', { exact: true }).inputValue(), 'Re: Keys two');
  assert.equal(await page.getByLabel('To', { exact: true }).inputValue(), 'alice@plico.test');
  // Typing in a field is typing: no shortcut fires.
  await page.getByLabel('Message', { exact: true }).focus();
  await page.keyboard.type('c j k ?');
  assert.match(await page.getByLabel('Message', { exact: true }).inputValue(), /> Body of Keys two\.c j k \?$/);
  assert.equal(await page.locator('dialog.shortcut-help[open]').count(), 0);
  await page.getByRole('button', { name: 'Discard' }).click();
  await page.waitForURL('**/mail/inbox');

  await page.locator('.message-row', { hasText: 'Keys one' }).click();
  await page.locator('#reader-subject', { hasText: 'Keys one' }).waitFor();
  await page.keyboard.press('f');
  await page.waitForURL('**/compose');
  assert.equal(await page.getByLabel('Subject', { exact: true }).inputValue(), 'Fwd: Keys one');
  await page.getByRole('button', { name: 'Discard' }).click();
  await page.waitForURL('**/mail/inbox');
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('c');
  await page.waitForURL('**/compose');
  assert.equal(await page.getByLabel('Subject', { exact: true }).inputValue(), '', 'c starts a new message');
  await page.getByRole('button', { name: 'Discard' }).click();
  await page.waitForURL('**/mail/inbox');
});

test('e archives and # deletes the open message; / goes to search', async () => {
  const page = alice.page;
  await page.locator('.message-row', { hasText: 'Keys two' }).click();
  await page.locator('#reader-subject', { hasText: 'Keys two' }).waitFor();
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('e');
  await page.locator('.message-row', { hasText: 'Keys two' }).waitFor({ state: 'detached', timeout: 30_000 });
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Archive/ }).click();
  await page.locator('.message-row', { hasText: 'Keys two' }).waitFor({ timeout: 30_000 });

  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Inbox/ }).click();
  await page.locator('.message-row', { hasText: 'Keys one' }).click();
  await page.locator('#reader-subject', { hasText: 'Keys one' }).waitFor();
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('#');
  await page.locator('.message-row', { hasText: 'Keys one' }).waitFor({ state: 'detached', timeout: 30_000 });
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Trash/ }).click();
  await page.locator('.message-row', { hasText: 'Keys one' }).waitFor({ timeout: 30_000 });

  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'search-input');
  await page.keyboard.type('keys');
  await page.waitForURL('**/search');
  // The results page has a search box of its own: not a letter is lost on the way.
  assert.equal(await page.getByRole('searchbox', { name: 'Search mail' }).inputValue(), 'keys');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'search-input');
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Inbox/ }).click();
});

test('? opens the help, which lists every shortcut and switches them off and on', async () => {
  const page = alice.page;
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('?');
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await help.waitFor();
  for (const key of ['c', 'r', 'a', 'f', 'j', 'k', 'e', '#', '/', '?']) {
    assert.equal(await help.locator('kbd', { hasText: key }).count() >= 1, true, `the help lists ${key}`);
  }
  await screenshot(page, '71-shortcut-help');
  await page.keyboard.press('Escape');
  await help.waitFor({ state: 'hidden' });

  // Discoverable without knowing ?: the topbar's button, and the keys named on the buttons.
  await page.getByRole('button', { name: 'Keyboard shortcuts' }).click();
  await help.waitFor();
  await help.getByLabel('Use keyboard shortcuts').uncheck();
  await help.getByRole('button', { name: 'Close' }).click();
  await help.waitFor({ state: 'hidden' });
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('c');
  await page.keyboard.press('?');
  await page.waitForTimeout(400);
  assert.ok(page.url().endsWith('/mail/inbox'), 'c does nothing while shortcuts are off');
  assert.equal(await help.isVisible(), false, '? does nothing while shortcuts are off');
  await page.getByRole('button', { name: 'Keyboard shortcuts' }).click();
  await help.getByLabel('Use keyboard shortcuts').check();
  await page.keyboard.press('Escape');
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('c');
  await page.waitForURL('**/compose');
  await page.getByRole('button', { name: 'Discard' }).click();
  await page.waitForURL('**/mail/inbox');
  assert.deepEqual(alice.problems, []);
});

const WORDS = {
  fr: { compose: 'Nouveau message', inbox: 'Boîte de réception', signOut: 'Se déconnecter' },
  de: { compose: 'Neue Nachricht', inbox: 'Posteingang', signOut: 'Abmelden' },
  nl: { compose: 'Nieuw bericht', inbox: 'Inbox', signOut: 'Afmelden' },
  sv: { compose: 'Nytt meddelande', inbox: 'Inkorg', signOut: 'Logga ut' },
  en: { compose: 'New message', inbox: 'Inbox', signOut: 'Sign out' },
};

test('the footer switches the language; dates and sizes follow it', async () => {
  const page = alice.page;
  const date = await page.locator('.message-row .row-date').first().textContent();
  for (const lang of ['fr', 'de', 'nl', 'sv', 'en']) {
    await page.getByRole('combobox', { name: /^(Language|Langue|Sprache|Taal|Språk)$/ }).selectOption(lang);
    await page.getByRole('link', { name: WORDS[lang].compose, exact: true }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
    await page.getByRole('button', { name: WORDS[lang].signOut, exact: true }).waitFor();
    await page.getByRole('navigation').getByRole('link', { name: new RegExp(`^${WORDS[lang].inbox}`) }).waitFor();
    const localDate = await page.locator('.message-row .row-date').first().textContent();
    if (lang === 'de') assert.match(localDate, /^\d{1,2}\.\d{1,2}\.\d{4}/, `a German date: ${localDate}`);
    if (lang === 'en') assert.equal(localDate, date, 'back in English, the date reads as before');
    await screenshot(page, `72-language-${lang}`);
  }
  assert.deepEqual(alice.problems, []);
});

test('a browser that prefers German gets the app in German, before sign-in too', async () => {
  const german = await startBrowser({ locale: 'de-DE' });
  try {
    await german.page.goto(`${server.baseUrl}/login`);
    await german.page.getByRole('heading', { name: 'Anmelden' }).waitFor();
    assert.equal(await german.page.evaluate(() => document.documentElement.lang), 'de');
    await german.page.getByRole('button', { name: 'Anmelden' }).click();
    await german.page.getByRole('alert').filter({ hasText: 'Geben Sie Ihre Adresse und Ihr Passwort ein.' }).waitFor();
    await screenshot(german.page, '73-login-de');
    assert.deepEqual(german.problems, []);
  } finally {
    await german.close();
  }
});

/** axe-core's serious and critical violations on the page as it is now. */
async function axe(page) {
  // Evaluated through the DevTools protocol: the app's CSP rightly refuses an injected <script>.
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(fs.readFileSync(AXE, 'utf8'));
  const result = await page.evaluate(async () => {
    const { violations } = await window.axe.run(document, { resultTypes: ['violations'] });
    return violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  return result.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}

const SIZES = [['phone', { width: 390, height: 844 }], ['desktop', { width: 1440, height: 900 }]];

/** Every main screen, reached the way a user reaches it; `prepare` leaves the page on it. */
const SCREENS = [
  ['inbox', async (page) => {
    // In-app navigation: a reload empties memory, and the app would ask for the password. The
    // brand goes home from every screen, and home is the Inbox while signed in.
    await page.locator('a.brand-link').first().click();
    await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Inbox/ }).click();
    await page.locator('.message-row').first().waitFor({ timeout: 30_000 });
  }],
  ['reader', async (page) => {
    await page.locator('.message-row').first().click();
    await page.locator('#reader-subject').waitFor();
    await page.locator('.message-frame, .message-text').first().waitFor();
  }],
  ['compose', async (page) => {
    await page.getByRole('link', { name: 'New message' }).click();
    await page.getByLabel('To', { exact: true }).waitFor();
  }],
  ['search', async (page) => {
    await page.getByRole('searchbox', { name: 'Search mail' }).fill('keys ');
    await page.locator('.result-count').waitFor({ timeout: 30_000 });
  }],
  ['outbox', async (page) => {
    // Written with the network off: it waits in the Outbox, and the indicator says why.
    await alice.context.setOffline(true);
    await page.getByRole('link', { name: 'New message' }).click();
    await page.getByLabel('To', { exact: true }).fill('alice');
    await page.getByLabel('Subject', { exact: true }).fill(`Written offline at ${page.viewportSize().width} px`);
    await page.getByLabel('Message', { exact: true }).fill('It goes when the connection is back.');
    await page.getByRole('button', { name: 'Send encrypted' }).click();
    await page.waitForURL('**/mail/outbox', { timeout: 30_000 });
    await page.locator('.outbox-item').first().waitFor();
    await page.locator('#offline-indicator').waitFor();
  }],
  ['shortcut-help', async (page) => {
    await alice.context.setOffline(false);
    await page.locator('#offline-indicator').waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Keyboard shortcuts' }).click();
    await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
  }],
  ['account', async (page) => {
    await page.keyboard.press('Escape');
    await page.getByRole('link', { name: /alice@plico\.test/ }).click();
    await page.getByRole('heading', { name: 'Your address' }).waitFor();
    await page.getByRole('link', { name: 'Security settings' }).waitFor();
  }],
  ['data', async (page) => {
    await page.getByRole('link', { name: 'What Plico holds about you' }).click();
    await page.getByRole('heading', { name: 'What Plico holds about you' }).waitFor({ timeout: 30_000 });
  }],
  ['security', async (page) => {
    await page.getByRole('link', { name: /alice@plico\.test/ }).click();
    await page.getByRole('link', { name: 'Security settings' }).click();
    await page.getByRole('heading', { name: 'Two-step verification' }).waitFor({ timeout: 30_000 });
    await page.locator('.session.current').waitFor({ timeout: 30_000 });
    await page.locator('.login-history').first().waitFor({ timeout: 30_000 });
  }],
  ['privacy', async (page) => {
    await page.getByRole('contentinfo').getByRole('link', { name: 'Privacy', exact: true }).click();
    await page.getByRole('heading', { name: 'Your consent' }).waitFor();
  }],
  ['transparency', async (page) => {
    await page.getByRole('contentinfo').getByRole('link', { name: 'Transparency', exact: true }).click();
    await page.locator('#canary-status').waitFor({ timeout: 30_000 });
  }],
];

async function shoot(page, name) {
  if (process.env.PLICO_UPDATE_SCREENSHOTS === '1') {
    const dir = path.join(ROOT, 'docs', 'screenshots');
    fs.mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: false });
  } else {
    await screenshot(page, `8x-${name}`);
  }
}

test('axe-core finds no serious or critical violation on any main screen, on a phone and a desktop', async () => {
  const found = [];
  const page = alice.page;
  for (const [size, viewport] of SIZES) {
    await page.setViewportSize(viewport);
    for (const [name, prepare] of SCREENS) {
      await prepare(page);
      await page.waitForTimeout(200);
      for (const violation of await axe(page)) found.push({ screen: `${name} (${size})`, ...violation });
      await shoot(page, `${name}-${size}`);
    }
  }
  // The screens before sign-in, in a fresh browser.
  for (const [size, viewport] of SIZES) {
    const visitor = await startBrowser({ viewport });
    try {
      for (const [name, url, ready] of [['login', '/login', 'Sign in'], ['signup', '/signup', 'Create your encrypted mailbox']]) {
        await visitor.page.goto(`${server.baseUrl}${url}`);
        await visitor.page.getByRole('heading', { name: ready }).waitFor();
        for (const violation of await axe(visitor.page)) found.push({ screen: `${name} (${size})`, ...violation });
        await shoot(visitor.page, `${name}-${size}`);
      }
      const undecided = await startBrowser({ viewport, consent: 'undecided' });
      try {
        await undecided.page.goto(`${server.baseUrl}/login`);
        await undecided.page.locator('#consent-banner').waitFor();
        for (const violation of await axe(undecided.page)) found.push({ screen: `consent banner (${size})`, ...violation });
        await shoot(undecided.page, `consent-${size}`);
      } finally {
        await undecided.close();
      }
    } finally {
      await visitor.close();
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  assert.deepEqual(found, [], JSON.stringify(found, null, 2));
});

test('every control of the mail screen is reachable with Tab, and the focus is visible', async () => {
  const page = alice.page;
  await page.locator('a.brand-link').first().click();
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: /^Inbox/ }).click();
  await page.locator('.message-row').first().waitFor({ timeout: 30_000 });
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  const reached = new Set();
  const invisible = [];
  for (let step = 0; step < 60; step += 1) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const element = document.activeElement;
      if (!element || element === document.body) return null;
      const style = getComputedStyle(element);
      // The text a screen reader reads: without what is aria-hidden (icons, the avatar's letter).
      const spoken = (node) => [...node.childNodes].map((child) => child.nodeType === Node.TEXT_NODE ? child.textContent
        : child.nodeType === Node.ELEMENT_NODE && child.getAttribute('aria-hidden') !== 'true' ? spoken(child) : '').join('');
      const label = element.getAttribute('aria-label') || element.labels?.[0]?.textContent.trim()
        || spoken(element).trim().slice(0, 40) || element.id || element.tagName;
      return { label, visible: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0, row: element.classList.contains('message-row') };
    });
    if (!focused) continue;
    reached.add(focused.row ? 'a message row' : focused.label);
    if (!focused.visible) invisible.push(focused.label);
  }
  for (const control of ['New message', 'Inbox', 'Sent', 'Trash', 'Search mail', 'Keyboard shortcuts', 'Sign out', 'a message row', 'Select all']) {
    const label = [...reached].find((name) => name === control || name.startsWith(control));
    assert.ok(label, `Tab reaches ${control}; it reached ${JSON.stringify([...reached])}`);
  }
  assert.deepEqual(invisible, [], 'every focused control shows its focus');
});
