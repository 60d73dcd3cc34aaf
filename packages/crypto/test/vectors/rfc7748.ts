// Test vectors of RFC 7748 "Elliptic Curves for Security", all little-endian hex.

/** Section 5.2: two single X25519 evaluations. The second u has bit 255 set, which X25519 ignores. */
export const SCALAR_MULT_VECTORS = [
  {
    scalar: 'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
    u: 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
    output: 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
  },
  {
    scalar: '4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d',
    u: 'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493',
    output: '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957',
  },
] as const;

/**
 * Section 5.2: start with k = u = 9 (as 32 bytes) and repeat `k, u = X25519(k, u), k`.
 * The value of k after 1 and after 1,000 iterations.
 */
export const ITERATED_VECTORS = [
  { iterations: 1, output: '422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079' },
  {
    iterations: 1000,
    output: '684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51',
  },
] as const;

/** Section 6.1: the Diffie-Hellman example between Alice and Bob. */
export const DIFFIE_HELLMAN_VECTOR = {
  aliceSecretKey: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
  alicePublicKey: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
  bobSecretKey: '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb',
  bobPublicKey: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
  sharedSecret: '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
} as const;
