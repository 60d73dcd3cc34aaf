// Compares seal, open, key generation, provision creation and share recovery across
// implementations, measured side by side in one process. Run with `pnpm bench` from
// packages/crypto (turbo builds dist first). Node.js only: the baseline uses node:crypto.

import {
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  randomBytes,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

import { hsalsa, xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import sodium from 'libsodium-wrappers';
import { combine, split } from 'shamir-secret-sharing';
import nacl from 'tweetnacl';

import {
  coreDescription,
  pinToOneCore,
  requireBuild,
  verboseFromEnv,
  wholeNumberFromEnv,
} from './run-options.mjs';
import {
  equal,
  formatRate,
  MESSAGE,
  measure,
  measureAll,
  oursImplementation,
  provisionWith,
  resultLines,
  roundTripTargets,
  sealNonce,
  targetLines,
  tweetnaclImplementation,
} from './shared.mjs';

requireBuild();
await pinToOneCore(fileURLToPath(import.meta.url));
const ours = await import('../dist/index.js');

// Each measurement runs for at least this long, after a warm-up of a quarter of it.
const MEASURE_MS = wholeNumberFromEnv('BENCH_MS', {
  fallback: 500,
  max: 60_000,
  unit: 'milliseconds',
});

await sodium.ready;

const SIGMA = new Uint32Array(new TextEncoder().encode('expand 32-byte k').buffer);

// crypto_box_beforenm over a raw X25519 shared secret, for the node:crypto baseline.
function boxKey(shared) {
  const key = new Uint32Array(new Uint8Array(shared).buffer);
  const out = new Uint32Array(8);
  hsalsa(SIGMA, key, new Uint32Array(4), out);
  return new Uint8Array(out.buffer);
}

function encodeBase64Url(bytes) {
  return Buffer.from(bytes).toString('base64url');
}

function nodePublicKeyObject(publicKey) {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: encodeBase64Url(publicKey) },
    format: 'jwk',
  });
}

function nodePrivateKeyObject(secretKey, publicKey) {
  return createPrivateKey({
    key: {
      kty: 'OKP',
      crv: 'X25519',
      d: encodeBase64Url(secretKey),
      x: encodeBase64Url(publicKey),
    },
    format: 'jwk',
  });
}

// A node:crypto key pair from 32 random bytes, with its KeyObject. generateKeyPairSync is
// not used. In Node.js 20, a JWK export of a key that it has just made can deadlock: a
// garbage collection during the export frees the finished generation job, which waits for
// the lock that the export holds. Its DER encodings cost more than the key itself.
function nodeKeyPair() {
  const secretKey = new Uint8Array(randomBytes(32));
  const privateKey = nodePrivateKeyObject(secretKey, new Uint8Array(0));
  const publicKey = new Uint8Array(
    Buffer.from(privateKey.export({ format: 'jwk' }).x, 'base64url'),
  );
  return { secretKey, publicKey, privateKey };
}

function nodeSha512(bytes) {
  return new Uint8Array(createHash('sha512').update(bytes).digest());
}

// The X25519 provider that an application running in Node.js can install, as the CLI does:
// node:crypto's synchronous X25519. Node.js reads a private JWK by `d` alone, so `x` is empty.
const nodeProvider = {
  getPublicKey: (secretKey) =>
    new Uint8Array(
      Buffer.from(
        createPublicKey(nodePrivateKeyObject(secretKey, new Uint8Array(0))).export({
          format: 'jwk',
        }).x,
        'base64url',
      ),
    ),
  getSharedSecret: (secretKey, publicKey) =>
    new Uint8Array(
      diffieHellman({
        privateKey: nodePrivateKeyObject(secretKey, new Uint8Array(0)),
        publicKey: nodePublicKeyObject(publicKey),
      }),
    ),
};

const libsodium = {
  async setup() {
    const pair = sodium.crypto_box_keypair();
    const recipient = { secretKey: pair.privateKey, publicKey: pair.publicKey };
    return {
      recipient,
      sealed: sodium.crypto_box_seal(MESSAGE, recipient.publicKey),
      shares: await split(recipient.secretKey, 2, 2),
    };
  },
  seal: ({ recipient }) => sodium.crypto_box_seal(MESSAGE, recipient.publicKey),
  open: ({ recipient, sealed }) =>
    sodium.crypto_box_seal_open(sealed, recipient.publicKey, recipient.secretKey),
  keygen: () => sodium.crypto_box_keypair(),
  createProvision: () =>
    provisionWith(
      () => {
        const pair = sodium.crypto_box_keypair();
        return { secretKey: pair.privateKey, publicKey: pair.publicKey };
      },
      sodium.crypto_hash,
      encodeBase64Url,
    ),
  async recover({ recipient, shares }) {
    const secretKey = await combine(shares);
    return sodium.memcmp(sodium.crypto_scalarmult_base(secretKey), recipient.publicKey);
  },
};

const nodeBaseline = {
  async setup() {
    const { secretKey, publicKey } = nodeKeyPair();
    const recipient = { secretKey, publicKey };
    const context = {
      recipient,
      recipientPublicKeyObject: nodePublicKeyObject(recipient.publicKey),
      recipientPrivateKeyObject: nodePrivateKeyObject(recipient.secretKey, recipient.publicKey),
      shares: await split(recipient.secretKey, 2, 2),
    };
    context.sealed = this.seal(context);
    return context;
  },
  seal({ recipient, recipientPublicKeyObject }) {
    const ephemeral = nodeKeyPair();
    const ephemeralPublicKey = ephemeral.publicKey;
    const shared = diffieHellman({
      privateKey: ephemeral.privateKey,
      publicKey: recipientPublicKeyObject,
    });
    const nonce = sealNonce(ephemeralPublicKey, recipient.publicKey);
    const box = xsalsa20poly1305(boxKey(shared), nonce).encrypt(MESSAGE);
    const sealed = new Uint8Array(32 + box.length);
    sealed.set(ephemeralPublicKey, 0);
    sealed.set(box, 32);
    return sealed;
  },
  open({ recipient, recipientPrivateKeyObject, sealed }) {
    const ephemeralPublicKey = sealed.subarray(0, 32);
    const shared = diffieHellman({
      privateKey: recipientPrivateKeyObject,
      publicKey: nodePublicKeyObject(ephemeralPublicKey),
    });
    const nonce = sealNonce(ephemeralPublicKey, recipient.publicKey);
    return xsalsa20poly1305(boxKey(shared), nonce).decrypt(sealed.subarray(32));
  },
  keygen: nodeKeyPair,
  createProvision: () => provisionWith(nodeKeyPair, nodeSha512, encodeBase64Url),
  async recover({ recipient, shares }) {
    const secretKey = await combine(shares);
    const privateKey = createPrivateKey({
      key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), secretKey]),
      format: 'der',
      type: 'pkcs8',
    });
    const x = createPublicKey(privateKey).export({ format: 'jwk' }).x;
    return equal(new Uint8Array(Buffer.from(x, 'base64url')), recipient.publicKey);
  },
};

const IMPLEMENTATIONS = [
  ['ours, WebCrypto X25519', oursImplementation(ours, 'webcrypto')],
  ['ours, noble X25519', oursImplementation(ours, 'noble')],
  ['ours, node:crypto provider', oursImplementation(ours, nodeProvider)],
  ['tweetnacl 1.0.3', tweetnaclImplementation(nacl, encodeBase64Url)],
  ['libsodium-wrappers 0.8.4', libsodium],
  ['node:crypto X25519 + noble cipher', nodeBaseline],
];

const ROUNDS = wholeNumberFromEnv('BENCH_ROUNDS', { fallback: 3, max: 100, unit: 'rounds' });
const results = await measureAll({
  implementations: IMPLEMENTATIONS,
  ours,
  rounds: ROUNDS,
  ms: MEASURE_MS,
  log: (line) => {
    if (verboseFromEnv() || line.startsWith('round ')) {
      process.stderr.write(`${line}\n`);
    }
  },
});

// Batch sealing, per box, against one seal call at a time on the WebCrypto backend.
await ours.setX25519Backend('webcrypto');
const batchRecipient = await ours.generateKeyPair();
const batch = Array.from({ length: 16 }, () => MESSAGE);
let sealManyRate = 0;
for (let round = 0; round < ROUNDS; round++) {
  const rate = await measure(() => ours.sealMany(batch, batchRecipient.publicKey), MEASURE_MS);
  sealManyRate = Math.max(sealManyRate, 16 * rate);
}
await ours.setX25519Backend('auto');

const cpuModel =
  readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.+)/)?.[1] ?? cpus()[0]?.model;

const lines = [
  `Node.js ${process.version}, ${cpuModel}, ${coreDescription()}, ${new Date().toISOString().slice(0, 10)}, ${MESSAGE.length}-byte plaintext, best of ${ROUNDS === 1 ? '1 round' : `${ROUNDS} rounds`}, operations per second (higher is better):`,
  '',
  ...resultLines(results),
];

const native = results.get('ours, WebCrypto X25519');
const pure = results.get('ours, noble X25519');
const provided = results.get('ours, node:crypto provider');
const tweetnaclRates = results.get('tweetnacl 1.0.3');
const nodeRates = results.get('node:crypto X25519 + noble cipher');
// "per call" passes key bytes to every seal and open. "imported keys" uses the keys that
// importPublicKey and importKeyPair imported once, in set-up.
const targets = [
  ...roundTripTargets('WebCrypto', native, 'tweetnacl', tweetnaclRates, 8),
  ...roundTripTargets('WebCrypto', native, 'node:crypto', nodeRates, 0.5),
  ...roundTripTargets('noble', pure, 'tweetnacl', tweetnaclRates, 0.7),
  ['createProvision, WebCrypto, per second', native.createProvision, 3000, '/s'],
  ...roundTripTargets('node:crypto provider', provided, 'tweetnacl', tweetnaclRates, 8),
  ...roundTripTargets('node:crypto provider', provided, 'node:crypto', nodeRates, 0.5),
  ['createProvision, node:crypto provider, per second', provided.createProvision, 3000, '/s'],
];

lines.push(
  '',
  `sealMany, 16 plaintexts to one recipient, WebCrypto: ${formatRate(sealManyRate)} boxes/s (seal one at a time: ${formatRate(native.seal)}/s).`,
);

lines.push(
  '',
  ...targetLines(targets),
  '',
  "The node:crypto baseline imports the recipient's private and public KeyObjects once, in set-up, as the imported-key columns do. tweetnacl and libsodium take key bytes and import nothing.",
);

console.log(lines.join('\n'));
