// The calendar (issue 24) in the real app: the Calendar app, loaded into the mail app's shell at
// /calendar, makes its first calendar, creates an event by clicking and one by dragging, moves and
// resizes one by dragging, makes a weekly series, moves one occurrence ("this event"), deletes
// another, changes the rest ("this and following"), imports an .ics with a broken event (reported
// by name) and exports a calendar again. The server's database holds none of the titles or
// places. Screenshots of each view at desktop and phone sizes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, startSignedUp, screenshot, waitUntil } from './harness.mjs';

let server;
let carol;
let dir;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plico-e2e-calendar-'));
  server = await startServer();
  // The browser's zone is Europe/Paris, whatever the machine's.
  carol = await startSignedUp(server.baseUrl, 'carol', { timezoneId: 'Europe/Paris' });
});

after(async () => {
  await carol?.close();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function openCalendar(page) {
  await page.getByRole('navigation', { name: 'Apps' }).getByRole('link', { name: 'Calendar' }).click();
  await page.waitForURL('**/calendar');
  await page.locator('.calendar-app').waitFor({ timeout: 60_000 });
  await page.locator('.calendar-list li').first().waitFor({ timeout: 60_000 });
}

async function fillEditor(page, { title, start, end, repeat, place }) {
  const editor = page.locator('.event-editor');
  await editor.waitFor();
  if (title !== undefined) await editor.getByLabel('Title').fill(title);
  if (start !== undefined) await editor.getByLabel('Starts').fill(start);
  if (end !== undefined) await editor.getByLabel('Ends').fill(end);
  if (repeat !== undefined) await editor.getByLabel('Repeats').selectOption(repeat);
  if (place !== undefined) await editor.getByLabel('Place').fill(place);
  await editor.getByRole('button', { name: 'Save' }).click();
  await editor.waitFor({ state: 'detached', timeout: 30_000 });
}

/** The titles and start times (`2:00 PM`: the test browser speaks US English) of the week view's timed events. */
async function weekEvents(page) {
  await page.locator('.time-grid').waitFor();
  return page.locator('.grid-column .event').evaluateAll((events) => events.map((e) => `${e.querySelector('strong').textContent} ${e.querySelector('span').textContent.split(' – ')[0]}`));
}

/** The week view of the week that starts on Monday `isoMonday` (`YYYY-MM-DD`). */
async function showWeekOf(page, isoMonday) {
  await page.getByRole('button', { name: 'Today' }).click();
  await page.getByRole('button', { name: 'Week', exact: true }).click();
  const weeks = await page.evaluate((day) => {
    const target = new Date(`${day}T12:00:00`);
    const now = new Date();
    const monday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - ((now.getDay() + 6) % 7), 12);
    return Math.round((target - monday) / (7 * 86_400_000));
  }, isoMonday);
  for (let i = 0; i < Math.abs(weeks); i += 1) {
    await page.getByRole('button', { name: weeks > 0 ? 'Next' : 'Previous' }).click();
  }
  const label = await page.evaluate((day) => new Date(`${day}T12:00:00`).toLocaleDateString('en', { day: 'numeric', month: 'short' }), isoMonday);
  await waitUntil(async () => (await page.locator('.calendar-title').textContent()).startsWith(label), `the week of ${isoMonday}`);
}

test('events are created by click and drag, moved and resized, repeated, changed one at a time and deleted', async () => {
  const page = carol.page;
  await openCalendar(page);
  assert.deepEqual(await page.locator('.calendar-name').allTextContents(), ['My calendar'], 'the first use makes a calendar');
  await screenshot(page, 'calendar-month-empty');

  // A week some way ahead, so today's date does not matter: Monday 1 March 2027 (Paris).
  await page.getByRole('button', { name: 'New event' }).click();
  await fillEditor(page, { title: 'Dentist', start: '2027-03-01T10:00', end: '2027-03-01T11:00', place: 'Rue de Rivoli 1' });
  await showWeekOf(page, '2027-03-01');
  await waitUntil(async () => (await weekEvents(page)).includes('Dentist 10:00 AM'), 'the new event in the week view');

  // Drag it from Monday 10:00 to Tuesday 11:00: one column right, one hour down.
  const dentist = page.locator('.grid-column .event', { hasText: 'Dentist' });
  const box = await dentist.boundingBox();
  const column = (await page.locator('.grid-column').first().boundingBox()).width;
  await page.mouse.move(box.x + box.width / 2, box.y + 10);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + column / 2, box.y + 30, { steps: 4 });
  await page.mouse.move(box.x + box.width / 2 + column, box.y + 10 + 48, { steps: 4 });
  await page.mouse.up();
  await waitUntil(async () => {
    const columns = await page.locator('.grid-column').evaluateAll((cs) => cs.map((c) => [...c.querySelectorAll('.event strong')].map((s) => s.textContent)));
    return columns[1]?.includes('Dentist') && !columns[0].includes('Dentist');
  }, 'the event moved to Tuesday');
  assert.ok((await weekEvents(page)).includes('Dentist 11:00 AM'));

  // Resize it by its bottom edge: an hour longer.
  const moved = await page.locator('.grid-column .event', { hasText: 'Dentist' }).boundingBox();
  await page.mouse.move(moved.x + moved.width / 2, moved.y + moved.height - 2);
  await page.mouse.down();
  await page.mouse.move(moved.x + moved.width / 2, moved.y + moved.height - 2 + 48, { steps: 4 });
  await page.mouse.up();
  await waitUntil(async () => (await page.locator('.grid-column .event', { hasText: 'Dentist' }).getAttribute('aria-label'))?.endsWith('11:00 AM – 1:00 PM'), 'the event ends at 13:00');

  // Drag on an empty stretch of Wednesday from 14:00 to 16:00 to create an event there.
  const grid = await page.locator('.grid-columns').boundingBox();
  const wednesday = grid.x + column * 2.5;
  await page.mouse.move(wednesday, grid.y + 14 * 48 + 5);
  await page.mouse.down();
  await page.mouse.move(wednesday, grid.y + 16 * 48 + 2, { steps: 6 });
  await page.mouse.up();
  const editor = page.locator('.event-editor');
  await editor.waitFor();
  await screenshot(page, 'calendar-editor-desktop');
  assert.equal(await editor.getByLabel('Starts').inputValue(), '2027-03-03T14:00');
  assert.equal(await editor.getByLabel('Ends').inputValue(), '2027-03-03T16:00');
  await fillEditor(page, { title: 'Piano lesson', repeat: 'weekly' });
  await waitUntil(async () => (await weekEvents(page)).includes('Piano lesson 2:00 PM'), 'the lesson this week');
  await screenshot(page, 'calendar-week-desktop');

  // The next week: the lesson repeats. Move that one occurrence to Thursday 15:00.
  await page.getByRole('button', { name: 'Next' }).click();
  await waitUntil(async () => (await weekEvents(page)).includes('Piano lesson 2:00 PM'), 'the lesson repeats');
  await page.locator('.grid-column .event', { hasText: 'Piano lesson' }).click();
  await page.locator('.event-detail').getByRole('button', { name: 'Edit' }).click();
  await fillEditorScoped(page, { start: '2027-03-11T15:00', end: '2027-03-11T16:00' }, 'This event');
  await waitUntil(async () => {
    const columns = await page.locator('.grid-column').evaluateAll((cs) => cs.map((c) => [...c.querySelectorAll('.event strong')].map((s) => s.textContent)));
    return columns[3]?.includes('Piano lesson') && !columns[2].includes('Piano lesson');
  }, 'the moved occurrence on Thursday');

  // The week after: untouched. Delete that occurrence alone.
  await page.getByRole('button', { name: 'Next' }).click();
  await waitUntil(async () => (await weekEvents(page)).includes('Piano lesson 2:00 PM'), 'the third lesson');
  await page.locator('.grid-column .event', { hasText: 'Piano lesson' }).click();
  await screenshot(page, 'calendar-detail-desktop');
  await page.locator('.event-detail').getByRole('button', { name: 'Delete' }).click();
  await page.locator('.scope-chooser').waitFor();
  await screenshot(page, 'calendar-scope-desktop');
  await page.locator('.scope-chooser').getByRole('button', { name: 'This event', exact: true }).click();
  await waitUntil(async () => !(await weekEvents(page)).some((e) => e.startsWith('Piano lesson')), 'the third lesson deleted');

  // The fourth (29 March, after the clocks change) stays at 14:00 Paris time; from it on, the
  // lessons move to 17:00 ("this and following").
  await page.getByRole('button', { name: 'Next' }).click();
  await waitUntil(async () => (await weekEvents(page)).includes('Piano lesson 2:00 PM'), 'the fourth lesson at 14:00 after the change to summer time');
  await page.locator('.grid-column .event', { hasText: 'Piano lesson' }).click();
  await page.locator('.event-detail').getByRole('button', { name: 'Edit' }).click();
  await fillEditorScoped(page, { start: '2027-03-24T17:00', end: '2027-03-24T18:00' }, 'This and following events');
  await waitUntil(async () => (await weekEvents(page)).includes('Piano lesson 5:00 PM'), 'the lesson moved from this week on');
  await page.getByRole('button', { name: 'Next' }).click();
  await waitUntil(async () => (await weekEvents(page)).includes('Piano lesson 5:00 PM'), 'and the week after');
  await page.getByRole('button', { name: 'Previous' }).click();
  await page.getByRole('button', { name: 'Previous' }).click();
  await page.getByRole('button', { name: 'Previous' }).click();
  await waitUntil(async () => {
    const columns = await page.locator('.grid-column').evaluateAll((cs) => cs.map((c) => [...c.querySelectorAll('.event strong')].map((s) => s.textContent)));
    return columns[3]?.includes('Piano lesson');
  }, 'the single moved occurrence stays on Thursday');

  // Month and agenda views, and a phone.
  await page.getByRole('button', { name: 'Month', exact: true }).click();
  await page.locator('.month-grid .chip', { hasText: 'Dentist' }).waitFor();
  await screenshot(page, 'calendar-month-desktop');
  await page.getByRole('button', { name: 'Agenda', exact: true }).click();
  await page.locator('.agenda-item').first().waitFor();
  await screenshot(page, 'calendar-agenda-desktop');
  await page.getByRole('button', { name: 'Day', exact: true }).click();
  await page.locator('.time-grid.single').waitFor();
  await screenshot(page, 'calendar-day-desktop');
  await page.setViewportSize({ width: 390, height: 844 });
  for (const view of ['Month', 'Week', 'Day', 'Agenda']) {
    await page.getByRole('button', { name: view, exact: true }).click();
    await page.waitForTimeout(300);
    await screenshot(page, `calendar-${view.toLowerCase()}-phone`);
  }
  await page.getByRole('button', { name: 'New event' }).click();
  await page.locator('.event-editor').waitFor();
  await screenshot(page, 'calendar-editor-phone');
  await page.locator('.event-editor').getByRole('button', { name: 'Cancel' }).click();
  await page.setViewportSize({ width: 1280, height: 800 });
});

/** Changes an occurrence of a series in the editor and answers which occurrences it is for. */
async function fillEditorScoped(page, fields, scope) {
  const editor = page.locator('.event-editor');
  await editor.waitFor();
  if (fields.start) await editor.getByLabel('Starts').fill(fields.start);
  if (fields.end) await editor.getByLabel('Ends').fill(fields.end);
  await editor.getByRole('button', { name: 'Save' }).click();
  await page.locator('.scope-chooser').getByRole('button', { name: scope, exact: true }).click();
  await editor.waitFor({ state: 'detached', timeout: 30_000 });
}

test('an .ics from Google imports with a report of what could not be read, and a calendar exports', async () => {
  const page = carol.page;
  const file = path.join(dir, 'work.ics');
  fs.copyFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), '../../crates/calendar/tests/data/two-calendars.ics'), file);
  await page.locator('.calendar-side input[type=file]').setInputFiles(file);
  await page.getByText('3 events imported into 2 new calendars.').waitFor({ timeout: 60_000 });
  const report = await page.locator('.import-report li').allTextContents();
  assert.equal(report.length, 2, report.join('\n'));
  assert.match(report[0], /"Lost its start".*no readable start/);
  assert.match(report[1], /"Somewhere else".*Mars\/Olympus_Mons/);
  assert.deepEqual(await page.locator('.calendar-name').allTextContents(), ['Home', 'My calendar', 'Work']);
  await screenshot(page, 'calendar-import-report');

  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export Work' }).click();
  const saved = await download;
  assert.equal(saved.suggestedFilename(), 'Work.ics');
  const text = fs.readFileSync(await saved.path(), 'utf8');
  assert.match(text, /X-WR-CALNAME:Work/);
  assert.match(text, /SUMMARY:Stand-up \(late\)/);
  assert.match(text, /RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR/);
  assert.doesNotMatch(text, /Lost its start/);
});

test('the server holds no title, place or time of an event', () => {
  const db = path.join(server.dataDir, 'plico.sqlite');
  const dump = execFileSync('sqlite3', [db, '.dump'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  for (const secret of ['Dentist', 'Rivoli', 'Piano lesson', 'Stand-up', 'Dinner', 'The Anchor', '20270301', 'FREQ=WEEKLY', 'My calendar']) {
    assert.ok(!dump.includes(secret), `the database holds ${secret}`);
  }
  assert.match(dump, /'event'/, 'the events are sealed items');
});
