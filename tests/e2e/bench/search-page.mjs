// The search benchmark page: Plico's index in a dedicated worker, MiniSearch 7 on this page (as
// its reference figures were measured), the same corpus and the same queries. While Plico's index
// builds, a PerformanceObserver watches this page's thread for long tasks.
import MiniSearch from '/minisearch.mjs';
import { message, queries } from '/corpus.mjs';

const params = new URLSearchParams(location.search);
const seed = Number(params.get('seed') ?? 7);
const count = Number(params.get('count') ?? 10000);
const repeats = Number(params.get('repeats') ?? 3);
const engines = (params.get('engines') ?? 'plico,minisearch').split(',');
const state = document.getElementById('state');

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function plico() {
  const longTasks = [];
  const observer = new PerformanceObserver((list) => { for (const entry of list.getEntries()) longTasks.push(entry.duration); });
  observer.observe({ type: 'longtask', buffered: false });
  const worker = new Worker('/search-worker.mjs', { type: 'module' });
  const result = await new Promise((resolve, reject) => {
    worker.onmessage = (event) => {
      if (event.data.progress !== undefined) state.textContent = `Plico: ${event.data.progress} of ${count}`;
      if (event.data.result) resolve(event.data.result);
      if (event.data.error) reject(new Error(event.data.error));
    };
    worker.onerror = (event) => reject(new Error(event.message));
    worker.postMessage({ seed, count, repeats });
  });
  observer.disconnect();
  worker.terminate();
  result.longestMainThreadTask = longTasks.length ? Math.max(...longTasks) : 0;
  result.mainThreadLongTasks = longTasks.length;
  return result;
}

async function minisearch() {
  const heapBefore = performance.memory?.usedJSHeapSize ?? 0;
  const index = new MiniSearch({ fields: ['subject', 'from', 'to', 'body', 'attachment'], idField: 'id' });
  let plaintext = 0;
  let generatorSeconds = 0;
  let indexing = 0;
  let peakHeap = 0;
  const BATCH = 500;
  for (let start = 0; start < count; start += BATCH) {
    const g = performance.now();
    const batch = [];
    for (let n = start; n < Math.min(count, start + BATCH); n += 1) {
      const m = message(seed, n);
      plaintext += m.bytes;
      batch.push(m);
    }
    generatorSeconds += (performance.now() - g) / 1000;
    const t = performance.now();
    index.addAll(batch);
    indexing += (performance.now() - t) / 1000;
    if (start % 10_000 === 0) {
      state.textContent = `MiniSearch: ${start} of ${count}`;
      peakHeap = Math.max(peakHeap, performance.memory?.usedJSHeapSize ?? 0);
      await new Promise((r) => setTimeout(r, 0));
    }
  }
  peakHeap = Math.max(peakHeap, performance.memory?.usedJSHeapSize ?? 0);
  const times = [];
  const totals = [];
  for (let r = 0; r < repeats; r += 1) {
    for (const query of queries(seed)) {
      const options = { combineWith: 'AND', prefix: (term, i, terms) => Boolean(query.prefix) && i === terms.length - 1 };
      if (query.field) options.fields = [query.field];
      const t = performance.now();
      const found = index.search(query.words.join(' '), options);
      // Like Plico's result list: the best 20.
      found.slice(0, 20);
      times.push(performance.now() - t);
      if (r === 0) totals.push(found.length);
    }
  }
  times.sort((a, b) => a - b);
  const json = JSON.stringify(index);
  const jsonBytes = new TextEncoder().encode(json).length;
  return {
    count, plaintext, indexingSeconds: indexing, generatorSeconds, perSecond: count / indexing,
    p50: percentile(times, 0.5), p95: percentile(times, 0.95),
    jsonBytes, bytesPerMessage: jsonBytes / count, ratio: jsonBytes / plaintext,
    heapBytes: peakHeap - heapBefore, totals,
  };
}

try {
  const results = {};
  if (engines.includes('plico')) results.plico = await plico();
  if (engines.includes('minisearch')) results.minisearch = await minisearch();
  window.__bench = { results };
  state.textContent = 'Done';
} catch (error) {
  window.__bench = { error: String(error?.stack ?? error) };
}
