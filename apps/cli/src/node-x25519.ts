import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import { CryptoError, setX25519Backend, type X25519Provider } from '@provisions/crypto';

function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Imports a 32-byte X25519 secret key. Node.js reads an OKP private JWK by its `d` alone:
 * `x` must be a string but is not used, so the public key need not be known here.
 */
function importSecretKey(secretKey: Uint8Array): KeyObject {
  return createPrivateKey({
    key: { kty: 'OKP', crv: 'X25519', d: toBase64Url(secretKey), x: '' },
    format: 'jwk',
  });
}

function importPublicKey(publicKey: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: toBase64Url(publicKey) },
    format: 'jwk',
  });
}

/**
 * X25519 through OpenSSL's synchronous `node:crypto` calls: about 0.05 ms per operation,
 * where WebCrypto in Node.js 20 costs several times that in thread-pool hand-offs.
 */
export const NODE_X25519_PROVIDER: X25519Provider = {
  getPublicKey(secretKey) {
    const jwk = createPublicKey(importSecretKey(secretKey)).export({ format: 'jwk' });
    return new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url'));
  },

  // The Buffer itself is returned, not a copy, so that the package's wipe reaches it.
  getSharedSecret(secretKey, publicKey) {
    return diffieHellman({
      privateKey: importSecretKey(secretKey),
      publicKey: importPublicKey(publicKey),
    });
  },
};

/**
 * Makes `@provisions/crypto` use {@link NODE_X25519_PROVIDER}. The package first checks the
 * provider against known answers. A Node.js whose OpenSSL lacks X25519 fails them, and then
 * the package keeps its own choice.
 *
 * @returns whether the provider is now in use.
 */
export async function useNodeX25519(): Promise<boolean> {
  try {
    await setX25519Backend(NODE_X25519_PROVIDER);
    return true;
  } catch (error) {
    if (error instanceof CryptoError && error.code === 'ERR_X25519_FAILED') {
      return false;
    }
    throw error;
  }
}
