/**
 * Maximum box title length in Unicode code points: the `maxLength` of `BoxCreation.title` in
 * the API's OpenAPI description. JSON Schema counts code points, so a character outside the
 * Basic Multilingual Plane, such as 😀, counts once.
 */
export const MAX_BOX_TITLE_LENGTH = 200;

// A visible character: neither white space, nor a format character (such as U+200B or
// U+FEFF), nor another default-ignorable code point (such as U+3164).
const VISIBLE_CHARACTER = /[^\s\p{Cf}\p{Default_Ignorable_Code_Point}]/u;
const INVISIBLE_CHARACTER = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;

// A control character (U+0000 to U+001F, U+007F to U+009F), or a line or paragraph separator.
const LINE_BREAK_OR_CONTROL = /[\p{Cc}\u2028\u2029]/u;
const UNPAIRED_SURROGATE = /\p{Cs}/u;

const CONTROL_CHARACTER_NAMES: Readonly<Record<string, string>> = {
  '\t': 'tab',
  '\n': 'line feed',
  '\r': 'carriage return',
  '\u0085': 'next line',
  '\u2028': 'line separator',
  '\u2029': 'paragraph separator',
};

/**
 * Returns why a text shows as nothing, when it has no visible character: it is empty or only
 * white space, or it has invisible characters (such as U+200B or U+FEFF) and white space
 * only. Returns `undefined` for a text with a visible character.
 *
 * @internal
 */
export function findInvisibleTextProblem(text: string): string | undefined {
  if (text.trim() === '') {
    return 'expected a non-empty string with a character that is not white space';
  }

  const invisible = VISIBLE_CHARACTER.test(text) ? null : INVISIBLE_CHARACTER.exec(text);
  if (invisible !== null) {
    return `expected a visible character, received only white space and invisible characters such as ${nameCodePoint(invisible[0])} at character ${characterNumber(text, invisible.index)}`;
  }

  return undefined;
}

/**
 * Checks a box title against the API's rules for `BoxCreation.title` and returns what is
 * wrong with it, or `undefined` when the server accepts it.
 *
 * The rules: a title has 1 to {@link MAX_BOX_TITLE_LENGTH} code points and one line. It
 * contains no control character (U+0000 to U+001F, U+007F to U+009F), no line or paragraph
 * separator (U+2028, U+2029) and no unpaired UTF-16 surrogate. At least one character is
 * visible: not white space, and not invisible (a format character such as U+200B, or another
 * default-ignorable code point).
 *
 * These are the API's `minLength`, `maxLength` and `pattern`,
 * `^(?=.*[^\s\p{Cf}\p{Default_Ignorable_Code_Point}])[^\p{Cc}\u2028\u2029\p{Cs}]+$`, checked one
 * at a time so that the problem can be named.
 *
 * @param title - the title to check; any value.
 * @returns the problem without the title itself, such as
 *   `contains U+0009 (tab) at character 4; a title cannot contain line breaks, tabs or other control characters`.
 * @example
 * findBoxTitleProblem('Signed contract'); // undefined
 * findBoxTitleProblem('Line\nbreak'); // 'contains U+000A (line feed) at character 5; …'
 */
export function findBoxTitleProblem(title: unknown): string | undefined {
  if (typeof title !== 'string') {
    return `expected a string, received ${title === null ? 'null' : typeof title}`;
  }

  const length = [...title].length;
  if (length > MAX_BOX_TITLE_LENGTH) {
    return `expected at most ${MAX_BOX_TITLE_LENGTH} characters, received ${length}`;
  }
  const invisible = findInvisibleTextProblem(title);
  if (invisible !== undefined) {
    return invisible;
  }

  const control = LINE_BREAK_OR_CONTROL.exec(title);
  if (control !== null) {
    return `contains ${nameCodePoint(control[0])} at character ${characterNumber(title, control.index)}; a title cannot contain line breaks, tabs or other control characters`;
  }

  const surrogate = UNPAIRED_SURROGATE.exec(title);
  if (surrogate !== null) {
    return `contains an unpaired UTF-16 surrogate at character ${characterNumber(title, surrogate.index)}; expected well-formed Unicode text`;
  }

  return undefined;
}

function nameCodePoint(character: string): string {
  const hex = (character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
  const name = CONTROL_CHARACTER_NAMES[character];
  return name === undefined ? `U+${hex}` : `U+${hex} (${name})`;
}

/** Returns the 1-based code point position of the UTF-16 `index` in `text`. */
function characterNumber(text: string, index: number): number {
  return [...text.slice(0, index)].length + 1;
}
