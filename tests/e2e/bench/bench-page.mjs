// Runs in the benchmark page: sequoia (Plico's plico-pgp in wasm) and OpenPGP.js, same page,
// same thread, same inputs. Each operation runs `runs` times after one warm-up; medians in ms.
import init, * as plico from './plico_bench.js';
import * as openpgp from './openpgp.min.mjs';

const KiB = 1024;
const runs = Number(new URLSearchParams(location.search).get('runs') ?? '7');

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

// Each sample repeats the operation until at least 40 ms have passed, so that the timer's
// coarse resolution (100 µs without cross-origin isolation) does not decide small results.
async function time(operation) {
  // Warm up for 150 ms first, so that both sides run in the optimising tier: wasm starts in
  // V8's baseline compiler and tiers up in the background, and a sub-millisecond operation
  // timed first thing measured up to 1.7x slower than the same code a moment later.
  const warm = performance.now();
  for (let i = 0; i < 4096 && performance.now() - warm < 150; i += 1) await operation();
  let repeat = 1;
  for (;;) {
    const start = performance.now();
    for (let i = 0; i < repeat; i += 1) await operation();
    if (performance.now() - start >= 40 || repeat >= 4096) break;
    repeat *= 2;
  }
  const samples = [];
  for (let i = 0; i < runs; i += 1) {
    const start = performance.now();
    for (let j = 0; j < repeat; j += 1) await operation();
    samples.push((performance.now() - start) / repeat);
  }
  return median(samples);
}

function payload(size) {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65536) crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + 65536)));
  return bytes;
}

async function openpgpKey(aead) {
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ email: 'bench@plico.test' }], format: 'object',
    config: aead ? { aeadProtect: true } : {},
  });
  return privateKey;
}

async function run() {
  await init();
  plico.setup();
  const results = {};
  // Like for like: Plico's key generation also writes the secret key and armors the public
  // certificate, so OpenPGP.js is asked for armored output too.
  results.keygen = {
    sequoia: await time(() => plico.generate()),
    openpgpjs: await time(() => openpgp.generateKey({
      type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ email: 'bench@plico.test' }], format: 'armored',
    })),
  };
  const keys = { v1: await openpgpKey(false), aead: await openpgpKey(true) };
  for (const [label, size] of [['10KiB', 10 * KiB], ['1MiB', 1024 * KiB]]) {
    const data = payload(size);
    for (const format of ['aead', 'v1']) {
      const aead = format === 'aead';
      const ours = await plico.encrypt(data, aead);
      if (plico.uses_aead(ours) !== aead) throw new Error(`sequoia did not use ${format}`);
      const key = keys[format];
      const config = aead ? { aeadProtect: true, preferredAEADAlgorithm: openpgp.enums.aead.ocb } : { aeadProtect: false };
      const encryptJs = async () => openpgp.encrypt({
        message: await openpgp.createMessage({ binary: data }), encryptionKeys: key.toPublic(), signingKeys: key, config,
      });
      const theirs = await encryptJs();
      const decryptJs = async () => {
        const { data: plain, signatures } = await openpgp.decrypt({
          message: await openpgp.readMessage({ armoredMessage: theirs }), decryptionKeys: key, verificationKeys: key.toPublic(), format: 'binary',
        });
        await signatures[0].verified;
        if (plain.length !== data.length) throw new Error('openpgp.js decrypted the wrong length');
      };
      results[`encrypt_${label}_${format}`] = {
        sequoia: await time(() => plico.encrypt(data, aead)),
        openpgpjs: await time(encryptJs),
      };
      results[`decrypt_${label}_${format}`] = {
        sequoia: await time(async () => { if (await plico.decrypt(ours, aead) !== data.length) throw new Error('wrong length'); }),
        openpgpjs: await time(decryptJs),
      };
    }
  }
  // For information: OpenPGP.js with AEAD in its default mode, AES-GCM, which it runs through
  // the browser's WebCrypto; sequoia's figure is its own AEAD (AES-OCB in wasm).
  const gcmKey = keys.aead;
  const big = payload(1024 * KiB);
  const gcmConfig = { aeadProtect: true, preferredAEADAlgorithm: openpgp.enums.aead.gcm };
  const gcmMessage = await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: big }), encryptionKeys: gcmKey.toPublic(), signingKeys: gcmKey, config: gcmConfig,
  });
  results.info_encrypt_1MiB_openpgpjs_gcm = {
    sequoia: results.encrypt_1MiB_aead.sequoia,
    openpgpjs: await time(async () => openpgp.encrypt({
      message: await openpgp.createMessage({ binary: big }), encryptionKeys: gcmKey.toPublic(), signingKeys: gcmKey, config: gcmConfig,
    })),
  };
  results.info_decrypt_1MiB_openpgpjs_gcm = {
    sequoia: results.decrypt_1MiB_aead.sequoia,
    openpgpjs: await time(async () => {
      const { signatures } = await openpgp.decrypt({
        message: await openpgp.readMessage({ armoredMessage: gcmMessage }), decryptionKeys: gcmKey, verificationKeys: gcmKey.toPublic(), format: 'binary',
      });
      await signatures[0].verified;
    }),
  };
  // Post-quantum keys (RFC 9980; OpenPGP.js 6 has none): sequoia's post-quantum figure against
  // its own classical one (the "openpgpjs" column holds the classical sequoia figure here).
  results.info_pq_keygen = { sequoia: await time(() => plico.generate_pq()), openpgpjs: results.keygen.sequoia };
  for (const [label, size] of [['10KiB', 10 * KiB], ['1MiB', 1024 * KiB]]) {
    const data = payload(size);
    const sealed = await plico.encrypt_pq(data);
    results[`info_pq_encrypt_${label}`] = {
      sequoia: await time(() => plico.encrypt_pq(data)), openpgpjs: results[`encrypt_${label}_aead`].sequoia,
    };
    results[`info_pq_decrypt_${label}`] = {
      sequoia: await time(async () => { if (await plico.decrypt_pq(sealed) !== data.length) throw new Error('wrong length'); }),
      openpgpjs: results[`decrypt_${label}_aead`].sequoia,
    };
  }
  for (const entry of Object.values(results)) entry.ratio = entry.sequoia / entry.openpgpjs;
  return results;
}

run().then(
  (results) => { window.__bench = { results }; document.getElementById('status').textContent = 'done'; },
  (error) => { window.__bench = { error: String(error?.stack ?? error) }; document.getElementById('status').textContent = 'failed'; },
);
