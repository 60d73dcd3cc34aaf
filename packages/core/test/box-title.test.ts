import { describe, expect, it } from 'vitest';
import { findBoxTitleProblem, MAX_BOX_TITLE_LENGTH } from '../src/index.js';

describe('findBoxTitleProblem', () => {
  it.each([
    ['a plain title', 'Signed contract'],
    ['an emoji', '😀'],
    ['a zero width space between words', 'Signed\u200bcontract'],
    ['a Braille blank, which is a symbol', '\u2800'],
    ['a combining mark after text', 'e\u0301'],
    [`${MAX_BOX_TITLE_LENGTH} code points`, '😀'.repeat(MAX_BOX_TITLE_LENGTH)],
  ])('accepts %s', (_name, title) => {
    expect(findBoxTitleProblem(title)).toBeUndefined();
  });

  it.each([
    ['a zero width space', '\u200b', 'U+200B at character 1'],
    ['a byte order mark and a zero width space', '\ufeff\u200b', 'U+FEFF at character 1'],
    ['a Hangul filler', '\u3164', 'U+3164 at character 1'],
    ['a soft hyphen after spaces', '  \u00ad', 'U+00AD at character 3'],
    [
      'a word joiner and a zero width joiner after a space',
      '\u3000\u2060\u200d',
      'U+2060 at character 2',
    ],
    ['a variation selector', '\ufe0f', 'U+FE0F at character 1'],
  ])('rejects invisible-only title: %s', (_name, title, where) => {
    expect(findBoxTitleProblem(title)).toBe(
      `expected a visible character, received only white space and invisible characters such as ${where}`,
    );
  });

  it('rejects white space only', () => {
    expect(findBoxTitleProblem(' \u00a0\u3000\ufeff')).toBe(
      'expected a non-empty string with a character that is not white space',
    );
  });

  it.each([
    ['a tab', 'Tab\there', 'U+0009 (tab) at character 4'],
    ['a next line', 'Next\u0085line', 'U+0085 (next line) at character 5'],
    ['a line separator', '\u200b\u2028Text', 'U+2028 (line separator) at character 2'],
    ['a paragraph separator', 'Text\u2029', 'U+2029 (paragraph separator) at character 5'],
    ['a C1 control character', 'Single\u0086shift', 'U+0086 at character 7'],
  ])('names %s and its position', (_name, title, where) => {
    expect(findBoxTitleProblem(title)).toBe(
      `contains ${where}; a title cannot contain line breaks, tabs or other control characters`,
    );
  });

  it('counts code points for the length', () => {
    expect(findBoxTitleProblem('😀'.repeat(MAX_BOX_TITLE_LENGTH + 1))).toBe(
      `expected at most ${MAX_BOX_TITLE_LENGTH} characters, received ${MAX_BOX_TITLE_LENGTH + 1}`,
    );
  });
});
