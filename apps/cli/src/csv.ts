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

/**
 * Parses CSV text as RFC 4180 describes it: comma-separated fields, fields in
 * double quotes may contain commas, line breaks and doubled quotes (`""`).
 * Lines end with LF or CRLF. Empty lines are skipped. A UTF-8 byte order mark
 * at the start is ignored.
 *
 * @returns the records with the line each starts on.
 * @throws CsvSyntaxError for a quote inside an unquoted field, text after a
 *   closing quote, or a quoted field that is never closed.
 * @example
 * parseCsv('email,title\nada@example.com,"Contract, signed"\n');
 * // [{ line: 1, fields: ['email', 'title'] }, { line: 2, fields: ['ada@example.com', 'Contract, signed'] }]
 */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const input = text.startsWith('\ufeff') ? text.slice(1) : text;

  let line = 1;
  let recordLine = 1;
  let fields: string[] = [];
  let field = '';
  let index = 0;

  const endRecord = (): void => {
    fields.push(field);
    const blank = fields.length === 1 && fields[0] === '';
    if (!blank) {
      records.push({ line: recordLine, fields });
    }
    fields = [];
    field = '';
  };

  while (index < input.length) {
    const character = input[index] as string;

    if (character === '"' && field === '') {
      const quoteLine = line;
      index += 1;
      for (;;) {
        if (index >= input.length) {
          throw new CsvSyntaxError(quoteLine, 'a quoted field is not closed');
        }
        const inner = input[index] as string;
        if (inner === '"') {
          if (input[index + 1] === '"') {
            field += '"';
            index += 2;
            continue;
          }
          index += 1;
          break;
        }
        if (inner === '\n') {
          line += 1;
        }
        field += inner;
        index += 1;
      }

      const next = input[index];
      if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
        throw new CsvSyntaxError(line, 'unexpected text after a closing quote');
      }
      // An empty quoted field must still count as a field, so mark it non-empty
      // for the check above by handling the separator here.
      if (next === ',') {
        fields.push(field);
        field = '';
        index += 1;
        continue;
      }
      continue;
    }

    if (character === '"') {
      throw new CsvSyntaxError(
        line,
        'a double quote inside an unquoted field; quote the whole field',
      );
    }

    if (character === ',') {
      fields.push(field);
      field = '';
      index += 1;
      continue;
    }

    if (character === '\r' && input[index + 1] === '\n') {
      index += 1;
      continue;
    }

    if (character === '\n') {
      endRecord();
      line += 1;
      recordLine = line;
      index += 1;
      continue;
    }

    field += character;
    index += 1;
  }

  if (field !== '' || fields.length > 0) {
    endRecord();
  }

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
