// The Plico side of the search benchmark, in a dedicated worker like the real search worker:
// messages generated batch by batch, indexed, sealed and written to IndexedDB; then the query set.
import init, { SearchBench, memory_bytes } from '/plico_bench.js';
import { message, queries, plicoQuery } from '/corpus.mjs';

const BATCH = 500;

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

onmessage = async (event) => {
  const { seed, count, repeats } = event.data;
  try {
    await init();
    const database = `plico-bench-search-${count}-${Math.random()}`;
    const index = await SearchBench.open(database);
    let plaintext = 0;
    // The generator's own time is not the index's: each batch's generation is timed and taken off.
    let generating = 0;
    const started = performance.now();
    for (let start = 0; start < count; start += BATCH) {
      const generated = performance.now();
      const columns = { ids: [], dates: [], subjects: [], froms: [], tos: [], bodies: [], attachments: [] };
      for (let n = start; n < Math.min(count, start + BATCH); n += 1) {
        const m = message(seed, n);
        plaintext += m.bytes;
        columns.ids.push(m.id); columns.dates.push(m.date); columns.subjects.push(m.subject); columns.froms.push(m.from);
        columns.tos.push(m.to); columns.bodies.push(m.body); columns.attachments.push(m.attachment);
      }
      generating += performance.now() - generated;
      await index.add(columns.ids, columns.dates, columns.subjects, columns.froms, columns.tos, columns.bodies, columns.attachments);
      if (start % 10_000 === 0) postMessage({ progress: start });
    }
    await index.flush();
    const seconds = (performance.now() - started) / 1000;
    const generatorSeconds = generating / 1000;
    const stored = index.stored_bytes();
    const documents = index.documents();
    const times = [];
    const totals = [];
    for (let r = 0; r < repeats; r += 1) {
      for (const query of queries(seed)) {
        const text = plicoQuery(query);
        const t = performance.now();
        const total = index.search(text);
        times.push(performance.now() - t);
        if (r === 0) totals.push(total);
      }
    }
    times.sort((a, b) => a - b);
    const memory = memory_bytes();
    const breakdown = JSON.parse(index.breakdown());
    index.close();
    // Reopening reads every segment back: what a reload costs.
    const reopening = performance.now();
    const reopened = await SearchBench.open(database);
    const reopenSeconds = (performance.now() - reopening) / 1000;
    const reopenedDocuments = reopened.documents();
    reopened.close();
    indexedDB.deleteDatabase(database);
    postMessage({
      result: {
        count, documents, reopenedDocuments, plaintext, stored,
        indexingSeconds: seconds - generatorSeconds, generatorSeconds,
        perSecond: count / (seconds - generatorSeconds),
        p50: percentile(times, 0.5), p95: percentile(times, 0.95),
        bytesPerMessage: stored / count, ratio: stored / plaintext,
        wasmMemory: memory, reopenSeconds, totals, breakdown,
      },
    });
  } catch (error) {
    postMessage({ error: String(error?.stack ?? error) });
  }
};
