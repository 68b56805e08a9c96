// What the in-browser benchmarks share: a static server for their page's files and headless
// Chromium to open it in.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

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

/**
 * Runs one plico-bench export in a page of its own, in headless Chromium: `call` is a JavaScript
 * expression over `name` (imported from plico_bench.js) that returns JSON text. Returns the
 * parsed result, with the Chromium version added.
 */
export async function benchInPage(wasmDir, title, name, call) {
  const page = path.join(wasmDir, `${name}.html`);
  fs.writeFileSync(page, `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${title}</title></head>
<body><script type="module">
import init, { ${name} } from '/plico_bench.js';
await init();
try { window.__bench = JSON.parse(${call}); } catch (error) { window.__bench = { error: String(error) }; }
</script></body></html>`);
  const server = await serveFiles({
    '/': [page, 'text/html'],
    '/plico_bench.js': [path.join(wasmDir, 'plico_bench.js'), 'text/javascript'],
    '/plico_bench_bg.wasm': [path.join(wasmDir, 'plico_bench_bg.wasm'), 'application/wasm'],
  });
  const browser = await launchChromium();
  try {
    const tab = await browser.newPage();
    tab.on('console', (message) => { if (message.type() === 'error') console.error(`page: ${message.text()}`); });
    await tab.goto(`http://127.0.0.1:${server.address().port}/`);
    await tab.waitForFunction(() => window.__bench !== undefined, null, { timeout: 600_000 });
    const result = await tab.evaluate(() => window.__bench);
    if (result.error) throw new Error(result.error);
    result.chromium = browser.version();
    return result;
  } finally {
    await browser.close();
    server.close();
  }
}
