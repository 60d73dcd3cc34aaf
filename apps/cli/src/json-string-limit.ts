/** The position of a {@link JsonStringLimit}: outside strings, in a string, or in an escape. */
type ScanState = 'outside' | 'string' | 'escape' | 'unicodeEscape';

/** Characters that end a run of a string's text: its closing quote or an escape. */
const STRING_STOP = /["\\]/g;

/** A JSON string longer than the limit of a {@link JsonStringLimit}, at its opening quote. */
export class JsonStringTooLongError extends Error {
  /** 1-based line and column (in UTF-16 code units) of the opening quote. */
  readonly line: number;
  readonly column: number;
  readonly limit: number;

  constructor(line: number, column: number, limit: number) {
    super(`a string is longer than ${limit} bytes of UTF-8`);
    this.name = 'JsonStringTooLongError';
    this.line = line;
    this.column = column;
    this.limit = limit;
  }
}

/**
 * Checks the strings of a JSON text given piece by piece, and throws as soon as one, once its
 * escapes are decoded, has more than `maxBytes` bytes of UTF-8. It does not check the rest of
 * the syntax, which the parser that reads the whole text does afterwards.
 */
export class JsonStringLimit {
  readonly #maxBytes: number;

  #state: ScanState = 'outside';
  /** UTF-8 bytes of the string being read so far. */
  #stringBytes = 0;
  /** Hex digits read of a `\uXXXX` escape, and their value so far. */
  #hexDigits = 0;
  #codeUnit = 0;
  /** Line and column of the current piece's first character. */
  #pieceLine = 1;
  #pieceColumn = 1;
  /**
   * The piece with the opening quote of the string being read, the quote's index in it, and
   * that piece's first line and column. The quote's line and column are worked out from them
   * only for an error, because counting lines at every string would cost a pass per string.
   */
  #stringStart = { piece: '', index: 0, line: 1, column: 1 };

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /**
   * Scans the next piece of the text.
   *
   * @throws JsonStringTooLongError for a string over the limit.
   */
  write(text: string): void {
    let index = 0;
    while (index < text.length) {
      index = this.#step(text, index);
    }
    this.#moveToNextPiece(text);
  }

  #step(text: string, index: number): number {
    switch (this.#state) {
      case 'outside': {
        const quote = text.indexOf('"', index);
        if (quote === -1) {
          return text.length;
        }
        this.#startString(text, quote);
        return quote + 1;
      }

      case 'string': {
        STRING_STOP.lastIndex = index;
        const stop = STRING_STOP.exec(text);
        const end = stop === null ? text.length : stop.index;
        this.#count(Buffer.byteLength(text.slice(index, end), 'utf8'));
        if (stop === null) {
          return end;
        }
        this.#state = text.charCodeAt(end) === QUOTE ? 'outside' : 'escape';
        return end + 1;
      }

      case 'escape':
        if (text.charCodeAt(index) === LETTER_U) {
          this.#state = 'unicodeEscape';
          this.#hexDigits = 0;
          this.#codeUnit = 0;
        } else {
          // \" \\ \/ \b \f \n \r \t each stand for one ASCII character.
          this.#count(1);
          this.#state = 'string';
        }
        return index + 1;

      case 'unicodeEscape':
        return this.#readHexDigit(text, index);
    }
  }

  #readHexDigit(text: string, index: number): number {
    const digit = Number.parseInt(text.charAt(index), 16);
    if (Number.isNaN(digit)) {
      // Invalid JSON, which the parser reports; the character is read as part of the string.
      this.#state = 'string';
      return index;
    }

    this.#codeUnit = this.#codeUnit * 16 + digit;
    this.#hexDigits += 1;
    if (this.#hexDigits === 4) {
      this.#count(utf8BytesOfCodeUnit(this.#codeUnit));
      this.#state = 'string';
    }
    return index + 1;
  }

  #startString(text: string, quote: number): void {
    this.#state = 'string';
    this.#stringBytes = 0;
    this.#stringStart = {
      piece: text,
      index: quote,
      line: this.#pieceLine,
      column: this.#pieceColumn,
    };
  }

  #count(bytes: number): void {
    this.#stringBytes += bytes;
    if (this.#stringBytes <= this.#maxBytes) {
      return;
    }

    const { piece, index, line, column } = this.#stringStart;
    const lineFeed = piece.lastIndexOf('\n', index);
    if (lineFeed === -1) {
      throw new JsonStringTooLongError(line, column + index, this.#maxBytes);
    }
    const lineFeeds = countLineFeedsBefore(piece, index);
    throw new JsonStringTooLongError(line + lineFeeds, index - lineFeed, this.#maxBytes);
  }

  #moveToNextPiece(text: string): void {
    const lineFeed = text.lastIndexOf('\n');
    if (lineFeed === -1) {
      this.#pieceColumn += text.length;
    } else {
      this.#pieceLine += countLineFeedsBefore(text, text.length);
      this.#pieceColumn = text.length - lineFeed;
    }
  }
}

const QUOTE = 0x22;
const LETTER_U = 0x75;

/**
 * Returns the UTF-8 bytes that the UTF-16 code unit of a `\uXXXX` escape adds: a surrogate
 * counts 2, so that a pair counts the 4 bytes of its character.
 */
function utf8BytesOfCodeUnit(codeUnit: number): number {
  if (codeUnit < 0x80) {
    return 1;
  }
  if (codeUnit < 0x800 || (codeUnit >= 0xd800 && codeUnit <= 0xdfff)) {
    return 2;
  }
  return 3;
}

/** Counts the line feeds in `text` before `end`. */
function countLineFeedsBefore(text: string, end: number): number {
  let count = 0;
  for (
    let index = text.indexOf('\n');
    index !== -1 && index < end;
    index = text.indexOf('\n', index + 1)
  ) {
    count += 1;
  }
  return count;
}
