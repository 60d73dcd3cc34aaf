import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SECRET_TOKEN_BYTES } from '../limits.js';

/**
 * Generates a bearer token or client secret: {@link SECRET_TOKEN_BYTES} random bytes
 * as unpadded base64url (43 characters).
 */
export function generateSecretToken(): string {
  return randomBytes(SECRET_TOKEN_BYTES).toString('base64url');
}

/**
 * Hashes a secret for storage with SHA-256 (32 bytes). A fast hash is enough for
 * tokens and client secrets because each carries 256 random bits. Email codes have
 * only 6 digits, so their hash only keeps them out of plain sight: what protects
 * them is their 10-minute lifetime and the limit of wrong tries.
 *
 * @param parts - Values joined with a NUL separator before hashing.
 */
export function hashSecret(...parts: string[]): Buffer {
  return hash('sha256', parts.join('\0'), 'buffer');
}

/** Compares two digests in constant time; digests of different lengths are unequal. */
export function digestsEqual(left: Uint8Array, right: Uint8Array): boolean {
  return left.length === right.length && timingSafeEqual(left, right);
}
