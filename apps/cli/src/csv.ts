/** One CSV record and the 1-based line it starts on. */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/** A CSV text that breaks RFC 4180, with the 1-based line of the problem. */
export class CsvSyntaxError extends Error {
  readonly line: number;

  constructor(line: number, message: string) {
    super(message);
    this.name = 'CsvSyntaxError';
    this.line = line;
  }
}

/** A field or record longer than the limit of a {@link CsvParser}, which stops reading there. */
export class CsvSizeError extends CsvSyntaxError {
  /** `field` for one field over `maxFieldBytes`, `record` for a record over `maxRecordBytes`. */
  readonly kind: 'field' | 'record';
  /** The limit exceeded, in bytes of UTF-8. */
  readonly limit: number;
  /** 0-based index in its record of the field being read. */
  readonly field: number;
  /** Whether that field starts with a double quote. */
  readonly quoted: boolean;

  constructor(
    line: number,
    details: { kind: 'field' | 'record'; limit: number; field: number; quoted: boolean },
  ) {
    super(line, `the ${details.kind} is longer than ${details.limit} bytes`);
    this.name = 'CsvSizeError';
    this.kind = details.kind;
    this.limit = details.limit;
    this.field = details.field;
    this.quoted = details.quoted;
  }
}

/** Limits of a {@link CsvParser}, in bytes of UTF-8. */
export interface CsvLimits {
  /** Maximum size of one field's value, without its quotes and with doubled quotes counted once. */
  maxFieldBytes: number;
  /** Maximum size of one record: its field values and the commas between them. */
  maxRecordBytes: number;
}

const NO_LIMITS: CsvLimits = { maxFieldBytes: Infinity, maxRecordBytes: Infinity };

/**
 * The parser's position. A double quote inside a quoted field (`quoteInQuoted`) is either the
 * first of a doubled quote or the closing one, and the next character decides which. A carriage
 * return ends the line when a line feed follows it. Otherwise it is part of an unquoted field
 * (`unquotedCarriageReturn`), or text after a closing quote (`closedCarriageReturn`).
 */
type ParserState =
  | 'fieldStart'
  | 'unquoted'
  | 'unquotedCarriageReturn'
  | 'quoted'
  | 'quoteInQuoted'
  | 'closedCarriageReturn';

/** Characters that end a run of an unquoted field. */
const UNQUOTED_STOP = /[",\n\r]/g;

/**
 * Parses CSV text as RFC 4180 describes it, piece by piece: comma-separated fields, fields in
 * double quotes may contain commas, line breaks and doubled quotes (`""`). Lines end with LF
 * or CRLF, and a carriage return alone is part of an unquoted field. Empty lines, and lines of
 * one empty field, are skipped. A piece may end anywhere, even inside a field.
 *
 * The parser keeps only the record being read, and throws {@link CsvSizeError} as soon as a
 * field or record outgrows its limit, so a quote that is never closed costs at most the limit
 * in memory instead of the rest of the text.
 *
 * @example
 * const parser = new CsvParser((record) => console.log(record.line, record.fields));
 * parser.write('email,title\nada@example.com,"Contract,');
 * parser.write(' signed"\n');
 * parser.end(); // 1 [ 'email', 'title' ], then 2 [ 'ada@example.com', 'Contract, signed' ]
 */
export class CsvParser {
  readonly #onRecord: (record: CsvRecord) => void;
  readonly #limits: CsvLimits;

  #state: ParserState = 'fieldStart';
  /** The line being read, 1-based. */
  #line = 1;
  #recordLine = 1;
  #fields: string[] = [];
  /** UTF-8 bytes of the record's finished fields, plus one per comma after them. */
  #recordBytes = 0;
  #fieldParts: string[] = [];
  #fieldBytes = 0;
  #fieldLine = 1;
  #fieldQuoted = false;

  constructor(onRecord: (record: CsvRecord) => void, limits: CsvLimits = NO_LIMITS) {
    this.#onRecord = onRecord;
    this.#limits = limits;
  }

  /**
   * Parses the next piece of text and passes each record it completes to `onRecord`.
   *
   * @throws CsvSyntaxError for a quote inside an unquoted field or text after a closing quote;
   *   CsvSizeError for a field or record over the limits.
   */
  write(text: string): void {
    let index = 0;
    while (index < text.length) {
      index = this.#step(text, index);
    }
  }

  /**
   * Ends the text, passing its last record to `onRecord`.
   *
   * @throws CsvSyntaxError for a quoted field that is never closed, naming the line of its quote.
   */
  end(): void {
    switch (this.#state) {
      case 'quoted':
        throw new CsvSyntaxError(this.#fieldLine, 'a quoted field is not closed');
      case 'closedCarriageReturn':
        throw new CsvSyntaxError(this.#line, 'unexpected text after a closing quote');
      case 'unquotedCarriageReturn':
        this.#append('\r');
        break;
      case 'fieldStart':
        if (this.#fields.length === 0) {
          return;
        }
        break;
      default:
        break;
    }
    this.#endRecord();
  }

  /** Reads from `text` at `index` in the current state and returns the index to go on from. */
  #step(text: string, index: number): number {
    const character = text.charCodeAt(index);

    switch (this.#state) {
      case 'fieldStart':
        this.#fieldLine = this.#line;
        this.#fieldQuoted = character === QUOTE;
        this.#state = this.#fieldQuoted ? 'quoted' : 'unquoted';
        return this.#fieldQuoted ? index + 1 : index;

      case 'unquoted':
        return this.#readUnquoted(text, index);

      case 'unquotedCarriageReturn':
        this.#state = 'unquoted';
        if (character !== LINE_FEED) {
          this.#append('\r');
        }
        return index;

      case 'quoted':
        return this.#readQuoted(text, index);

      case 'quoteInQuoted':
        if (character === QUOTE) {
          this.#append('"');
          this.#state = 'quoted';
          return index + 1;
        }
        return this.#readAfterClosingQuote(character, index);

      case 'closedCarriageReturn':
        if (character !== LINE_FEED) {
          throw new CsvSyntaxError(this.#line, 'unexpected text after a closing quote');
        }
        this.#endRecord();
        this.#newLine();
        return index + 1;
    }
  }

  #readUnquoted(text: string, index: number): number {
    UNQUOTED_STOP.lastIndex = index;
    const stop = UNQUOTED_STOP.exec(text);
    const end = stop === null ? text.length : stop.index;
    if (end > index) {
      this.#append(text.slice(index, end));
    }
    if (stop === null) {
      return end;
    }

    switch (text.charCodeAt(end)) {
      case COMMA:
        this.#endField(true);
        break;
      case LINE_FEED:
        this.#endRecord();
        this.#newLine();
        break;
      case CARRIAGE_RETURN:
        this.#state = 'unquotedCarriageReturn';
        break;
      default:
        // Only the first character of a field can open a quoted field.
        throw new CsvSyntaxError(
          this.#line,
          'a double quote inside an unquoted field; quote the whole field',
        );
    }
    return end + 1;
  }

  #readQuoted(text: string, index: number): number {
    const quote = text.indexOf('"', index);
    const end = quote === -1 ? text.length : quote;
    if (end > index) {
      const part = text.slice(index, end);
      this.#line += countLineFeeds(part);
      this.#append(part);
    }
    if (quote === -1) {
      return end;
    }
    this.#state = 'quoteInQuoted';
    return end + 1;
  }

  /** Reads the character after the closing quote of a quoted field, which must end the field. */
  #readAfterClosingQuote(character: number, index: number): number {
    switch (character) {
      case COMMA:
        this.#endField(true);
        return index + 1;
      case LINE_FEED:
        this.#endRecord();
        this.#newLine();
        return index + 1;
      case CARRIAGE_RETURN:
        this.#state = 'closedCarriageReturn';
        return index + 1;
      default:
        throw new CsvSyntaxError(this.#line, 'unexpected text after a closing quote');
    }
  }

  #append(part: string): void {
    this.#fieldParts.push(part);
    this.#fieldBytes += Buffer.byteLength(part, 'utf8');

    if (this.#fieldBytes > this.#limits.maxFieldBytes) {
      throw this.#sizeError('field');
    }
    if (this.#recordBytes + this.#fieldBytes > this.#limits.maxRecordBytes) {
      throw this.#sizeError('record');
    }
  }

  /** Ends the current field; `comma` is true when a comma ends it rather than a line end. */
  #endField(comma: boolean): void {
    const parts = this.#fieldParts;
    this.#fields.push(parts.length === 1 ? (parts[0] as string) : parts.join(''));
    // The comma counts toward the record's size, so that a line of empty fields has a limit too.
    this.#recordBytes += this.#fieldBytes + (comma ? 1 : 0);
    this.#fieldParts = [];
    this.#fieldBytes = 0;
    this.#state = 'fieldStart';
    if (this.#recordBytes > this.#limits.maxRecordBytes) {
      throw this.#sizeError('record');
    }
  }

  #sizeError(kind: 'field' | 'record'): CsvSizeError {
    const limit = kind === 'field' ? this.#limits.maxFieldBytes : this.#limits.maxRecordBytes;
    const line = kind === 'field' ? this.#fieldLine : this.#recordLine;
    return new CsvSizeError(line, {
      kind,
      limit,
      field: this.#fields.length,
      quoted: this.#fieldQuoted,
    });
  }

  #endRecord(): void {
    this.#endField(false);
    const fields = this.#fields;
    const blank = fields.length === 1 && fields[0] === '';
    if (!blank) {
      this.#onRecord({ line: this.#recordLine, fields });
    }
    this.#fields = [];
    this.#recordBytes = 0;
  }

  /** Moves past the line feed that ended a record. */
  #newLine(): void {
    this.#line += 1;
    this.#recordLine = this.#line;
  }
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** Counts the line feeds (U+000A) in `text`. */
export function countLineFeeds(text: string): number {
  let count = 0;
  for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) {
    count += 1;
  }
  return count;
}

/**
 * Parses a whole CSV text with {@link CsvParser}, after dropping a UTF-8 byte order mark at
 * its start.
 *
 * @returns the records with the line each starts on.
 * @throws CsvSyntaxError for a quote inside an unquoted field, text after a closing quote, or
 *   a quoted field that is never closed.
 * @example
 * parseCsv('email,title\nada@example.com,"Contract, signed"\n');
 * // [{ line: 1, fields: ['email', 'title'] }, { line: 2, fields: ['ada@example.com', 'Contract, signed'] }]
 */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const parser = new CsvParser((record) => records.push(record));
  parser.write(text.startsWith('\ufeff') ? text.slice(1) : text);
  parser.end();
  return records;
}

/**
 * Formats one CSV field: quoted when it contains a comma, a double quote or a
 * line break, with inner quotes doubled.
 */
export function formatCsvField(value: string): string {
  if (!/[",\r\n]/.test(value)) {
    return value;
  }

  return `"${value.replaceAll('"', '""')}"`;
}
