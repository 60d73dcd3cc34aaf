// The crypto_box / crypto_secretbox known answer of NaCl's tests (nacl-20110221 tests/box.c,
// secretbox.c and core1.c), which libsodium keeps as test/default/box.c, secretbox.c and
// core1.exp. Alice's secret key and Bob's public key are those of RFC 7748 §6.1. Hex.

export const NACL_BOX_VECTOR = {
  aliceSecretKey: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
  bobPublicKey: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',

  /** crypto_box_beforenm(bobPublicKey, aliceSecretKey): HSalsa20 of the X25519 shared secret. */
  beforenm: '1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389',

  nonce: '69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37',

  /** The 131-byte message, without the 32 zero bytes that the NaCl API puts before it. */
  message:
    'be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffc' +
    'e5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb31' +
    '0e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde' +
    '048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f93776384864' +
    '5e0705',

  /** The 147-byte output: the 16-byte Poly1305 tag, then the 131-byte ciphertext. */
  box:
    'f3ffc7703f9400e52a7dfb4b3d3305d98e993b9f48681273c29650ba32fc76ce' +
    '48332ea7164d96a4476fb8c531a1186ac0dfc17c98dce87b4da7f011ec48c972' +
    '71d2c20f9b928fe2270d6fb863d51738b48eeee314a7cc8ab932164548e526ae' +
    '90224368517acfeabd6bb3732bc0e9da99832b61ca01b6de56244a9e88d5f9b3' +
    '7973f622a43d14a6599b1f654cb45a74e355a5',
} as const;
