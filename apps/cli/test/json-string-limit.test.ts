import { describe, expect, it } from 'vitest';

import { JsonStringLimit, JsonStringTooLongError } from '../src/json-string-limit.js';

function tooLongError(limit: number, pieces: readonly string[]): JsonStringTooLongError {
  const strings = new JsonStringLimit(limit);
  try {
    for (const piece of pieces) {
      strings.write(piece);
    }
  } catch (error) {
    expect(error).toBeInstanceOf(JsonStringTooLongError);
    return error as JsonStringTooLongError;
  }
  throw new Error('expected a JsonStringTooLongError');
}

function accepts(limit: number, text: string): boolean {
  try {
    new JsonStringLimit(limit).write(text);
    return true;
  } catch (error) {
    if (error instanceof JsonStringTooLongError) {
      return false;
    }
    throw error;
  }
}

describe('JsonStringLimit', () => {
  const text =
    '{\n  "recipients": [\n    { "email": "a@example.org", "x": "0123456789abcdefgh" }\n  ]\n}\n';

  it('names the opening quote wherever the text is split', () => {
    for (let index = 0; index <= text.length; index += 1) {
      const error = tooLongError(17, [text.slice(0, index), text.slice(index)]);

      expect(error.line, `split at ${index}`).toBe(3);
      expect(error.column, `split at ${index}`).toBe(38);
      expect(error.limit).toBe(17);
    }
  });

  it('names the quote one character at a time', () => {
    const error = tooLongError(13, [...text]);

    expect([error.line, error.column]).toEqual([3, 38]);
  });

  it('accepts strings of exactly the limit', () => {
    expect(accepts(18, text)).toBe(true);
  });

  it('counts decoded escapes', () => {
    expect(accepts(3, '["\\u0041\\n\\""]')).toBe(true);
    expect(accepts(2, '["\\u0041\\n\\""]')).toBe(false);
  });

  it('counts UTF-8 bytes of escaped and raw characters', () => {
    expect(accepts(2, '["\\u00e9"]')).toBe(true);
    expect(accepts(1, '["\\u00e9"]')).toBe(false);
    expect(accepts(3, '["\\u20ac"]')).toBe(true);
    expect(accepts(2, '["\\u20ac"]')).toBe(false);
    expect(accepts(4, '["\\ud83d\\ude00"]')).toBe(true);
    expect(accepts(3, '["\\ud83d\\ude00"]')).toBe(false);
    expect(accepts(4, '["\u{1f600}"]')).toBe(true);
    expect(accepts(3, '["\u{1f600}"]')).toBe(false);
  });

  it('stops inside a string without waiting for its end', () => {
    const strings = new JsonStringLimit(1000);
    strings.write('{"recipients": "');

    let written = 0;
    expect(() => {
      for (; written < 100; written += 1) {
        strings.write('x'.repeat(100));
      }
    }).toThrow(JsonStringTooLongError);
    expect(written).toBe(10);
  });
});
