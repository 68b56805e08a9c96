// What the in-browser benchmarks share: a static server for their page's files and headless
// Chromium to open it in.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import http from 'node:http';

/** Serves `files` ({ path: [file, content type] }) on a free local port; returns the server. */
export async function serveFiles(files) {
  const server = http.createServer((request, response) => {
    const file = files[new URL(request.url, 'http://x').pathname];
    if (!file) { response.writeHead(404); response.end(); return; }
    response.writeHead(200, { 'content-type': file[1] });
    fs.createReadStream(file[0]).pipe(response);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Headless Chromium as the benchmarks run it, with `args` added. */
export function launchChromium(args = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', ...args],
  });
}
