// The X25519 backends that the suites run on, and how to select each one. `custom` is an
// application-supplied provider built on libsodium, an independent implementation, so
// the suites also check that the package drives a provider correctly.
import sodium from 'libsodium-wrappers';

import { setX25519Backend, type X25519Backend, type X25519Provider } from '../src/x25519.js';

/** Every backend, in the order the suites run them. */
export const BACKENDS: readonly X25519Backend[] = ['webcrypto', 'noble', 'custom'];

/** libsodium's `crypto_scalarmult` as an X25519 provider. */
export const LIBSODIUM_PROVIDER: X25519Provider = {
  getPublicKey: (secretKey) => sodium.crypto_scalarmult_base(secretKey),
  getSharedSecret: (secretKey, publicKey) => sodium.crypto_scalarmult(secretKey, publicKey),
};

/** Selects `backend`, installing {@link LIBSODIUM_PROVIDER} for `custom`. */
export async function useBackend(backend: X25519Backend): Promise<X25519Backend> {
  if (backend !== 'custom') {
    return setX25519Backend(backend);
  }

  await sodium.ready;
  return setX25519Backend(LIBSODIUM_PROVIDER);
}

/** Wraps {@link LIBSODIUM_PROVIDER} and counts the calls of each function. */
export function countingProvider(): X25519Provider & {
  calls: { publicKey: number; shared: number };
} {
  const calls = { publicKey: 0, shared: 0 };
  return {
    calls,
    getPublicKey: (secretKey) => {
      calls.publicKey += 1;
      return LIBSODIUM_PROVIDER.getPublicKey(secretKey);
    },
    getSharedSecret: (secretKey, publicKey) => {
      calls.shared += 1;
      return LIBSODIUM_PROVIDER.getSharedSecret(secretKey, publicKey);
    },
  };
}
