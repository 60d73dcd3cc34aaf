import { type Bytes, copyBytesOfLength, describeType, wipe } from './bytes.js';
import { CryptoError } from './errors.js';
import {
  copyKeyPair,
  type PreparedKeyPair,
  type PreparedPublicKey,
  PUBLIC_KEY_LENGTH,
  prepareKeyPair,
  preparePublicKey,
} from './x25519.js';

// Set by the static blocks of the classes below, the only code that can call their private
// constructors and read their private fields. The package exports the classes as types
// only, so these functions stay inside it.
let newImportedPublicKey: (prepared: PreparedPublicKey) => ImportedPublicKey;
let readPreparedPublicKey: (value: unknown) => PreparedPublicKey | undefined;
let newImportedKeyPair: (prepared: PreparedKeyPair) => ImportedKeyPair;
let readPreparedKeyPair: (value: unknown, name: string) => PreparedKeyPair | undefined;

/**
 * An X25519 public key that {@link importPublicKey} checked and imported once, for sealing
 * many boxes to it. `seal`, `sealMany` and `sealToMany` accept it in place of the 32
 * bytes and then skip the per-call low-order check and, on the WebCrypto backend, the
 * per-call `importKey`. The object is frozen and opaque: `publicKey` returns a copy of the
 * key, and nothing else is readable.
 *
 * It keeps the X25519 implementation that was in use when it was imported: a later
 * `setX25519Backend` call does not change the implementation that seals to it.
 */
export class ImportedPublicKey {
  readonly #prepared: PreparedPublicKey;

  static {
    newImportedPublicKey = (prepared) => new ImportedPublicKey(prepared);
    readPreparedPublicKey = (value) =>
      typeof value === 'object' && value !== null && #prepared in value
        ? value.#prepared
        : undefined;
  }

  private constructor(prepared: PreparedPublicKey) {
    this.#prepared = prepared;
    Object.freeze(this);
  }

  /** A new copy of the 32-byte public key on every read. */
  get publicKey(): Uint8Array<ArrayBuffer> {
    return new Uint8Array(this.#prepared.bytes);
  }
}

/**
 * An X25519 key pair that {@link importKeyPair} checked and imported once, for opening many
 * boxes with it. `open` accepts it in place of the secret key and then skips the per-call
 * import of the secret key. The object is frozen and opaque: `publicKey` returns a copy of
 * the public key, and the secret key cannot be read back.
 *
 * What it contains depends on the X25519 implementation that was in use when it was
 * imported, which it keeps for its lifetime: a later `setX25519Backend` call does not
 * change it. On the WebCrypto backend it contains a non-extractable `CryptoKey` and the
 * package keeps no copy of the secret bytes. On the noble backend or an application's
 * provider it keeps a copy of the 32-byte secret key, which {@link ImportedKeyPair.destroy}
 * wipes.
 */
export class ImportedKeyPair {
  #prepared: PreparedKeyPair | undefined;
  readonly #publicKey: Bytes;

  static {
    newImportedKeyPair = (prepared) => new ImportedKeyPair(prepared);
    readPreparedKeyPair = (value, name) => {
      if (typeof value !== 'object' || value === null || !(#publicKey in value)) {
        return undefined;
      }
      if (value.#prepared === undefined) {
        throw new CryptoError(
          'ERR_KEY_DESTROYED',
          `${name}: the ImportedKeyPair was destroyed, so import the key pair again with importKeyPair`,
        );
      }
      return value.#prepared;
    };
  }

  private constructor(prepared: PreparedKeyPair) {
    this.#prepared = prepared;
    this.#publicKey = prepared.publicKey;
    Object.freeze(this);
  }

  /** A new copy of the 32-byte public key on every read, also after `destroy()`. */
  get publicKey(): Uint8Array<ArrayBuffer> {
    return new Uint8Array(this.#publicKey);
  }

  /**
   * Releases the secret key. On the noble backend and on an application's provider, this
   * overwrites the object's copy of the secret key with zeros. On the WebCrypto backend,
   * it drops the object's reference to the non-extractable `CryptoKey`, which the garbage
   * collector frees later, with the platform's copy of the key. After this, `open` with
   * the object rejects with `ERR_KEY_DESTROYED`. An `open` call that had already started
   * still completes. A second call does nothing.
   *
   * @example
   * ```ts
   * import { generateKeyPair, importKeyPair } from '@provisions/crypto';
   *
   * const recipient = await importKeyPair(await generateKeyPair());
   * try {
   *   // open boxes with `recipient`
   * } finally {
   *   recipient.destroy();
   * }
   * ```
   */
  destroy(): void {
    const prepared = this.#prepared;
    this.#prepared = undefined;
    if (prepared?.secretKey !== undefined) {
      wipe(prepared.secretKey);
    }
  }
}

// Frozen, so that no code can replace `destroy` or the `publicKey` getters.
Object.freeze(ImportedPublicKey.prototype);
Object.freeze(ImportedPublicKey);
Object.freeze(ImportedKeyPair.prototype);
Object.freeze(ImportedKeyPair);

/**
 * Checks an X25519 public key and imports it once, for sealing many boxes to it with
 * {@link ImportedPublicKey}. The check rejects low-order keys, as `seal` does. On the
 * WebCrypto backend the key is imported with `importKey` here, instead of once per
 * `seal` call.
 *
 * @param publicKey - the recipient's 32-byte X25519 public key; copied, not modified.
 * @returns a frozen, opaque {@link ImportedPublicKey}.
 * @throws CryptoError `ERR_INVALID_TYPE` or `ERR_INVALID_LENGTH` naming `publicKey`;
 *   `ERR_LOW_ORDER_POINT` if it is a low-order point; `ERR_WEBCRYPTO_FAILED` if the X25519
 *   implementation fails unexpectedly.
 * @example
 * ```ts
 * import { generateKeyPair, importPublicKey, sealMany, seal } from '@provisions/crypto';
 *
 * const provision = await generateKeyPair();
 * const to = await importPublicKey(provision.publicKey);
 * const first = await seal(new TextEncoder().encode('first'), to);
 * const more = await sealMany([new Uint8Array(32), new Uint8Array(32)], to);
 * ```
 */
export async function importPublicKey(publicKey: Uint8Array): Promise<ImportedPublicKey> {
  const bytes = copyBytesOfLength(publicKey, 'publicKey', PUBLIC_KEY_LENGTH);
  return newImportedPublicKey(await preparePublicKey(bytes, 'publicKey'));
}

/**
 * Checks an X25519 key pair and imports it once, for opening many boxes with it as an
 * {@link ImportedKeyPair}. On the WebCrypto backend the secret key is imported here as a
 * non-extractable `CryptoKey`, instead of once per `open` call. On the other backends the
 * object keeps a copy of the secret key until {@link ImportedKeyPair.destroy}.
 *
 * The public key is computed from the secret key once (noble's fixed-base multiplication
 * on the WebCrypto and noble backends, the provider's `getPublicKey` on a custom one), and
 * compared with `keyPair.publicKey` when that is given.
 *
 * @param keyPair - `{ secretKey, publicKey }`, such as the result of `generateKeyPair`:
 *   the 32-byte secret key and, optionally, its 32-byte public key. Neither is modified,
 *   and the caller may wipe the secret key once this function has returned.
 * @returns a frozen, opaque {@link ImportedKeyPair}.
 * @throws CryptoError `ERR_INVALID_TYPE` if `keyPair` is not an object or its properties
 *   cannot be read, or
 *   `ERR_INVALID_TYPE` or `ERR_INVALID_LENGTH` naming `keyPair.secretKey` or
 *   `keyPair.publicKey`; `ERR_LOW_ORDER_POINT` if `keyPair.publicKey` is a low-order point;
 *   `ERR_KEY_MISMATCH` if it is not the public key of `keyPair.secretKey`;
 *   `ERR_WEBCRYPTO_FAILED` or `ERR_X25519_FAILED` if the X25519 implementation fails
 *   unexpectedly.
 * @example
 * ```ts
 * import { generateKeyPair, importKeyPair, open, seal } from '@provisions/crypto';
 *
 * const keyPair = await generateKeyPair();
 * const sealed = await seal(new TextEncoder().encode('hello'), keyPair.publicKey);
 *
 * const recipient = await importKeyPair(keyPair);
 * const plaintext = await open(sealed, recipient);
 * recipient.destroy();
 * ```
 */
export async function importKeyPair(keyPair: {
  readonly secretKey: Uint8Array;
  readonly publicKey?: Uint8Array | undefined;
}): Promise<ImportedKeyPair> {
  if (Object.prototype.toString.call(keyPair) !== '[object Object]') {
    throw new CryptoError(
      'ERR_INVALID_TYPE',
      `keyPair: expected an object { secretKey, publicKey }, received ${describeType(keyPair)}`,
    );
  }

  let fields: { secretKey: unknown; publicKey: unknown };
  try {
    fields = { secretKey: keyPair.secretKey, publicKey: keyPair.publicKey };
  } catch (error) {
    throw new CryptoError(
      'ERR_INVALID_TYPE',
      'keyPair: reading its secretKey or publicKey property failed; expected plain properties',
      { cause: error },
    );
  }

  const { secretKey, publicKey } = copyKeyPair(
    fields.secretKey,
    'keyPair.secretKey',
    fields.publicKey,
    'keyPair.publicKey',
  );

  try {
    return newImportedKeyPair(await prepareKeyPair(secretKey, publicKey, 'keyPair.publicKey'));
  } finally {
    wipe(secretKey);
  }
}

/**
 * Checks a recipient argument of the seal functions before anything is sealed: returns the
 * prepared key of an {@link ImportedPublicKey}, or a copy of a 32-byte public key that
 * {@link prepareRecipient} prepares later.
 *
 * @throws CryptoError `ERR_INVALID_TYPE` or `ERR_INVALID_LENGTH` naming `name`.
 * @internal
 */
export function checkRecipient(value: unknown, name: string): PreparedPublicKey | Bytes {
  const prepared = readPreparedPublicKey(value);
  if (prepared !== undefined) {
    return prepared;
  }

  return copyBytesOfLength(
    value,
    name,
    PUBLIC_KEY_LENGTH,
    'an ImportedPublicKey from importPublicKey',
  );
}

/**
 * Prepares a recipient that {@link checkRecipient} returned, unless it is prepared already.
 *
 * @throws CryptoError `ERR_LOW_ORDER_POINT` naming `name`; `ERR_WEBCRYPTO_FAILED`.
 * @internal
 */
export async function prepareRecipient(
  recipient: PreparedPublicKey | Bytes,
  name: string,
): Promise<PreparedPublicKey> {
  return recipient instanceof Uint8Array ? preparePublicKey(recipient, name) : recipient;
}

/**
 * Returns the prepared pair of an {@link ImportedKeyPair}, or `undefined` for any other
 * value.
 *
 * @throws CryptoError `ERR_KEY_DESTROYED` naming `name` for a destroyed key pair.
 * @internal
 */
export function preparedKeyPairOf(value: unknown, name: string): PreparedKeyPair | undefined {
  return readPreparedKeyPair(value, name);
}
