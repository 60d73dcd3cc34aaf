import { type Bytes, copyBytes, wipe } from './bytes.js';
import { CryptoError } from './errors.js';
import { checkRecipient, type ImportedPublicKey, prepareRecipient } from './imported-keys.js';
import { sealPrepared } from './seal.js';

// Boxes sealed at once. WebCrypto runs X25519 on a thread pool in Node.js, so concurrent
// calls overlap; a bound keeps memory flat for long lists.
const CONCURRENCY = 16;

function checkArray(value: unknown, name: string, itemName: string): unknown[] {
  if (!Array.isArray(value)) {
    throw new CryptoError('ERR_INVALID_TYPE', `${name}: expected an array of ${itemName}`);
  }

  return value;
}

/** Runs `task` for every index, at most CONCURRENCY at a time, keeping the order of results. */
async function mapConcurrently<T>(
  count: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = [];

  for (let start = 0; start < count; start += CONCURRENCY) {
    const end = Math.min(count, start + CONCURRENCY);
    const indexes = Array.from({ length: end - start }, (_, offset) => start + offset);
    results.push(...(await Promise.all(indexes.map(task))));
  }

  return results;
}

/**
 * Seals one plaintext to each of several recipients, as {@link seal} would one by one:
 * every box has its own ephemeral key, and box `i` opens with the secret key of
 * `publicKeys[i]`. All keys are checked before any box is sealed, and the boxes are sealed
 * concurrently.
 *
 * @param plaintext - any bytes, including empty; copied once, not modified.
 * @param publicKeys - an array (possibly empty) of 32-byte X25519 public keys, not modified,
 *   or {@link ImportedPublicKey}s from `importPublicKey`, in any mix.
 * @returns one sealed box per key, in the same order, each `plaintext.length + 48` bytes.
 * @throws CryptoError `ERR_INVALID_TYPE` or `ERR_INVALID_LENGTH` for a bad argument, naming
 *   `publicKeys[i]`; `ERR_LOW_ORDER_POINT` if a key is a low-order point;
 *   `ERR_WEBCRYPTO_FAILED` or `ERR_X25519_FAILED` if the X25519
 *   implementation fails unexpectedly.
 * @example
 * ```ts
 * import { sealToMany } from '@provisions/crypto';
 *
 * const [forAlice, forBob] = await sealToMany(boxSecretKey, [alicePublicKey, bobPublicKey]);
 * ```
 */
export async function sealToMany(
  plaintext: Uint8Array,
  publicKeys: (Uint8Array | ImportedPublicKey)[],
): Promise<Uint8Array<ArrayBuffer>[]> {
  const keys = checkArray(publicKeys, 'publicKeys', 'Uint8Array').map((key, index) =>
    checkRecipient(key, `publicKeys[${index}]`),
  );
  // The plaintext is copied last, so that no later check throws before its copy is wiped.
  const message = copyBytes(plaintext, 'plaintext');

  try {
    const recipients = await Promise.all(
      keys.map((key, index) => prepareRecipient(key, `publicKeys[${index}]`)),
    );
    return await mapConcurrently(recipients.length, (index) =>
      sealPrepared(
        message,
        recipients[index] as (typeof recipients)[number],
        `publicKeys[${index}]`,
      ),
    );
  } finally {
    wipe(message);
  }
}

/**
 * Seals several plaintexts to one recipient. The result equals calling {@link seal} once
 * per plaintext: each box has its own ephemeral key and opens alone with {@link open}.
 * The recipient key is checked and imported once, and the boxes are sealed concurrently.
 *
 * @param plaintexts - an array of byte arrays, any lengths (possibly empty); not modified.
 * @param publicKey - the recipient's 32-byte X25519 public key, not modified, or an
 *   {@link ImportedPublicKey} from `importPublicKey`.
 * @returns one sealed box per plaintext, in the same order, each 48 bytes longer.
 * @throws CryptoError `ERR_INVALID_TYPE` naming `plaintexts[i]`, or `ERR_INVALID_LENGTH`
 *   for a bad `publicKey`; `ERR_LOW_ORDER_POINT` if it is a low-order point;
 *   `ERR_WEBCRYPTO_FAILED` or `ERR_X25519_FAILED` if the X25519
 *   implementation fails unexpectedly.
 * @example
 * ```ts
 * import { sealMany } from '@provisions/crypto';
 *
 * const sealed = await sealMany([firstSecretKey, secondSecretKey], provisionPublicKey);
 * ```
 */
export async function sealMany(
  plaintexts: Uint8Array[],
  publicKey: Uint8Array | ImportedPublicKey,
): Promise<Uint8Array<ArrayBuffer>[]> {
  const checked = checkRecipient(publicKey, 'publicKey');
  const messages: Bytes[] = [];

  try {
    for (const [index, plaintext] of checkArray(plaintexts, 'plaintexts', 'Uint8Array').entries()) {
      messages.push(copyBytes(plaintext, `plaintexts[${index}]`));
    }

    const recipient = await prepareRecipient(checked, 'publicKey');
    return await mapConcurrently(messages.length, (index) =>
      sealPrepared(messages[index] as Bytes, recipient, 'publicKey'),
    );
  } finally {
    wipe(...messages);
  }
}
