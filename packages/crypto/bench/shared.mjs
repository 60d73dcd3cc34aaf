// Measurement code shared by the Node.js benchmark (bench.mjs) and the one that runs in
// Chromium (browser.mjs, through browser-page.mjs). Nothing here imports a Node.js module,
// so that the browser can load it as it is.

import { blake2b } from '@noble/hashes/blake2.js';
import { combine, split } from 'shamir-secret-sharing';

// Plaintext length: a box secret key, the message that provisions carry.
export const MESSAGE = new Uint8Array(32).fill(7);

// `open` gets the recipient public key, as tweetnacl and libsodium do; `openSecretKeyOnly`
// (this package only) computes it from the secret key. `sealImported` and `openImported`
// (this package only) use keys that importPublicKey and importKeyPair imported once, in
// set-up.
export const OPERATIONS = [
  'seal',
  'open',
  'sealImported',
  'openImported',
  'openSecretKeyOnly',
  'keygen',
  'createProvision',
  'recover',
];

/**
 * Runs `run` one call at a time for at least `ms` milliseconds, after a warm-up of a quarter
 * of that so that the JIT compiler has optimized the code, and returns calls per second.
 */
export async function measure(run, ms) {
  const warmUpEnd = performance.now() + ms / 4;
  while (performance.now() < warmUpEnd) {
    await run();
  }

  let operations = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    await run();
    operations++;
    elapsed = performance.now() - start;
  }

  return (operations * 1000) / elapsed;
}

/** Computes the sealed-box nonce: BLAKE2b-192 of the ephemeral and the recipient public keys. */
export function sealNonce(ephemeralPublicKey, recipientPublicKey) {
  const input = new Uint8Array(64);
  input.set(ephemeralPublicKey, 0);
  input.set(recipientPublicKey, 32);
  return blake2b(input, { dkLen: 24 });
}

export function equal(a, b) {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

/**
 * Runs the steps of createProvision with another library's primitives: a key pair, a 2-of-2
 * split of its secret key, and the SHA-512 of the first share, all as base64url.
 */
export async function provisionWith(keyPair, sha512, encodeBase64Url) {
  const { secretKey, publicKey } = keyPair();
  const [userShare, serverShare] = await split(secretKey, 2, 2);
  return {
    public_key: encodeBase64Url(publicKey),
    misakey_key_share: encodeBase64Url(serverShare),
    user_key_share_hash: encodeBase64Url(sha512(userShare)),
  };
}

/** This package (the module `ours`) on one X25519 backend or provider. */
export function oursImplementation(ours, backend) {
  return {
    backend,
    async setup() {
      await ours.setX25519Backend(backend);
      const recipient = await ours.generateKeyPair();
      const shares = await ours.splitSecret(recipient.secretKey);
      return {
        recipient,
        shares,
        sealed: await ours.seal(MESSAGE, recipient.publicKey),
        importedPublicKey: await ours.importPublicKey(recipient.publicKey),
        importedKeyPair: await ours.importKeyPair(recipient),
      };
    },
    seal: ({ recipient }) => ours.seal(MESSAGE, recipient.publicKey),
    open: ({ recipient, sealed }) => ours.open(sealed, recipient.secretKey, recipient.publicKey),
    sealImported: ({ importedPublicKey }) => ours.seal(MESSAGE, importedPublicKey),
    openImported: ({ importedKeyPair, sealed }) => ours.open(sealed, importedKeyPair),
    openSecretKeyOnly: ({ recipient, sealed }) => ours.open(sealed, recipient.secretKey),
    keygen: () => ours.generateKeyPair(),
    createProvision: () => ours.createProvision(),
    recover: ({ recipient, shares }) => ours.recoverSecretKey(shares, recipient.publicKey),
  };
}

/** tweetnacl's `box` with the sealed-box nonce and layout, as libsodium seals. */
export function tweetnaclImplementation(nacl, encodeBase64Url) {
  return {
    async setup() {
      const recipient = nacl.box.keyPair();
      const sealed = this.seal({ recipient });
      return { recipient, sealed, shares: await split(recipient.secretKey, 2, 2) };
    },
    seal({ recipient }) {
      const ephemeral = nacl.box.keyPair();
      const nonce = sealNonce(ephemeral.publicKey, recipient.publicKey);
      const box = nacl.box(MESSAGE, nonce, recipient.publicKey, ephemeral.secretKey);
      const sealed = new Uint8Array(32 + box.length);
      sealed.set(ephemeral.publicKey, 0);
      sealed.set(box, 32);
      return sealed;
    },
    open({ recipient, sealed }) {
      const ephemeralPublicKey = sealed.subarray(0, 32);
      const nonce = sealNonce(ephemeralPublicKey, recipient.publicKey);
      return nacl.box.open(sealed.subarray(32), nonce, ephemeralPublicKey, recipient.secretKey);
    },
    keygen: () => nacl.box.keyPair(),
    createProvision: () => provisionWith(() => nacl.box.keyPair(), nacl.hash, encodeBase64Url),
    async recover({ recipient, shares }) {
      const secretKey = await combine(shares);
      return equal(nacl.scalarMult.base(secretKey), recipient.publicKey);
    },
  };
}

/**
 * Measures every operation of every implementation in `rounds` rounds, interleaved across
 * implementations, and keeps each cell's best round, so that load from other processes
 * affects all implementations alike. Checks first that each opens its own box, also with
 * an imported key pair where it has one.
 *
 * @param implementations - `[name, implementation]` pairs.
 * @param log - receives one line per cell as it starts, and one per finished round.
 * @returns a Map from name to `{ operation: calls per second }`, with `roundTrip` for
 *   seal + open, and `roundTripImported` for the two with imported keys.
 */
export async function measureAll({ implementations, ours, rounds, ms, log }) {
  const contexts = new Map();
  const results = new Map();
  for (const [name, implementation] of implementations) {
    const context = await implementation.setup();
    for (const operation of ['open', 'openImported']) {
      const check = await implementation[operation]?.(context);
      if (check !== undefined && !equal(new Uint8Array(check), MESSAGE)) {
        throw new Error(`${name}: ${operation} returned a different message`);
      }
    }
    contexts.set(name, context);
    results.set(name, {});
  }

  for (let round = 0; round < rounds; round++) {
    for (const [name, implementation] of implementations) {
      if (implementation.backend !== undefined) {
        await ours.setX25519Backend(implementation.backend);
      }

      const rates = results.get(name);
      for (const operation of OPERATIONS) {
        if (implementation[operation] !== undefined) {
          log(`${name}: ${operation}`);
          const rate = await measure(() => implementation[operation](contexts.get(name)), ms);
          rates[operation] = Math.max(rates[operation] ?? 0, rate);
        }
      }
    }
    log(`round ${round + 1} of ${rounds} done`);
  }

  for (const rates of results.values()) {
    rates.roundTrip = 1 / (1 / rates.seal + 1 / rates.open);
    if (rates.sealImported !== undefined) {
      rates.roundTripImported = 1 / (1 / rates.sealImported + 1 / rates.openImported);
    }
  }
  return results;
}

export const formatRate = (rate) =>
  rate === undefined ? '–' : Math.round(rate).toLocaleString('en-US');

/** Markdown lines of the results table. */
export function resultLines(results) {
  const lines = [
    '| implementation | seal | open | seal + open | seal, imported key | open, imported key pair | seal + open, imported | open, no public key | keygen | createProvision | combine + verify |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const [name, rates] of results) {
    const cells = [
      rates.seal,
      rates.open,
      rates.roundTrip,
      rates.sealImported,
      rates.openImported,
      rates.roundTripImported,
      rates.openSecretKeyOnly,
      rates.keygen,
      rates.createProvision,
      rates.recover,
    ];
    lines.push(`| ${name} | ${cells.map(formatRate).join(' | ')} |`);
  }
  return lines;
}

/**
 * Returns two rows for the targets table: seal + open of `rates` (one of this package's rows)
 * divided by that of `baselineRates`, once with key bytes passed to every call and once with
 * keys imported once. `backend` and `baselineName` name the two rows in the labels.
 */
export function roundTripTargets(backend, rates, baselineName, baselineRates, required) {
  const perCall = rates.roundTrip / baselineRates.roundTrip;
  const imported = rates.roundTripImported / baselineRates.roundTrip;
  return [
    [`seal + open per call, ${backend} ÷ ${baselineName}`, perCall, required, '×'],
    [`seal + open with imported keys, ${backend} ÷ ${baselineName}`, imported, required, '×'],
  ];
}

/** Markdown lines of the targets table, from `[label, value, required, unit]` rows. */
export function targetLines(targets) {
  const lines = ['| target | measured | required | met |', '| --- | ---: | ---: | --- |'];
  for (const [label, value, required, unit] of targets) {
    const formatValue = (number) => (unit === '/s' ? formatRate(number) : number.toFixed(2));
    lines.push(
      `| ${label} | ${formatValue(value)}${unit} | ${formatValue(required)}${unit} | ${value >= required ? 'yes' : 'no'} |`,
    );
  }
  return lines;
}
