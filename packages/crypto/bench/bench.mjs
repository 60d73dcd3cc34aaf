// Compares seal, open, key generation, provision creation and share recovery across
// implementations, measured side by side in one process. Run with `pnpm bench` from
// packages/crypto (turbo builds dist first). Node.js only: the baseline uses node:crypto.

import { spawnSync } from 'node:child_process';
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
import { blake2b } from '@noble/hashes/blake2.js';
import sodium from 'libsodium-wrappers';
import { combine, split } from 'shamir-secret-sharing';
import nacl from 'tweetnacl';

import * as ours from '../dist/index.js';

// The targets are for one core. On Linux the benchmark runs itself again under `taskset`,
// pinned to one CPU, so that the thread-pool jobs behind WebCrypto share that core with the
// JavaScript thread, as on a one-core machine. BENCH_CPU picks the CPU (0 unless set), and
// BENCH_CPU=all runs on every CPU.
const pinnedCpu = process.env.BENCH_PINNED_CPU;
if (process.platform === 'linux' && pinnedCpu === undefined && process.env.BENCH_CPU !== 'all') {
  const cpu = process.env.BENCH_CPU ?? '0';
  const script = fileURLToPath(import.meta.url);
  const pinned = spawnSync(
    'taskset',
    ['--cpu-list', cpu, process.execPath, ...process.execArgv, script, ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, BENCH_PINNED_CPU: cpu } },
  );
  if (pinned.error === undefined) {
    process.exit(pinned.status ?? 1);
  }
  process.stderr.write(`cannot run taskset (${pinned.error.message}); running on every CPU\n`);
}

// Each measurement runs for at least this long, after a warm-up of a quarter of it, so that
// the JIT compiler has optimized the code being measured.
const MEASURE_MS = Number(process.env.BENCH_MS ?? 500);
// Plaintext length: a box secret key, the message that provisions carry.
const MESSAGE = new Uint8Array(32).fill(7);

await sodium.ready;

async function measure(run) {
  const warmUpEnd = performance.now() + MEASURE_MS / 4;
  while (performance.now() < warmUpEnd) {
    await run();
  }

  let operations = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < MEASURE_MS) {
    await run();
    operations++;
    elapsed = performance.now() - start;
  }

  return (operations * 1000) / elapsed;
}

function sealNonce(ephemeralPublicKey, recipientPublicKey) {
  const input = new Uint8Array(64);
  input.set(ephemeralPublicKey, 0);
  input.set(recipientPublicKey, 32);
  return blake2b(input, { dkLen: 24 });
}

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

// Runs the steps of createProvision with each library's own primitives: a key pair, a 2-of-2
// split of its secret key, and the SHA-512 of the first share, all as base64url.
async function provisionWith(keyPair, sha512) {
  const { secretKey, publicKey } = keyPair();
  const [userShare, serverShare] = await split(secretKey, 2, 2);
  return {
    public_key: encodeBase64Url(publicKey),
    misakey_key_share: encodeBase64Url(serverShare),
    user_key_share_hash: encodeBase64Url(sha512(userShare)),
  };
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

function equal(a, b) {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
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

function oursImplementation(backend) {
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
      };
    },
    seal: ({ recipient }) => ours.seal(MESSAGE, recipient.publicKey),
    open: ({ recipient, sealed }) => ours.open(sealed, recipient.secretKey, recipient.publicKey),
    openSecretKeyOnly: ({ recipient, sealed }) => ours.open(sealed, recipient.secretKey),
    keygen: () => ours.generateKeyPair(),
    createProvision: () => ours.createProvision(),
    recover: ({ recipient, shares }) => ours.recoverSecretKey(shares, recipient.publicKey),
  };
}

const tweetnacl = {
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
  createProvision: () => provisionWith(() => nacl.box.keyPair(), nacl.hash),
  async recover({ recipient, shares }) {
    const secretKey = await combine(shares);
    return equal(nacl.scalarMult.base(secretKey), recipient.publicKey);
  },
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
    provisionWith(() => {
      const pair = sodium.crypto_box_keypair();
      return { secretKey: pair.privateKey, publicKey: pair.publicKey };
    }, sodium.crypto_hash),
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
  createProvision: () => provisionWith(nodeKeyPair, nodeSha512),
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
  ['ours, WebCrypto X25519', oursImplementation('webcrypto')],
  ['ours, noble X25519', oursImplementation('noble')],
  ['ours, node:crypto provider', oursImplementation(nodeProvider)],
  ['tweetnacl 1.0.3', tweetnacl],
  ['libsodium-wrappers 0.8.4', libsodium],
  ['node:crypto X25519 + noble cipher', nodeBaseline],
];

// `open` gets the recipient public key, as tweetnacl and libsodium do; `openSecretKeyOnly`
// (this package only) computes it from the secret key.
const OPERATIONS = ['seal', 'open', 'openSecretKeyOnly', 'keygen', 'createProvision', 'recover'];

// Every cell is measured in ROUNDS rounds, interleaved across implementations, and keeps
// its best round, so that load from other processes affects all implementations alike.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const contexts = new Map();
const results = new Map();
for (const [name, implementation] of IMPLEMENTATIONS) {
  const context = await implementation.setup();
  const check = await implementation.open(context);
  if (!equal(new Uint8Array(check), MESSAGE)) {
    throw new Error(`${name}: open returned a different message`);
  }
  contexts.set(name, context);
  results.set(name, {});
}

for (let round = 0; round < ROUNDS; round++) {
  for (const [name, implementation] of IMPLEMENTATIONS) {
    if (implementation.backend !== undefined) {
      await ours.setX25519Backend(implementation.backend);
    }

    const rates = results.get(name);
    for (const operation of OPERATIONS) {
      if (implementation[operation] !== undefined) {
        if (process.env.BENCH_VERBOSE) {
          process.stderr.write(`${name}: ${operation}\n`);
        }
        const rate = await measure(() => implementation[operation](contexts.get(name)));
        rates[operation] = Math.max(rates[operation] ?? 0, rate);
      }
    }
  }
  process.stderr.write(`round ${round + 1} of ${ROUNDS} done\n`);
}

for (const rates of results.values()) {
  rates.roundTrip = 1 / (1 / rates.seal + 1 / rates.open);
}

// Batch sealing, per box, against one seal call at a time on the WebCrypto backend.
await ours.setX25519Backend('webcrypto');
const batchRecipient = await ours.generateKeyPair();
const batch = Array.from({ length: 16 }, () => MESSAGE);
let sealManyRate = 0;
for (let round = 0; round < ROUNDS; round++) {
  const rate = await measure(() => ours.sealMany(batch, batchRecipient.publicKey));
  sealManyRate = Math.max(sealManyRate, 16 * rate);
}
await ours.setX25519Backend('auto');

const format = (rate) => (rate === undefined ? '–' : Math.round(rate).toLocaleString('en-US'));
const cpuModel =
  readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.+)/)?.[1] ?? cpus()[0]?.model;

const lines = [
  `Node.js ${process.version}, ${cpuModel}, ${pinnedCpu === undefined ? `all ${cpus().length} CPUs` : `pinned to CPU ${pinnedCpu}`}, ${new Date().toISOString().slice(0, 10)}, ${MESSAGE.length}-byte plaintext, best of ${ROUNDS} rounds, operations per second (higher is better):`,
  '',
  '| implementation | seal | open | seal + open | open, no public key | keygen | createProvision | combine + verify |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];
for (const [name, rates] of results) {
  lines.push(
    `| ${name} | ${format(rates.seal)} | ${format(rates.open)} | ${format(rates.roundTrip)} | ${format(rates.openSecretKeyOnly)} | ${format(rates.keygen)} | ${format(rates.createProvision)} | ${format(rates.recover)} |`,
  );
}

const native = results.get('ours, WebCrypto X25519');
const pure = results.get('ours, noble X25519');
const provided = results.get('ours, node:crypto provider');
const tweetnaclRates = results.get('tweetnacl 1.0.3');
const nodeRates = results.get('node:crypto X25519 + noble cipher');
const targets = [
  ['seal + open, WebCrypto ÷ tweetnacl', native.roundTrip / tweetnaclRates.roundTrip, 8, '×'],
  ['seal + open, WebCrypto ÷ node:crypto', native.roundTrip / nodeRates.roundTrip, 0.5, '×'],
  ['seal + open, noble ÷ tweetnacl', pure.roundTrip / tweetnaclRates.roundTrip, 0.7, '×'],
  ['createProvision, WebCrypto, per second', native.createProvision, 3000, '/s'],
  [
    'seal + open, node:crypto provider ÷ tweetnacl',
    provided.roundTrip / tweetnaclRates.roundTrip,
    8,
    '×',
  ],
  [
    'seal + open, node:crypto provider ÷ node:crypto',
    provided.roundTrip / nodeRates.roundTrip,
    0.5,
    '×',
  ],
  ['createProvision, node:crypto provider, per second', provided.createProvision, 3000, '/s'],
];

lines.push(
  '',
  `sealMany, 16 plaintexts to one recipient, WebCrypto: ${format(sealManyRate)} boxes/s (seal one at a time: ${format(results.get('ours, WebCrypto X25519').seal)}/s).`,
);

lines.push('', '| target | measured | required | met |', '| --- | ---: | ---: | --- |');
for (const [label, value, required, unit] of targets) {
  const formatValue = (number) => (unit === '/s' ? format(number) : number.toFixed(2));
  lines.push(
    `| ${label} | ${formatValue(value)}${unit} | ${formatValue(required)}${unit} | ${value >= required ? 'yes' : 'no'} |`,
  );
}

console.log(lines.join('\n'));
