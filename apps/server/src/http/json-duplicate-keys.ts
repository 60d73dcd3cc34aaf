/** An object or array being scanned, with the path of the value that comes next in it. */
interface OpenContainer {
  /** Keys seen so far in an object, or undefined in an array. */
  keys: Set<string> | undefined;
  /** Key or index of the container in its parent; empty for the outermost one. */
  segment: string;
  /** Key or index of the value that comes next. */
  next: string;
  /** Index of the current element, in an array. */
  index: number;
  /** Whether the next string in an object is a key. */
  expectKey: boolean;
}

/**
 * Finds the first key that appears twice in one object of a JSON text, comparing keys
 * after their escapes are decoded, so `"title"` and `"\u0074itle"` are the same key.
 * `JSON.parse` keeps the last value of a repeated key, while other parsers may keep the
 * first or reject the text, so such a body can mean different things to a client, a
 * proxy and this server.
 *
 * @param text - Text that `JSON.parse` accepts; the result for other text means nothing.
 * @returns The path segments of the repeated key, such as `['crypto', 'provisions',
 *   'a@example.com', 'public_key']`, or undefined when every key is unique in its object.
 * @example
 * findDuplicateKey('{"title":"x","title":"y"}'); // ['title']
 */
export function findDuplicateKey(text: string): string[] | undefined {
  const open: OpenContainer[] = [];

  for (let index = 0; index < text.length; index += 1) {
    const character = text[index];
    const container = open.at(-1);

    if (character === '{' || character === '[') {
      // Each container keeps only its own segment, so that deep nesting costs linear
      // memory; the whole path is built only for a repeated key.
      const isObject = character === '{';
      open.push({
        keys: isObject ? new Set() : undefined,
        segment: container === undefined ? '' : container.next,
        next: isObject ? '' : '0',
        index: 0,
        expectKey: isObject,
      });
    } else if (character === '}' || character === ']') {
      open.pop();
    } else if (character === ',' && container !== undefined) {
      if (container.keys === undefined) {
        container.index += 1;
        container.next = String(container.index);
      } else {
        container.expectKey = true;
      }
    } else if (character === '"') {
      const end = closingQuoteIndex(text, index);
      if (container?.keys !== undefined && container.expectKey) {
        const key = JSON.parse(text.slice(index, end + 1)) as string;
        if (container.keys.has(key)) {
          return [...open.slice(1).map((enclosing) => enclosing.segment), key];
        }
        container.keys.add(key);
        container.next = key;
        container.expectKey = false;
      }
      index = end;
    }
  }
  return undefined;
}

/** Returns the index of the quote that closes the JSON string opening at `start`. */
function closingQuoteIndex(text: string, start: number): number {
  let quote = text.indexOf('"', start + 1);
  while (quote !== -1) {
    // A quote preceded by an odd number of backslashes is escaped.
    let backslashes = 0;
    while (text[quote - 1 - backslashes] === '\\') {
      backslashes += 1;
    }
    if (backslashes % 2 === 0) {
      return quote;
    }
    quote = text.indexOf('"', quote + 1);
  }
  return text.length;
}
