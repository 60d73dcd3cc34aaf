import { createHash } from 'node:crypto';

/**
 * Hashes a parsed JSON body with SHA-256 over its canonical form (object keys
 * sorted at every level), so the same body sent with its keys in another order
 * gets the same fingerprint. Used to tell a retry from a different request under
 * one `Idempotency-Key`.
 */
export function fingerprintRequestBody(body: unknown): Buffer {
  return createHash('sha256').update(canonicalJson(body)).digest();
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJson).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .sort(([left], [right]) => compareCodeUnits(left, right))
      .map(([key, child]) => `${JSON.stringify(key)}:${canonicalJson(child)}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

function compareCodeUnits(left: string, right: string): number {
  if (left === right) {
    return 0;
  }
  return left < right ? -1 : 1;
}
