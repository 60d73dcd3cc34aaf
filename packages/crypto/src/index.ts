/**
 * X25519 key pairs, libsodium-compatible sealed boxes, Shamir key shares, share hashes,
 * strict base64url and passphrase envelopes for crypto provisions. Pure TypeScript with no
 * I/O, for Node.js 20.19+ and current browsers.
 *
 * @packageDocumentation
 */

export {
  base64UrlLength,
  type DecodeBase64UrlOptions,
  decodeBase64Url,
  encodeBase64Url,
} from './base64url.js';
export {
  CRYPTO_ERROR_CODES,
  CryptoError,
  type CryptoErrorCode,
  isCryptoError,
} from './errors.js';
export { hashShare, SHARE_HASH_LENGTH } from './hash.js';
export {
  type ImportedKeyPair,
  type ImportedPublicKey,
  importKeyPair,
  importPublicKey,
} from './imported-keys.js';
export {
  decryptWithPassphrase,
  encryptWithPassphrase,
  type PassphraseOptions,
} from './passphrase.js';
export {
  PASSPHRASE_ENVELOPE_OVERHEAD,
  SCRYPT_DEFAULT_N,
  SCRYPT_MAX_N,
  SCRYPT_MIN_N,
} from './passphrase-envelope.js';
export { createProvision, type Provision, type ProvisionPayload } from './provision.js';
export { open, SEAL_OVERHEAD, seal } from './seal.js';
export { sealMany, sealToMany } from './seal-batch.js';
export {
  combineShares,
  recoverSecretKey,
  SHARE_LENGTH,
  type SplitSecretOptions,
  splitSecret,
} from './shares.js';
export {
  generateKeyPair,
  getPublicKey,
  getX25519Backend,
  isLowOrderPublicKey,
  type KeyPair,
  PUBLIC_KEY_LENGTH,
  SECRET_KEY_LENGTH,
  setX25519Backend,
  type X25519Backend,
  type X25519Provider,
} from './x25519.js';
