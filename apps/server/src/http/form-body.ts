/**
 * Parses an `application/x-www-form-urlencoded` body into an object. A parameter without a
 * value counts as omitted, as RFC 6749 §3.2 requires of token requests. A parameter given
 * more than once keeps all its values in an array, which the operation's schema rejects.
 */
export function parseFormBody(text: string): Record<string, string | string[]> {
  const values = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(text)) {
    if (value === '') {
      continue;
    }
    const list = values.get(name);
    if (list === undefined) {
      values.set(name, [value]);
    } else {
      list.push(value);
    }
  }

  // Object.fromEntries defines own properties, so a `__proto__` parameter stays data.
  return Object.fromEntries(
    [...values].map(([name, list]) => [name, list.length === 1 ? (list[0] as string) : list]),
  );
}
