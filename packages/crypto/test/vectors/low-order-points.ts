// Curve25519 u-coordinates of small order: X25519 of any secret key with one of them is all
// zeros. They are the values that @noble/curves 2.4.0 lists in abstract/montgomery.ts (0, 1,
// p - 1 and the two points of order 8), plus p and p + 1, which reduce to 0 and 1. The tests
// also check that libsodium's crypto_scalarmult rejects every one of them. Little-endian hex.

/** The canonical-width encodings, bit 255 clear. */
export const LOW_ORDER_POINTS = [
  // 0, order 4
  '0000000000000000000000000000000000000000000000000000000000000000',
  // 1, order 1
  '0100000000000000000000000000000000000000000000000000000000000000',
  // 325606250916557431795983626356110631294008115727848805560023387167927233504, order 8
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  // 39382357235489614581723060781553021112529911719440698176882885853963445705823, order 8
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  // p - 1, order 2
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  // p, the same point as 0
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  // p + 1, the same point as 1
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
] as const;

/** The same points with bit 255 set. X25519 ignores that bit (RFC 7748 §5). */
export const LOW_ORDER_POINTS_HIGH_BIT = LOW_ORDER_POINTS.map(
  (hex) => `${hex.slice(0, 62)}${(Number.parseInt(hex.slice(62), 16) | 0x80).toString(16)}`,
);
