// `cargo xtask bench` runs this: serves the benchmark page (Plico's OpenPGP code built for
// wasm, and OpenPGP.js from npm) on a local port, opens it in headless Chromium, and prints the
// medians and ratios as JSON, then checks them against a recorded baseline: a ratio (sequoia
// time / OpenPGP.js time) more than 1.5 times its recorded value fails, as OpenPGP.js's own CI
// does. Usage: node bench.mjs <dir with plico_bench.js> <runs> <baseline.json> [--record] [--out file]

import fs from 'node:fs';
import path from 'node:path';
import { serveFiles, launchChromium } from './bench/serve.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const wasmDir = path.resolve(process.argv[2] ?? '');
const runs = process.argv[3] ?? '7';
const baselinePath = process.argv[4];
const record = process.argv.includes('--record');
const outIndex = process.argv.indexOf('--out');
const outPath = outIndex > 0 ? process.argv[outIndex + 1] : undefined;
/** How much worse than recorded a ratio may get. */
const TOLERANCE = 1.5;
const files = {
  '/': [path.join(here, 'bench/index.html'), 'text/html'],
  '/bench-page.mjs': [path.join(here, 'bench/bench-page.mjs'), 'text/javascript'],
  '/openpgp.min.mjs': [path.join(here, 'node_modules/openpgp/dist/openpgp.min.mjs'), 'text/javascript'],
  '/plico_bench.js': [path.join(wasmDir, 'plico_bench.js'), 'text/javascript'],
  '/plico_bench_bg.wasm': [path.join(wasmDir, 'plico_bench_bg.wasm'), 'application/wasm'],
};
const server = await serveFiles(files);
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  const version = browser.version();
  const measure = async () => {
    await page.goto(`http://127.0.0.1:${server.address().port}/?runs=${runs}`);
    await page.waitForFunction(() => window.__bench !== undefined, null, { timeout: 600_000, polling: 500 });
    const outcome = await page.evaluate(() => window.__bench);
    if (outcome.error) throw new Error(outcome.error);
    return outcome.results;
  };
  const baselineFile = baselinePath && fs.existsSync(baselinePath) && !record ? JSON.parse(fs.readFileSync(baselinePath, 'utf8')) : null;
  const tooSlow = (results) => Object.entries(results).filter(([name, entry]) => {
    const recorded = baselineFile?.results?.[name]?.ratio;
    return recorded !== undefined && !name.startsWith('info_') && entry.ratio > recorded * TOLERANCE;
  }).map(([name]) => name);
  // A ratio over the line is measured again, twice at most, and its best attempt counts: a real
  // regression stays over; a moment of noise on either side does not.
  let results = await measure();
  if (record) {
    // The recorded baseline is each operation's median of three whole runs, not one lucky or
    // unlucky run.
    const all = [results, await measure(), await measure()];
    results = Object.fromEntries(Object.keys(results).map((name) => {
      const sorted = all.map((run) => run[name]).sort((a, b) => a.ratio - b.ratio);
      return [name, sorted[1]];
    }));
  }
  for (let attempt = 0; attempt < 2 && tooSlow(results).length > 0; attempt += 1) {
    const again = await measure();
    for (const name of tooSlow(results)) if (again[name].ratio < results[name].ratio) results[name] = again[name];
  }
  const outcome = { results };
  const openpgpVersion = JSON.parse(fs.readFileSync(path.join(here, 'node_modules/openpgp/package.json'), 'utf8')).version;
  const report = { chromium: version, openpgpjs: openpgpVersion, runs: Number(runs), results: outcome.results };
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (outPath) fs.writeFileSync(outPath, json);
  const baseline = baselineFile;
  const worse = [];
  console.log('operation                         sequoia ms  OpenPGP.js ms   ratio   recorded');
  for (const [name, entry] of Object.entries(report.results)) {
    const recorded = baseline?.results?.[name]?.ratio;
    const gated = recorded !== undefined && !name.startsWith('info_');
    if (gated && entry.ratio > recorded * TOLERANCE) worse.push(`${name}: ratio ${entry.ratio.toFixed(2)}, recorded ${recorded.toFixed(2)}`);
    console.log(`${name.padEnd(34)}${entry.sequoia.toFixed(2).padStart(9)}${entry.openpgpjs.toFixed(2).padStart(14)}${entry.ratio.toFixed(2).padStart(8)}${(recorded === undefined ? '-' : recorded.toFixed(2)).padStart(11)}`);
  }
  if (record && baselinePath) {
    fs.writeFileSync(baselinePath, json);
    console.log(`recorded as the baseline in ${baselinePath}`);
  }
  if (worse.length) {
    console.error(`benchmark gate: more than ${TOLERANCE}x worse than recorded:\n  ${worse.join('\n  ')}`);
    process.exitCode = 1;
  }
} finally {
  await browser.close();
  server.close();
}
