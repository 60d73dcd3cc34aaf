/**
 * Builds an RFC 6901 JSON Pointer from path segments, escaping `~` as `~0`
 * and `/` as `~1` in each segment.
 *
 * @example
 * toJsonPointer(['crypto', 'provisions', 'a/b@example.com']); // '/crypto/provisions/a~1b@example.com'
 */
export function toJsonPointer(segments: readonly string[]): string {
  return segments
    .map((segment) => `/${segment.replaceAll('~', '~0').replaceAll('/', '~1')}`)
    .join('');
}

/**
 * Splits an RFC 6901 JSON Pointer into unescaped segments; `''` is the whole document.
 *
 * @example
 * parseJsonPointer('/crypto/provisions/a~1b'); // ['crypto', 'provisions', 'a/b']
 */
export function parseJsonPointer(pointer: string): string[] {
  if (pointer === '') {
    return [];
  }
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
}
