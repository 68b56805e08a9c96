// `cargo xtask bench` runs this: the search benchmark. Serves the page (Plico's index from
// plico-bench, MiniSearch 7 from npm, the shared corpus generator), opens it in headless Chromium
// for each corpus size, and prints both engines' figures and their ratios as JSON.
// Usage: node bench-search.mjs <dir with plico_bench.js> [sizes, default 10000,100000] [--out file]
// With PLICO_SEARCH_GATE set, fails unless Plico meets issue 5's targets at every size.

import fs from 'node:fs';
import path from 'node:path';
import { serveFiles, launchChromium } from './bench/serve.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const wasmDir = path.resolve(process.argv[2] ?? '');
const sizes = (process.argv[3] && !process.argv[3].startsWith('--') ? process.argv[3] : '10000,100000').split(',').map(Number);
const outIndex = process.argv.indexOf('--out');
const outPath = outIndex > 0 ? process.argv[outIndex + 1] : undefined;
const files = {
  '/': [path.join(here, 'bench/search.html'), 'text/html'],
  '/search-page.mjs': [path.join(here, 'bench/search-page.mjs'), 'text/javascript'],
  '/search-worker.mjs': [path.join(here, 'bench/search-worker.mjs'), 'text/javascript'],
  '/corpus.mjs': [path.join(here, 'bench/corpus.mjs'), 'text/javascript'],
  '/minisearch.mjs': [path.join(here, 'node_modules/minisearch/dist/es/index.js'), 'text/javascript'],
  '/plico_bench.js': [path.join(wasmDir, 'plico_bench.js'), 'text/javascript'],
  '/plico_bench_bg.wasm': [path.join(wasmDir, 'plico_bench_bg.wasm'), 'application/wasm'],
};
const server = await serveFiles(files);
const browser = await launchChromium(['--enable-precise-memory-info', '--js-flags=--max-old-space-size=8192']);
const report = { chromium: browser.version(), sizes: {} };
const failures = [];
try {
  for (const count of sizes) {
    const page = await browser.newPage();
    page.on('console', (message) => { if (message.type() === 'error') console.error(`page: ${message.text()}`); });
    const engines = process.env.PLICO_SEARCH_ENGINES ?? 'plico,minisearch';
    await page.goto(`http://127.0.0.1:${server.address().port}/?count=${count}&seed=7&repeats=3&engines=${engines}`);
    await page.waitForFunction(() => window.__bench !== undefined, null, { timeout: 3_600_000, polling: 1000 });
    const outcome = await page.evaluate(() => window.__bench);
    await page.close();
    if (outcome.error) throw new Error(outcome.error);
    const { plico, minisearch } = outcome.results;
    if (!minisearch) {
      console.log(JSON.stringify({ count, plico: { ...plico, totals: undefined } }, null, 1));
      continue;
    }
    const sameAnswers = JSON.stringify(plico.totals) === JSON.stringify(minisearch.totals);
    const entry = {
      plico: { ...plico, totals: undefined },
      minisearch: { ...minisearch, totals: undefined },
      ratios: {
        indexing: plico.perSecond / minisearch.perSecond,
        p50: plico.p50 / minisearch.p50,
        p95: plico.p95 / minisearch.p95,
        size: plico.ratio / minisearch.ratio,
        memory: plico.wasmMemory / minisearch.heapBytes,
      },
      queryTotals: { plico: plico.totals, minisearch: minisearch.totals, same: sameAnswers },
    };
    report.sizes[count] = entry;
    console.log(JSON.stringify({ count, ...entry }, null, 1));
    if (process.env.PLICO_SEARCH_GATE) {
      if (plico.perSecond < 3000) failures.push(`${count}: indexing ${plico.perSecond.toFixed(0)} msg/s < 3000`);
      if (plico.ratio > 0.5) failures.push(`${count}: index ${plico.ratio.toFixed(3)} x plaintext > 0.5`);
      if (plico.p95 > minisearch.p95) failures.push(`${count}: p95 ${plico.p95.toFixed(2)} ms not better than MiniSearch's ${minisearch.p95.toFixed(2)}`);
      if (plico.ratio > minisearch.ratio) failures.push(`${count}: index size not smaller than MiniSearch's`);
      if (count >= 100_000 && plico.p95 > 30) failures.push(`${count}: p95 ${plico.p95.toFixed(2)} ms > 30`);
      if (count >= 100_000 && plico.wasmMemory > 300e6) failures.push(`${count}: memory ${(plico.wasmMemory / 1e6).toFixed(0)} MB > 300`);
      if (count <= 10_000 && plico.longestMainThreadTask > 50) failures.push(`${count}: a main-thread long task of ${plico.longestMainThreadTask} ms`);
    }
  }
} finally {
  await browser.close();
  server.close();
}
if (outPath) fs.writeFileSync(outPath, JSON.stringify(report, null, 1));
if (failures.length) {
  console.error(`search benchmark under its targets:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
