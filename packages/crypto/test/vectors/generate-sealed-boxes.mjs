// Writes sealed-boxes.json: sealed boxes made by libsodium (libsodium-wrappers 0.8.4,
// crypto_box_seal) for a fixed recipient key pair, so that the tests check `open` against
// an independent implementation's output that never changes.
//
// Run once from packages/crypto:
//   node test/vectors/generate-sealed-boxes.mjs > test/vectors/sealed-boxes.json
// Every run gives different boxes, because crypto_box_seal draws a fresh ephemeral key.

import sodium from 'libsodium-wrappers';

await sodium.ready;

const LENGTHS = [0, 1, 15, 16, 17, 32, 64, 100, 1000];

// The recipient key pair comes from a fixed seed so that it is reproducible.
const seed = sodium.crypto_generichash(32, 'provisions sealed-box vectors', null);
const recipient = sodium.crypto_box_seed_keypair(seed);

const boxes = LENGTHS.map((length) => {
  const plaintext = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    plaintext[i] = (i * 7 + length) & 0xff;
  }

  return {
    plaintext: sodium.to_hex(plaintext),
    sealed: sodium.to_hex(sodium.crypto_box_seal(plaintext, recipient.publicKey)),
  };
});

const document = {
  source: 'libsodium-wrappers 0.8.4, crypto_box_seal; test/vectors/generate-sealed-boxes.mjs',
  recipientSecretKey: sodium.to_hex(recipient.privateKey),
  recipientPublicKey: sodium.to_hex(recipient.publicKey),
  boxes,
};

process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
