// `cargo xtask bench` runs this: the composer's autocomplete over 10,000 contacts
// (plico_contacts::complete, from plico-bench) in headless Chromium, against the named anchor in
// the same run: a linear scan of every name and address per query. Gated at issue 21's target
// (p95 under 30 ms) with PLICO_CONTACTS_GATE set.
// Usage: node bench-contacts.mjs <dir with plico_bench.js> [count, default 10000] [--out file]

import fs from 'node:fs';
import path from 'node:path';
import { benchInPage } from './bench/serve.mjs';

const wasmDir = path.resolve(process.argv[2] ?? '');
const count = Number(process.argv[3] && !process.argv[3].startsWith('--') ? process.argv[3] : 10000);
const outIndex = process.argv.indexOf('--out');
const outPath = outIndex > 0 ? process.argv[outIndex + 1] : undefined;
const result = await benchInPage(wasmDir, 'Plico contacts benchmark', 'autocomplete_bench', `autocomplete_bench(${count}, 2000)`);
result.anchor_over_plico_p95 = result.anchor.p95_ms / Math.max(result.p95_ms, 0.001);
console.log(JSON.stringify(result, null, 1));
if (outPath) fs.writeFileSync(outPath, JSON.stringify(result, null, 1));
if (process.env.PLICO_CONTACTS_GATE && !(result.p95_ms < 30)) {
  console.error(`autocomplete p95 ${result.p95_ms} ms is not under 30 ms`);
  process.exitCode = 1;
}
