import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findDuplicateKey } from '../src/http/json-duplicate-keys.js';

describe('findDuplicateKey', () => {
  it('finds none in JSON.stringify output', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2), (value, indent) => {
        expect(findDuplicateKey(JSON.stringify(value, null, indent))).toBeUndefined();
      }),
    );
  });

  it('finds a key added again at the end of an object', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string(), fc.jsonValue()), { minLength: 1, maxLength: 5 }),
        fc.nat(),
        fc.array(
          fc.string().filter((segment) => segment !== 'other'),
          { maxLength: 3 },
        ),
        (entries, pick, path) => {
          const keys = [...new Map(entries).keys()];
          const repeated = keys[pick % keys.length] as string;
          const members = [...new Map(entries)].map(
            ([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`,
          );
          let text = `{${[...members, `${JSON.stringify(repeated)}:null`].join(',')}}`;
          // Nests the object in arrays and objects that have no repeated key.
          for (const segment of [...path].reverse()) {
            text = `[0,{"other":1,${JSON.stringify(segment)}:${text}}]`;
          }

          const expected = path.flatMap((segment) => ['1', segment]);
          expect(findDuplicateKey(text)).toEqual([...expected, repeated]);
        },
      ),
    );
  });

  it('compares keys after decoding escapes', () => {
    expect(findDuplicateKey('{"title":1,"\\u0074itle":2}')).toEqual(['title']);
    expect(findDuplicateKey('{"a\\"b":1,"a\\u0022b":2}')).toEqual(['a"b']);
  });

  // Copying the path at every level made this quadratic: 60,000 levels ran out of memory.
  it('scans deep nesting in linear memory', () => {
    const depth = 200_000;

    expect(findDuplicateKey(`${'['.repeat(depth)}${']'.repeat(depth)}`)).toBeUndefined();
    expect(findDuplicateKey(`${'{"a":'.repeat(depth)}{"b":1,"b":2}${'}'.repeat(depth)}`)).toEqual([
      ...Array.from({ length: depth }, () => 'a'),
      'b',
    ]);
  });

  it('ignores braces and quotes inside strings', () => {
    expect(findDuplicateKey('{"a":"{\\"a\\":1,","b":"\\\\","c":["a","a"]}')).toBeUndefined();
  });
});
