// `cargo xtask bench` runs this: the composer's autocomplete over 10,000 contacts
// (plico_contacts::complete, from plico-bench) in headless Chromium, against the named anchor in
// the same run: a linear scan of every name and address per query. Gated at issue 21's target
// (p95 under 30 ms) with PLICO_CONTACTS_GATE set.
// Usage: node bench-contacts.mjs <dir with plico_bench.js> [count, default 10000] [--out file]

import fs from 'node:fs';
import path from 'node:path';
import { serveFiles, launchChromium } from './bench/serve.mjs';

const wasmDir = path.resolve(process.argv[2] ?? '');
const count = Number(process.argv[3] && !process.argv[3].startsWith('--') ? process.argv[3] : 10000);
const outIndex = process.argv.indexOf('--out');
const outPath = outIndex > 0 ? process.argv[outIndex + 1] : undefined;
const page = path.join(wasmDir, 'contacts-bench.html');
fs.writeFileSync(page, `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Plico contacts benchmark</title></head>
<body><script type="module">
import init, { autocomplete_bench } from '/plico_bench.js';
await init();
try { window.__bench = JSON.parse(autocomplete_bench(${count}, 2000)); } catch (error) { window.__bench = { error: String(error) }; }
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
  result.anchor_over_plico_p95 = result.anchor.p95_ms / Math.max(result.p95_ms, 0.001);
  console.log(JSON.stringify(result, null, 1));
  if (outPath) fs.writeFileSync(outPath, JSON.stringify(result, null, 1));
  if (process.env.PLICO_CONTACTS_GATE && !(result.p95_ms < 30)) {
    console.error(`autocomplete p95 ${result.p95_ms} ms is not under 30 ms`);
    process.exitCode = 1;
  }
} finally {
  await browser.close();
  server.close();
}
