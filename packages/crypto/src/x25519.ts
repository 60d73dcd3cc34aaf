import { x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import { hexToBytes, randomBytes } from '@noble/hashes/utils.js';

import { decodeBase64Url, encodeBase64Url } from './base64url.js';
import {
  type Bytes,
  copyBytesOfLength,
  describeType,
  equalBytes,
  formatByteCount,
  isAllZero,
  wipe,
} from './bytes.js';
import { CryptoError } from './errors.js';

/** Length in bytes of an X25519 public key (43 base64url characters). */
export const PUBLIC_KEY_LENGTH = 32;

/** Length in bytes of an X25519 secret key (43 base64url characters). */
export const SECRET_KEY_LENGTH = 32;

/**
 * An X25519 implementation: the platform's WebCrypto, `@noble/curves`, or an
 * {@link X25519Provider} that the application supplied.
 */
export type X25519Backend = 'webcrypto' | 'noble' | 'custom';

/**
 * An X25519 implementation that an application supplies with {@link setX25519Backend}, for a
 * platform whose own X25519 is faster than the WebCrypto one, such as the synchronous
 * `diffieHellman` of `node:crypto` in Node.js (this package cannot import it and stay
 * usable in browsers). Both functions follow RFC 7748: they clamp the secret key
 * themselves, accept any 32-byte u-coordinate and return 32 bytes, synchronously or as a
 * promise. The package checks known answers before it accepts a provider, checks the length
 * of every result, rejects low-order public keys before calling `getSharedSecret` and treats
 * an all-zero shared secret as a failure of the provider. It wipes the arrays it passes in
 * after each call, so a provider should keep no copy of them. Each install check waits at
 * most 10 seconds. Operations have no time limit: a provider whose promise never settles
 * after the install stalls the operations that use it.
 *
 * @example
 * ```ts
 * import sodium from 'libsodium-wrappers';
 * import { setX25519Backend } from '@provisions/crypto';
 *
 * await sodium.ready;
 * await setX25519Backend({
 *   getPublicKey: (secretKey) => sodium.crypto_scalarmult_base(secretKey),
 *   getSharedSecret: (secretKey, publicKey) => sodium.crypto_scalarmult(secretKey, publicKey),
 * }); // 'custom'
 * ```
 */
export interface X25519Provider {
  /** Returns X25519(secretKey, 9): the public key of a 32-byte secret key. */
  getPublicKey(secretKey: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** Returns X25519(secretKey, publicKey): the raw 32-byte shared secret. */
  getSharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** An X25519 key pair, as returned by {@link generateKeyPair}. */
export interface KeyPair {
  /** 32 random bytes, stored unclamped as libsodium does; X25519 clamps on use. */
  readonly secretKey: Uint8Array<ArrayBuffer>;
  /** 32 bytes: the u-coordinate of secretKey times the base point. */
  readonly publicKey: Uint8Array<ArrayBuffer>;
}

const SHARED_SECRET_BITS = 256;

const X25519_ALGORITHM = { name: 'X25519' } as const;

// Every u-coordinate whose product with any clamped scalar is the all-zero point, after bit
// 255 is cleared (RFC 7748 §5 ignores it): 0, 1, the two points of order 8, p - 1, and
// p and p + 1, which are non-canonical encodings of 0 and 1 (p = 2^255 - 19).
const LOW_ORDER_POINTS = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((hex) => hexToBytes(hex));

// RFC 7748 §6.1: Alice's key pair, Bob's public key and their shared secret. Detection
// runs this vector so that a platform with a broken X25519 is never used.
const PROBE_SECRET_KEY = hexToBytes(
  '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
);
const PROBE_OWN_PUBLIC_KEY = hexToBytes(
  '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
);
const PROBE_PUBLIC_KEY = hexToBytes(
  'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
);
const PROBE_SHARED_SECRET = hexToBytes(
  '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
);

// RFC 7748 §5.2, second vector: u has bit 255 set, which X25519 must ignore.
const HIGH_BIT_SCALAR = hexToBytes(
  '4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d',
);
const HIGH_BIT_U = hexToBytes('e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493');
const HIGH_BIT_OUTPUT = hexToBytes(
  '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957',
);

const NOBLE_PROVIDER: X25519Provider = {
  getPublicKey: (secretKey) => nobleX25519.getPublicKey(secretKey),
  getSharedSecret: (secretKey, publicKey) => nobleX25519.getSharedSecret(secretKey, publicKey),
};

let forcedBackend: X25519Backend | undefined;
let detectedBackend: Promise<X25519Backend> | undefined;
let customProvider: X25519Provider | undefined;
// The latest call of setX25519Backend, which the next call waits for.
let settingBackend: Promise<unknown> = Promise.resolve();

function getSubtle(): SubtleCrypto | undefined {
  // `crypto.subtle` is undefined in browser pages that are not a secure context.
  return globalThis.crypto?.subtle;
}

/**
 * Imports a secret key for deriveBits as a JWK. JWK import needs the public key as well,
 * and it is about ten times faster than PKCS #8 import in Node.js 20 (0.15 ms against
 * 1.6 ms, measured on a 2.8 GHz Xeon), whose OpenSSL 3 decoder dominates the cost.
 *
 * NOTE: the JWK carries the secret key as a base64url string, which cannot be wiped.
 */
function importSecretKey(subtle: SubtleCrypto, secretKey: Bytes, publicKey: Bytes) {
  const jwk: JsonWebKey = {
    kty: 'OKP',
    crv: 'X25519',
    d: encodeBase64Url(secretKey),
    x: encodeBase64Url(publicKey),
  };
  return subtle.importKey('jwk', jwk, X25519_ALGORITHM, false, ['deriveBits']);
}

function importRawPublicKey(subtle: SubtleCrypto, publicKey: Bytes): Promise<CryptoKey> {
  return subtle.importKey('raw', publicKey, X25519_ALGORITHM, true, []);
}

async function deriveSharedSecret(
  subtle: SubtleCrypto,
  privateKey: CryptoKey,
  publicKey: CryptoKey,
): Promise<Bytes> {
  const bits = await subtle.deriveBits(
    { name: 'X25519', public: publicKey },
    privateKey,
    SHARED_SECRET_BITS,
  );
  return new Uint8Array(bits);
}

async function detectBackend(): Promise<X25519Backend> {
  const subtle = getSubtle();
  if (subtle === undefined) {
    return 'noble';
  }

  // Any failure here (no X25519 in this WebCrypto, a rejected key format) only means that
  // the platform cannot be used, so it selects the fallback instead of propagating. Key
  // generation is tried as well because seal() uses it.
  try {
    const [privateKey, publicKey] = await Promise.all([
      importSecretKey(subtle, PROBE_SECRET_KEY, PROBE_OWN_PUBLIC_KEY),
      importRawPublicKey(subtle, PROBE_PUBLIC_KEY),
    ]);
    const result = await deriveSharedSecret(subtle, privateKey, publicKey);
    const generated = await webcryptoGenerateKeyPair(subtle);
    const usable =
      equalBytes(result, PROBE_SHARED_SECRET) &&
      equalBytes(generated.publicKey, nobleX25519.getPublicKey(generated.secretKey));
    wipe(generated.secretKey);
    return usable ? 'webcrypto' : 'noble';
  } catch {
    return 'noble';
  }
}

/**
 * Returns the X25519 implementation in use. Unless {@link setX25519Backend} forced one,
 * the first call checks once whether the platform's WebCrypto computes X25519 correctly
 * (RFC 7748 §6.1 vector) and picks `'webcrypto'` if so, `'noble'` otherwise.
 *
 * @returns `'webcrypto'`, `'noble'`, or `'custom'` while an application's
 *   {@link X25519Provider} is installed.
 * @example
 * ```ts
 * import { getX25519Backend } from '@provisions/crypto';
 *
 * console.log(await getX25519Backend()); // 'webcrypto' on Node.js 20 and current browsers
 * ```
 */
export async function getX25519Backend(): Promise<X25519Backend> {
  if (forcedBackend !== undefined) {
    return forcedBackend;
  }

  detectedBackend ??= detectBackend();
  return detectedBackend;
}

/**
 * Forces the X25519 implementation for all later calls, or with `'auto'` restores the
 * automatic choice. A name forces a built-in implementation, for tests and diagnostics:
 * both give identical bytes, and the automatic choice is the right one among them. An
 * {@link X25519Provider} object installs the application's own implementation once it
 * passes known-answer checks (RFC 7748 §6.1 and §5.2 vectors, and the public key of a random
 * secret key against noble's); {@link getX25519Backend} then reports `'custom'`. Calls take
 * effect in the order they are made, so the last one decides.
 *
 * @param backend - `'webcrypto'`, `'noble'`, `'auto'` or an {@link X25519Provider}.
 * @returns the implementation now in use.
 * @throws CryptoError `ERR_WEBCRYPTO_FAILED` if `'webcrypto'` is requested on a platform
 *   whose WebCrypto lacks a working X25519. `ERR_X25519_FAILED` naming the check that a
 *   provider failed or that timed out after 10 seconds, and the previous choice then
 *   stays. `ERR_INVALID_OPTION` for an
 *   object without both functions, or any other value.
 * @example
 * ```ts
 * import { setX25519Backend } from '@provisions/crypto';
 *
 * await setX25519Backend('noble'); // pure JavaScript from now on
 * await setX25519Backend('auto');
 * ```
 */
export function setX25519Backend(
  backend: Exclude<X25519Backend, 'custom'> | 'auto' | X25519Provider,
): Promise<X25519Backend> {
  // Checking a provider or WebCrypto is asynchronous: calls take effect one after another,
  // in the order they were made, so the last call decides.
  const result = settingBackend.then(() => applyBackend(backend));
  settingBackend = result.catch(() => undefined);
  return result;
}

async function applyBackend(backend: unknown): Promise<X25519Backend> {
  if (typeof backend === 'object' && backend !== null) {
    const provider = asProvider(backend);
    await checkProvider(provider);
    customProvider = provider;
    forcedBackend = 'custom';
    return forcedBackend;
  }

  if (backend === 'auto' || backend === 'noble') {
    forcedBackend = backend === 'noble' ? 'noble' : undefined;
    customProvider = undefined;
    return getX25519Backend();
  }

  if (backend !== 'webcrypto') {
    throw new CryptoError(
      'ERR_INVALID_OPTION',
      `backend: expected 'webcrypto', 'noble', 'auto' or an X25519Provider object, received ${typeof backend === 'string' ? `'${backend}'` : describeType(backend)}`,
    );
  }

  detectedBackend ??= detectBackend();
  if ((await detectedBackend) !== 'webcrypto') {
    throw new CryptoError(
      'ERR_WEBCRYPTO_FAILED',
      'backend: WebCrypto X25519 is not available or not correct on this platform',
    );
  }

  forcedBackend = 'webcrypto';
  customProvider = undefined;
  return forcedBackend;
}

/** Returns `value` as a provider, or names the functions it lacks. */
function asProvider(value: object): X25519Provider {
  const candidate = value as Partial<X25519Provider>;
  const missing = (['getPublicKey', 'getSharedSecret'] as const).filter(
    (name) => typeof candidate[name] !== 'function',
  );
  if (missing.length > 0) {
    throw new CryptoError(
      'ERR_INVALID_OPTION',
      `backend: an X25519Provider needs the functions getPublicKey and getSharedSecret, and this object lacks ${missing.join(' and ')}`,
    );
  }

  return candidate as X25519Provider;
}

/**
 * Time limit of each install check of a provider. Without it, a provider whose promise
 * never settles would hold back every later `setX25519Backend` call.
 */
const PROVIDER_CHECK_TIME_LIMIT_MS = 10_000;

// The rejection reason of an install check that waited too long.
const CHECK_TIMED_OUT = Symbol('check timed out');

function withCheckTimeLimit<T>(promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(CHECK_TIMED_OUT), PROVIDER_CHECK_TIME_LIMIT_MS);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * Checks a provider against known answers before it is used: the RFC 7748 §6.1 public key
 * and shared secret, the second §5.2 vector (whose u has bit 255 set, which X25519
 * ignores), and the public key of a random secret key against noble's.
 *
 * @throws CryptoError `ERR_X25519_FAILED` naming the first check that failed or timed out.
 */
async function checkProvider(provider: X25519Provider): Promise<void> {
  const randomSecretKey = new Uint8Array(randomBytes(SECRET_KEY_LENGTH));
  const checks: [string, () => Promise<Bytes>, Uint8Array][] = [
    [
      'the RFC 7748 §6.1 public key',
      () => callProvider(provider, PROBE_SECRET_KEY),
      PROBE_OWN_PUBLIC_KEY,
    ],
    [
      'the RFC 7748 §6.1 shared secret',
      () => callProvider(provider, PROBE_SECRET_KEY, PROBE_PUBLIC_KEY),
      PROBE_SHARED_SECRET,
    ],
    [
      'the RFC 7748 §5.2 vector whose u has bit 255 set',
      () => callProvider(provider, HIGH_BIT_SCALAR, HIGH_BIT_U),
      HIGH_BIT_OUTPUT,
    ],
    [
      'the public key of a random secret key',
      () => callProvider(provider, randomSecretKey),
      nobleX25519.getPublicKey(randomSecretKey),
    ],
  ];

  try {
    for (const [name, compute, expected] of checks) {
      let actual: Bytes;
      try {
        actual = await withCheckTimeLimit(compute());
      } catch (error) {
        if (error === CHECK_TIMED_OUT) {
          throw new CryptoError(
            'ERR_X25519_FAILED',
            `backend: the X25519 provider timed out after ${PROVIDER_CHECK_TIME_LIMIT_MS / 1000} s on ${name}`,
          );
        }
        const reason = error instanceof CryptoError ? error.message : String(error);
        throw new CryptoError(
          'ERR_X25519_FAILED',
          `backend: the X25519 provider failed on ${name}: ${reason}`,
          { cause: error instanceof CryptoError ? error.cause : error },
        );
      }

      if (!equalBytes(actual, expected)) {
        throw new CryptoError(
          'ERR_X25519_FAILED',
          `backend: the X25519 provider computed a wrong result for ${name}`,
        );
      }
    }
  } finally {
    wipe(randomSecretKey);
  }
}

/**
 * Runs one X25519 operation of a provider: `getPublicKey` without `publicKey`,
 * `getSharedSecret` with it. The provider gets copies of the inputs, wiped after the
 * call, and its result is copied into a new plain array (and a shared secret wiped where
 * the provider returned it), so the caller owns and wipes what it receives.
 *
 * @throws CryptoError `ERR_X25519_FAILED` when the call throws or returns anything but 32 bytes.
 */
async function callProvider(
  provider: X25519Provider,
  secretKey: Bytes,
  publicKey?: Bytes,
): Promise<Bytes> {
  const secretCopy = new Uint8Array(secretKey);
  let result: unknown;
  try {
    result = await (publicKey === undefined
      ? provider.getPublicKey(secretCopy)
      : provider.getSharedSecret(secretCopy, new Uint8Array(publicKey)));
  } catch (error) {
    throw new CryptoError('ERR_X25519_FAILED', 'X25519: the provider failed', { cause: error });
  } finally {
    wipe(secretCopy);
  }

  if (!(result instanceof Uint8Array) || result.length !== PUBLIC_KEY_LENGTH) {
    const received =
      result instanceof Uint8Array ? formatByteCount(result.length) : describeType(result);
    throw new CryptoError(
      'ERR_X25519_FAILED',
      `X25519: the provider returned ${received}, expected a 32-byte Uint8Array`,
    );
  }

  const copy = new Uint8Array(result);
  if (publicKey === undefined) {
    return copy;
  }

  wipe(result);
  // The caller rejected the low-order points, and X25519 of any other point is not zero.
  if (isAllZero(copy)) {
    throw new CryptoError(
      'ERR_X25519_FAILED',
      'X25519: the provider returned an all-zero shared secret for a public key that is not of low order',
    );
  }
  return copy;
}

function webcryptoFailure(error: unknown): CryptoError {
  return new CryptoError('ERR_WEBCRYPTO_FAILED', 'X25519: the WebCrypto operation failed', {
    cause: error,
  });
}

/**
 * An X25519 implementation: the platform's SubtleCrypto on the WebCrypto backend, otherwise
 * a provider (noble's or the application's).
 */
type Implementation =
  | { subtle: SubtleCrypto; provider?: undefined }
  | { subtle?: undefined; provider: X25519Provider };

/** Returns the implementation in use. */
async function activeImplementation(): Promise<Implementation> {
  const backend = await getX25519Backend();
  const subtle = backend === 'webcrypto' ? getSubtle() : undefined;
  if (subtle !== undefined) {
    return { subtle };
  }

  return { provider: (backend === 'custom' ? customProvider : undefined) ?? NOBLE_PROVIDER };
}

/**
 * Returns whether `publicKey` (32 bytes) is one of the low-order points, bit 255 ignored.
 *
 * @internal
 */
export function isLowOrderPoint(publicKey: Uint8Array): boolean {
  const masked = new Uint8Array(publicKey);
  masked[31] = (masked[31] as number) & 0x7f;

  let found = false;
  for (const point of LOW_ORDER_POINTS) {
    found = equalBytes(point, masked) || found;
  }

  return found;
}

/**
 * Returns whether an X25519 public key is of low order: one of the points for which X25519 with
 * any secret key is all zeros, so a box sealed to it could be opened by anyone. They are 0, 1,
 * the two points of order 8, p - 1, and p and p + 1 (p = 2^255 - 19), each with bit 255
 * clear or set, which X25519 ignores: 14 encodings, the keys libsodium's `crypto_scalarmult`
 * rejects. `seal` and `open` already reject such keys; this is for a caller that
 * stores or forwards keys, such as a server. The key is public, so the comparison is not
 * constant-time.
 *
 * @param publicKey - 32 bytes; not modified.
 * @returns `true` for a low-order key, `false` for any other 32 bytes.
 * @throws CryptoError `ERR_INVALID_TYPE` or `ERR_INVALID_LENGTH` naming `publicKey`.
 * @example
 * ```ts
 * import { isLowOrderPublicKey } from '@provisions/crypto';
 *
 * isLowOrderPublicKey(new Uint8Array(32)); // true: the point 0
 * ```
 */
export function isLowOrderPublicKey(publicKey: Uint8Array): boolean {
  return isLowOrderPoint(copyBytesOfLength(publicKey, 'publicKey', PUBLIC_KEY_LENGTH));
}

function lowOrderError(publicKeyName: string): CryptoError {
  return new CryptoError(
    'ERR_LOW_ORDER_POINT',
    `${publicKeyName}: low-order point, the X25519 shared secret would be all zeros`,
  );
}

// Unreachable for a correct X25519 after the list check. Kept because RFC 7748 §6.1
// describes low-order rejection as this check on the all-zero output.
function checkSharedSecret(shared: Bytes, publicKeyName: string): Bytes {
  if (isAllZero(shared)) {
    throw lowOrderError(publicKeyName);
  }

  return shared;
}

/**
 * Checks a secret key and an optional public key, 32 bytes each, and copies them into
 * plain arrays. The secret key is copied last, so that no check throws after its copy
 * exists. The caller wipes that copy.
 *
 * @throws CryptoError `ERR_INVALID_TYPE` or `ERR_INVALID_LENGTH` naming `secretKeyName` or
 *   `publicKeyName`.
 * @internal
 */
export function copyKeyPair(
  secretKey: unknown,
  secretKeyName: string,
  publicKey: unknown,
  publicKeyName: string,
): { secretKey: Bytes; publicKey: Bytes | undefined } {
  const publicKeyCopy =
    publicKey === undefined
      ? undefined
      : copyBytesOfLength(publicKey, publicKeyName, PUBLIC_KEY_LENGTH);
  const secretKeyCopy = copyBytesOfLength(secretKey, secretKeyName, SECRET_KEY_LENGTH);
  return { secretKey: secretKeyCopy, publicKey: publicKeyCopy };
}

/** Computes the public key of a secret key already checked to be 32 bytes. @internal */
export async function x25519PublicKey(secretKey: Bytes): Promise<Bytes> {
  // Both built-in backends use noble's fixed-base multiplication with precomputed Edwards
  // tables: 0.7 ms in Node.js 20, where WebCrypto needs a PKCS #8 import and a deriveBits
  // over the base point (2.2 ms on the same 2.8 GHz Xeon). JWK import cannot help because
  // it requires the public key.
  const { provider } = await activeImplementation();
  return callProvider(provider ?? NOBLE_PROVIDER, secretKey);
}

/**
 * Computes the raw X25519 shared secret of a secret key and a peer public key, both
 * already checked to be 32-byte plain arrays. `ownPublicKey`, the public key of
 * `secretKey`, saves its computation when the caller has it. A WebCrypto import with an
 * `ownPublicKey` that does not belong to `secretKey` fails with `ERR_KEY_MISMATCH`.
 *
 * Low-order peer keys are rejected before the secret key is used, on both implementations,
 * and an all-zero result is rejected as well.
 *
 * @throws CryptoError `ERR_LOW_ORDER_POINT` naming `publicKeyName`; `ERR_KEY_MISMATCH`;
 *   `ERR_WEBCRYPTO_FAILED`; `ERR_X25519_FAILED`.
 *
 * @internal
 */
export async function x25519SharedSecret(
  secretKey: Bytes,
  publicKey: Bytes,
  publicKeyName: string,
  ownPublicKey?: Bytes,
): Promise<Bytes> {
  if (isLowOrderPoint(publicKey)) {
    throw lowOrderError(publicKeyName);
  }

  const { subtle, provider } = await activeImplementation();
  if (provider !== undefined) {
    return checkSharedSecret(await callProvider(provider, secretKey, publicKey), publicKeyName);
  }

  // Both imports run at once: in browsers each is a task on WebCrypto's own thread.
  const [privateKey, peerKey] = await Promise.allSettled([
    importSecretKey(subtle, secretKey, ownPublicKey ?? (await x25519PublicKey(secretKey))),
    importRawPublicKey(subtle, publicKey),
  ]);
  if (privateKey.status === 'rejected') {
    // The platform passed the detection probe, so an import that fails with a caller's
    // public key means that the key does not belong to `secretKey`.
    if (ownPublicKey !== undefined) {
      throw new CryptoError('ERR_KEY_MISMATCH', 'the public key does not match the secret key');
    }
    throw webcryptoFailure(privateKey.reason);
  }
  if (peerKey.status === 'rejected') {
    throw webcryptoFailure(peerKey.reason);
  }

  return deriveCheckedSharedSecret(subtle, privateKey.value, peerKey.value, publicKeyName);
}

/**
 * Runs deriveBits and rejects an all-zero result. Any failure other than a CryptoError
 * becomes `ERR_WEBCRYPTO_FAILED`.
 */
async function deriveCheckedSharedSecret(
  subtle: SubtleCrypto,
  privateKey: CryptoKey,
  peerKey: CryptoKey,
  publicKeyName: string,
): Promise<Bytes> {
  try {
    const shared = await deriveSharedSecret(subtle, privateKey, peerKey);
    return checkSharedSecret(shared, publicKeyName);
  } catch (error) {
    throw error instanceof CryptoError ? error : webcryptoFailure(error);
  }
}

/**
 * A peer public key checked and, on the WebCrypto backend, imported once, for one or more
 * key agreements with {@link ephemeralSharedSecret}. It keeps the implementation that was
 * in use when it was prepared, so a later {@link setX25519Backend} does not change it.
 *
 * @internal
 */
export type PreparedPublicKey =
  | {
      /** The 32 public key bytes. */
      readonly bytes: Bytes;
      readonly subtle: SubtleCrypto;
      /** The key imported into `subtle`. */
      readonly cryptoKey: CryptoKey;
      readonly provider?: undefined;
    }
  | {
      /** The 32 public key bytes. */
      readonly bytes: Bytes;
      readonly subtle?: undefined;
      readonly cryptoKey?: undefined;
      readonly provider: X25519Provider;
    };

/**
 * Checks a 32-byte public key and imports it for repeated use.
 *
 * @throws CryptoError `ERR_LOW_ORDER_POINT` naming `publicKeyName`; `ERR_WEBCRYPTO_FAILED`.
 *
 * @internal
 */
export async function preparePublicKey(
  publicKey: Bytes,
  publicKeyName: string,
): Promise<PreparedPublicKey> {
  if (isLowOrderPoint(publicKey)) {
    throw lowOrderError(publicKeyName);
  }

  const { subtle, provider } = await activeImplementation();
  if (provider !== undefined) {
    return { bytes: publicKey, provider };
  }

  try {
    return { bytes: publicKey, subtle, cryptoKey: await importRawPublicKey(subtle, publicKey) };
  } catch (error) {
    throw webcryptoFailure(error);
  }
}

/**
 * Generates an ephemeral key pair and computes its shared secret with `peer`, on the
 * implementation that `peer` was prepared with. On the WebCrypto backend the ephemeral
 * secret key never leaves the platform (it is generated non-extractable). On a provider
 * it is wiped before returning.
 *
 * @returns the 32-byte ephemeral public key and the 32-byte shared secret, which the
 *   caller wipes after use.
 * @throws CryptoError `ERR_LOW_ORDER_POINT` naming `publicKeyName` (unreachable after
 *   {@link preparePublicKey}); `ERR_WEBCRYPTO_FAILED`; `ERR_X25519_FAILED`.
 *
 * @internal
 */
export async function ephemeralSharedSecret(
  peer: PreparedPublicKey,
  publicKeyName: string,
): Promise<{ ephemeralPublicKey: Bytes; sharedSecret: Bytes }> {
  if (peer.provider !== undefined) {
    const secretKey = new Uint8Array(randomBytes(SECRET_KEY_LENGTH));

    try {
      const ephemeralPublicKey = await callProvider(peer.provider, secretKey);
      const shared = await callProvider(peer.provider, secretKey, peer.bytes);
      return { ephemeralPublicKey, sharedSecret: checkSharedSecret(shared, publicKeyName) };
    } finally {
      wipe(secretKey);
    }
  }

  const { subtle } = peer;
  let ephemeralPublicKey: Bytes;
  let shared: Bytes;
  try {
    const ephemeral = (await subtle.generateKey(X25519_ALGORITHM, false, [
      'deriveBits',
    ])) as CryptoKeyPair;
    // Node.js exports a public key as JWK synchronously but runs a raw export as a job on
    // the thread pool. Both give the same 32 bytes.
    const { x } = await subtle.exportKey('jwk', ephemeral.publicKey);
    ephemeralPublicKey = new Uint8Array(
      decodeBase64Url(x ?? '', { length: PUBLIC_KEY_LENGTH, name: 'jwk.x' }),
    );
    shared = await deriveSharedSecret(subtle, ephemeral.privateKey, peer.cryptoKey);
  } catch (error) {
    throw webcryptoFailure(error);
  }

  return { ephemeralPublicKey, sharedSecret: checkSharedSecret(shared, publicKeyName) };
}

/**
 * A recipient key pair checked and imported once, for the key agreements of many
 * {@link preparedSharedSecret} calls. It keeps the implementation that was in use when it
 * was prepared. On the WebCrypto backend it contains a non-extractable `CryptoKey` and no
 * secret bytes. On a provider it keeps its own copy of the secret key, which its owner
 * wipes when done.
 *
 * @internal
 */
export type PreparedKeyPair =
  | {
      /** The 32-byte public key of the pair, checked against the secret key. */
      readonly publicKey: Bytes;
      readonly subtle: SubtleCrypto;
      /** The secret key imported into `subtle`, non-extractable. */
      readonly privateKey: CryptoKey;
      readonly provider?: undefined;
      readonly secretKey?: undefined;
    }
  | {
      /** The 32-byte public key of the pair, checked against the secret key. */
      readonly publicKey: Bytes;
      readonly subtle?: undefined;
      readonly privateKey?: undefined;
      readonly provider: X25519Provider;
      /** A copy of the 32-byte secret key. */
      readonly secretKey: Bytes;
    };

/**
 * Computes the public key of `secretKey`, checks `publicKey` against it when given, and
 * imports the pair for repeated use. Both arrays are 32-byte plain arrays that stay the
 * caller's: the result keeps its own copies.
 *
 * The check computes the public key on every implementation, because the Web Crypto API
 * does not require a JWK import to compare `x` with `d` (Node.js 20 does compare them).
 *
 * @throws CryptoError `ERR_LOW_ORDER_POINT` or `ERR_KEY_MISMATCH` naming `publicKeyName`;
 *   `ERR_WEBCRYPTO_FAILED`; `ERR_X25519_FAILED`.
 *
 * @internal
 */
export async function prepareKeyPair(
  secretKey: Bytes,
  publicKey: Bytes | undefined,
  publicKeyName: string,
): Promise<PreparedKeyPair> {
  if (publicKey !== undefined && isLowOrderPoint(publicKey)) {
    throw lowOrderError(publicKeyName);
  }

  const { subtle, provider } = await activeImplementation();
  // As in x25519PublicKey, the WebCrypto backend computes public keys with noble.
  const ownPublicKey = await callProvider(provider ?? NOBLE_PROVIDER, secretKey);
  if (publicKey !== undefined && !equalBytes(ownPublicKey, publicKey)) {
    throw new CryptoError(
      'ERR_KEY_MISMATCH',
      `${publicKeyName}: does not match the secret key, so the two are not one key pair`,
    );
  }

  if (provider !== undefined) {
    return { publicKey: ownPublicKey, provider, secretKey: new Uint8Array(secretKey) };
  }

  try {
    const privateKey = await importSecretKey(subtle, secretKey, ownPublicKey);
    return { publicKey: ownPublicKey, subtle, privateKey };
  } catch (error) {
    throw webcryptoFailure(error);
  }
}

/**
 * Computes the raw X25519 shared secret of a prepared key pair and a peer public key (a
 * 32-byte plain array), on the implementation that the pair was prepared with. Low-order
 * peer keys and an all-zero result are rejected, as in {@link x25519SharedSecret}.
 *
 * On a provider, the secret key is copied before the first `await`, so a caller that wipes
 * the pair right after this call started does not change its result.
 *
 * @throws CryptoError `ERR_LOW_ORDER_POINT` naming `publicKeyName`;
 *   `ERR_WEBCRYPTO_FAILED`; `ERR_X25519_FAILED`.
 *
 * @internal
 */
export async function preparedSharedSecret(
  pair: PreparedKeyPair,
  publicKey: Bytes,
  publicKeyName: string,
): Promise<Bytes> {
  if (isLowOrderPoint(publicKey)) {
    throw lowOrderError(publicKeyName);
  }

  if (pair.provider !== undefined) {
    return checkSharedSecret(
      await callProvider(pair.provider, pair.secretKey, publicKey),
      publicKeyName,
    );
  }

  let peerKey: CryptoKey;
  try {
    peerKey = await importRawPublicKey(pair.subtle, publicKey);
  } catch (error) {
    throw webcryptoFailure(error);
  }

  return deriveCheckedSharedSecret(pair.subtle, pair.privateKey, peerKey, publicKeyName);
}

async function webcryptoGenerateKeyPair(
  subtle: SubtleCrypto,
): Promise<{ secretKey: Bytes; publicKey: Bytes }> {
  const generated = (await subtle.generateKey(X25519_ALGORITHM, true, [
    'deriveBits',
  ])) as CryptoKeyPair;
  const jwk = await subtle.exportKey('jwk', generated.privateKey);

  return {
    secretKey: new Uint8Array(
      decodeBase64Url(jwk.d ?? '', { length: SECRET_KEY_LENGTH, name: 'jwk.d' }),
    ),
    publicKey: new Uint8Array(
      decodeBase64Url(jwk.x ?? '', { length: PUBLIC_KEY_LENGTH, name: 'jwk.x' }),
    ),
  };
}

/**
 * Generates a key pair as plain arrays, for callers inside this package. WebCrypto
 * generation with a JWK export runs at about 4,000 pairs/s in Node.js 20, noble's at
 * about 1,500/s (2.8 GHz Xeon).
 *
 * @internal
 */
export async function x25519KeyPair(): Promise<{ secretKey: Bytes; publicKey: Bytes }> {
  const { subtle, provider } = await activeImplementation();
  if (provider !== undefined) {
    const secretKey = new Uint8Array(randomBytes(SECRET_KEY_LENGTH));
    return { secretKey, publicKey: await callProvider(provider, secretKey) };
  }

  try {
    return await webcryptoGenerateKeyPair(subtle);
  } catch (error) {
    throw webcryptoFailure(error);
  }
}

/**
 * Generates an X25519 key pair from the platform CSPRNG: WebCrypto `generateKey` on the
 * WebCrypto backend, `crypto.getRandomValues` on noble.
 *
 * @returns a frozen `{ secretKey, publicKey }`, 32 bytes each (43 base64url characters).
 * @throws CryptoError `ERR_WEBCRYPTO_FAILED` or `ERR_X25519_FAILED` if the X25519
 *   implementation fails unexpectedly.
 * @example
 * ```ts
 * import { generateKeyPair } from '@provisions/crypto';
 *
 * const { secretKey, publicKey } = await generateKeyPair();
 * ```
 */
export async function generateKeyPair(): Promise<KeyPair> {
  return Object.freeze(await x25519KeyPair());
}

/**
 * Computes the X25519 public key of a secret key (libsodium `crypto_scalarmult_base`).
 *
 * @param secretKey - 32 bytes; not modified.
 * @returns the 32-byte public key.
 * @throws CryptoError `ERR_INVALID_TYPE` or `ERR_INVALID_LENGTH` for a bad `secretKey`;
 *   `ERR_WEBCRYPTO_FAILED` or `ERR_X25519_FAILED` if the X25519
 *   implementation fails unexpectedly.
 * @example
 * ```ts
 * import { getPublicKey } from '@provisions/crypto';
 *
 * const publicKey = await getPublicKey(secretKey);
 * ```
 */
export async function getPublicKey(secretKey: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const key = copyBytesOfLength(secretKey, 'secretKey', SECRET_KEY_LENGTH);

  try {
    return await x25519PublicKey(key);
  } finally {
    wipe(key);
  }
}
