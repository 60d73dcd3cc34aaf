import { deriveBoxKey, ephemeralKeyOf, sealNonce, secretboxOpen, secretboxSeal } from './box.js';
import { assertUint8Array, type Bytes, copyBytes, copyBytesOfMinLength, wipe } from './bytes.js';
import { CryptoError } from './errors.js';
import {
  checkRecipient,
  type ImportedKeyPair,
  type ImportedPublicKey,
  preparedKeyPairOf,
  prepareRecipient,
} from './imported-keys.js';
import {
  copyKeyPair,
  ephemeralSharedSecret,
  type PreparedPublicKey,
  PUBLIC_KEY_LENGTH,
  preparedSharedSecret,
  x25519PublicKey,
  x25519SharedSecret,
} from './x25519.js';

/**
 * Bytes that {@link seal} adds to a plaintext: the 32-byte ephemeral public key and the
 * 16-byte Poly1305 tag.
 */
export const SEAL_OVERHEAD = 48;

const OPEN_FAILED_MESSAGE = 'open failed: wrong secret key, or the sealed box was modified';

/**
 * Seals an already copied message to a checked and imported recipient key. Shared with
 * the batch functions, which prepare a recipient once for many boxes.
 *
 * @internal
 */
export async function sealPrepared(
  message: Bytes,
  recipient: PreparedPublicKey,
  recipientName: string,
): Promise<Bytes> {
  const { ephemeralPublicKey, sharedSecret } = await ephemeralSharedSecret(
    recipient,
    recipientName,
  );
  const key = deriveBoxKey(sharedSecret);
  wipe(sharedSecret);

  const nonce = sealNonce(ephemeralPublicKey, recipient.bytes);
  return secretboxSeal(key, nonce, message, ephemeralPublicKey);
}

/**
 * Encrypts a message to a recipient's X25519 public key as an anonymous sealed box,
 * byte-compatible with libsodium `crypto_box_seal`.
 *
 * A fresh ephemeral key pair is generated for every call. Its secret key never leaves
 * WebCrypto, or is wiped after use on the noble backend, so the sender cannot open the box
 * either. The shared secret and the box key are wiped after use.
 *
 * @param plaintext - any bytes, including empty; not modified.
 * @param recipientPublicKey - 32-byte X25519 public key, not modified, or an
 *   {@link ImportedPublicKey} from `importPublicKey`, which skips the check and import of
 *   the key in every call and seals on the implementation it was imported with.
 * @returns `ephemeral_pk (32) ‖ tag (16) ‖ ciphertext`, `plaintext.length + SEAL_OVERHEAD`
 *   (48) bytes.
 * @throws CryptoError `ERR_INVALID_TYPE` or `ERR_INVALID_LENGTH` for a bad argument;
 *   `ERR_LOW_ORDER_POINT` if `recipientPublicKey` is a low-order point, for which every
 *   shared secret is zero and the box would be readable by anyone; `ERR_WEBCRYPTO_FAILED`
 *   or `ERR_X25519_FAILED` if the X25519 implementation fails unexpectedly.
 * @example
 * ```ts
 * import { importPublicKey, open, seal } from '@provisions/crypto';
 *
 * const sealed = await seal(new TextEncoder().encode('hello'), recipientPublicKey);
 * const opened = await open(sealed, recipientSecretKey);
 *
 * const to = await importPublicKey(recipientPublicKey); // once, for many boxes
 * const again = await seal(new TextEncoder().encode('hello again'), to);
 * ```
 */
export async function seal(
  plaintext: Uint8Array,
  recipientPublicKey: Uint8Array | ImportedPublicKey,
): Promise<Uint8Array<ArrayBuffer>> {
  // The plaintext is copied last, so that no later check throws before its copy is wiped.
  const checked = checkRecipient(recipientPublicKey, 'recipientPublicKey');
  const message = copyBytes(plaintext, 'plaintext');

  try {
    const recipient = await prepareRecipient(checked, 'recipientPublicKey');
    return await sealPrepared(message, recipient, 'recipientPublicKey');
  } finally {
    wipe(message);
  }
}

/**
 * Decrypts a sealed box made by {@link seal} or by libsodium `crypto_box_seal`.
 *
 * Every failure that concerns the box contents (a wrong key, any modified byte, a low-order
 * ephemeral key) rejects with the same code and message, so that the error reveals to an
 * attacker nothing about which check failed. A 48-byte box opens as an empty plaintext
 * only if its tag is authentic.
 *
 * @param sealed - `ephemeral_pk (32) ‖ tag (16) ‖ ciphertext`, at least 48 bytes; not
 *   modified.
 * @param recipientSecretKey - the recipient's 32-byte X25519 secret key; not modified.
 * @param recipientPublicKey - optional 32-byte public key of `recipientSecretKey`, as
 *   libsodium's `crypto_box_seal_open` takes it. It saves one scalar multiplication, about
 *   a third of the time of `open`. A key that does not belong to the secret key fails with
 *   `ERR_OPEN_FAILED`, because it changes the nonce.
 * @returns the plaintext, `sealed.length - 48` bytes.
 * @throws CryptoError `ERR_INVALID_TYPE` for a non-Uint8Array argument; `ERR_INVALID_LENGTH`
 *   if `sealed` is shorter than 48 bytes or a key is not 32 bytes; `ERR_OPEN_FAILED` for
 *   anything wrong with the box itself; `ERR_WEBCRYPTO_FAILED` or `ERR_X25519_FAILED` if
 *   the X25519 implementation fails unexpectedly.
 * @example
 * ```ts
 * import { open } from '@provisions/crypto';
 *
 * const plaintext = await open(sealed, recipientSecretKey);
 * const same = await open(sealed, recipientSecretKey, recipientPublicKey); // faster
 * ```
 */
export function open(
  sealed: Uint8Array,
  recipientSecretKey: Uint8Array,
  recipientPublicKey?: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>>;

/**
 * Decrypts a sealed box with a key pair that `importKeyPair` imported once, for opening
 * many boxes. The result and the errors about the box are those of the other form of
 * `open`: every failure that concerns the box contents rejects with `ERR_OPEN_FAILED` and
 * one message. The box is opened on the X25519 implementation that the key pair was
 * imported with.
 *
 * @param sealed - `ephemeral_pk (32) ‖ tag (16) ‖ ciphertext`, at least 48 bytes; not
 *   modified.
 * @param recipient - an {@link ImportedKeyPair} that has not been destroyed. It contains
 *   the public key, so no third argument is allowed.
 * @returns the plaintext, `sealed.length - 48` bytes.
 * @throws CryptoError `ERR_INVALID_TYPE` or `ERR_INVALID_LENGTH` for a bad `sealed`, or
 *   `ERR_INVALID_TYPE` naming `recipientPublicKey` when a third argument is given;
 *   `ERR_KEY_DESTROYED` after `recipient.destroy()`; `ERR_OPEN_FAILED` for anything wrong
 *   with the box itself; `ERR_WEBCRYPTO_FAILED` or `ERR_X25519_FAILED` if the X25519
 *   implementation fails unexpectedly.
 * @example
 * ```ts
 * import { importKeyPair, open } from '@provisions/crypto';
 *
 * const recipient = await importKeyPair({ secretKey, publicKey });
 * const plaintexts = await Promise.all(sealedBoxes.map((sealed) => open(sealed, recipient)));
 * recipient.destroy();
 * ```
 */
export function open(
  sealed: Uint8Array,
  recipient: ImportedKeyPair,
): Promise<Uint8Array<ArrayBuffer>>;

export async function open(
  sealed: Uint8Array,
  recipient: Uint8Array | ImportedKeyPair,
  recipientPublicKey?: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  const box = copyBytesOfMinLength(sealed, 'sealed', SEAL_OVERHEAD);
  // Read before the first await, so that a destroy() after this call started does not
  // affect it.
  const pair = preparedKeyPairOf(recipient, 'recipient');
  if (pair !== undefined) {
    if (recipientPublicKey !== undefined) {
      throw new CryptoError(
        'ERR_INVALID_TYPE',
        'recipientPublicKey: must be omitted when the recipient is an ImportedKeyPair, which contains its public key',
      );
    }
    return openBox(box, pair.publicKey, (ephemeralPublicKey) =>
      preparedSharedSecret(pair, ephemeralPublicKey, 'sealed'),
    );
  }

  assertUint8Array(recipient, 'recipientSecretKey', 'an ImportedKeyPair from importKeyPair');
  const { secretKey, publicKey: knownPublicKey } = copyKeyPair(
    recipient,
    'recipientSecretKey',
    recipientPublicKey,
    'recipientPublicKey',
  );

  try {
    const publicKey = knownPublicKey ?? (await x25519PublicKey(secretKey));
    return await openBox(box, publicKey, (ephemeralPublicKey) =>
      x25519SharedSecret(secretKey, ephemeralPublicKey, 'sealed', publicKey),
    );
  } finally {
    wipe(secretKey);
  }
}

/**
 * Opens `box` for the recipient `recipientPublicKey`, with `sharedSecretWith` computing the
 * X25519 shared secret of the recipient's secret key and the box's ephemeral public key.
 */
async function openBox(
  box: Bytes,
  recipientPublicKey: Bytes,
  sharedSecretWith: (ephemeralPublicKey: Bytes) => Promise<Bytes>,
): Promise<Bytes> {
  const ephemeralPublicKey = ephemeralKeyOf(box);

  // The failures that the box contents can cause, a low-order ephemeral key
  // (ERR_LOW_ORDER_POINT) and a wrong Poly1305 tag (noble throws), become the one uniform
  // error, without a cause, so nothing distinguishes them. Only a failure of the X25519
  // implementation itself (the platform's WebCrypto or the application's provider) passes
  // through unchanged.
  try {
    const shared = await sharedSecretWith(ephemeralPublicKey);
    const key = deriveBoxKey(shared);
    wipe(shared);

    const nonce = sealNonce(ephemeralPublicKey, recipientPublicKey);
    return secretboxOpen(key, nonce, box.subarray(PUBLIC_KEY_LENGTH));
  } catch (error) {
    if (
      error instanceof CryptoError &&
      (error.code === 'ERR_WEBCRYPTO_FAILED' || error.code === 'ERR_X25519_FAILED')
    ) {
      throw error;
    }
    throw new CryptoError('ERR_OPEN_FAILED', OPEN_FAILED_MESSAGE);
  }
}
