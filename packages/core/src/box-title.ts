/**
 * Maximum box title length in Unicode code points: the `maxLength` of `BoxCreation.title` in
 * the API's OpenAPI description. JSON Schema counts code points, so a character outside the
 * Basic Multilingual Plane, such as 😀, counts once.
 */
export const MAX_BOX_TITLE_LENGTH = 200;

// The `pattern` of `BoxCreation.title`, which the server's Ajv compiles with the `u` flag.
const TITLE_PATTERN =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the API rejects control characters, so the pattern names them.
  /^(?=.*[^\s\p{Cf}\p{Default_Ignorable_Code_Point}])[^\u0000-\u001F\u007F\p{Cs}]+$/u;

// A visible character: neither white space, nor a format character (such as U+200B or
// U+FEFF), nor another default-ignorable code point (such as U+3164).
const VISIBLE_CHARACTER = /[^\s\p{Cf}\p{Default_Ignorable_Code_Point}]/u;
const INVISIBLE_CHARACTER = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;

// biome-ignore lint/suspicious/noControlCharactersInRegex: the pattern finds control characters on purpose.
const CONTROL_CHARACTER = /[\u0000-\u001F\u007F]/u;
const UNPAIRED_SURROGATE = /\p{Cs}/u;

const CONTROL_CHARACTER_NAMES: Readonly<Record<string, string>> = {
  '\t': 'tab',
  '\n': 'line feed',
  '\r': 'carriage return',
};

/**
 * Checks a box title against the API's rules for `BoxCreation.title` and returns what is
 * wrong with it, or `undefined` when the server accepts it.
 *
 * The rules: a string of 1 to {@link MAX_BOX_TITLE_LENGTH} code points, with no control
 * character U+0000 to U+001F or U+007F (so no line break or tab) and no unpaired UTF-16
 * surrogate, and with a visible character: one that is not white space and not invisible
 * (a format character such as U+200B, or another default-ignorable code point). Because `.`
 * in the API's pattern stops at U+2028 and U+2029, that character must come before the
 * first line or paragraph separator. C1 control characters (U+0080 to U+009F) are allowed.
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
  if (title.trim() === '') {
    return 'expected a non-empty string with a character that is not white space';
  }
  const invisible = VISIBLE_CHARACTER.test(title) ? null : INVISIBLE_CHARACTER.exec(title);
  if (invisible !== null) {
    return `expected a visible character, received only white space and invisible characters such as ${nameCodePoint(invisible[0])} at character ${characterNumber(title, invisible.index)}`;
  }

  const control = CONTROL_CHARACTER.exec(title);
  if (control !== null) {
    return `contains ${nameCodePoint(control[0])} at character ${characterNumber(title, control.index)}; a title cannot contain line breaks, tabs or other control characters`;
  }

  const surrogate = UNPAIRED_SURROGATE.exec(title);
  if (surrogate !== null) {
    return `contains an unpaired UTF-16 surrogate at character ${characterNumber(title, surrogate.index)}; expected well-formed Unicode text`;
  }

  if (!TITLE_PATTERN.test(title)) {
    return 'expected a visible character before the first line separator (U+2028) or paragraph separator (U+2029)';
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
