import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { MAX_MESSAGE_BYTES } from '@provisions/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CsvParser, type CsvRecord, CsvSizeError, CsvSyntaxError, parseCsv } from '../src/csv.js';
import { ManifestError, parseManifest, readManifest } from '../src/manifest.js';
import { MAX_CSV_LINE_BYTES, parseCsvManifest } from '../src/manifest-csv.js';
import { runCli, sendArgsWithoutServer } from './support/run-cli.js';

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'provisions-csv-'));
  await writeFile(join(directory, 'notes.txt'), 'Notes from a file.\nSecond line.');
  await writeFile(join(directory, 'empty.txt'), '');
  await writeFile(join(directory, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  await writeFile(join(directory, 'large.txt'), 'x'.repeat(MAX_MESSAGE_BYTES + 1));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

function syntaxError(parse: () => unknown): CsvSyntaxError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(CsvSyntaxError);
    return error as CsvSyntaxError;
  }
  throw new Error('expected a CsvSyntaxError');
}

function csvError(text: string): ManifestError {
  try {
    parseCsvManifest(text, 'm.csv', directory);
  } catch (error) {
    expect(error).toBeInstanceOf(ManifestError);
    expect((error as ManifestError).exitCode).toBe(2);
    return error as ManifestError;
  }
  throw new Error('expected parseCsvManifest to fail');
}

describe('parseCsv', () => {
  it('reads quoted fields with commas, quotes and line breaks', () => {
    const records = parseCsv('a,b\r\n"x, y","say ""hi""\nthere"\n\nlast,\n');

    expect(records).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x, y', 'say "hi"\nthere'] },
      { line: 5, fields: ['last', ''] },
    ]);
  });

  it('rejects an unclosed quote naming its line', () => {
    expect(() => parseCsv('a\n"open\n')).toThrow(/not closed/);
  });

  it('names the line of the quote that is not closed', () => {
    const error = syntaxError(() => parseCsv('a,b\n"x\ny",z\nc,"open\nmore\nlines\n'));

    expect(error.line).toBe(4);
    expect(error.message).toBe('a quoted field is not closed');
  });

  it('rejects a lone carriage return after a closing quote', () => {
    const error = syntaxError(() => parseCsv('a,b\n"x"\ry,z\n'));

    expect(error.line).toBe(2);
    expect(error.message).toBe('unexpected text after a closing quote');
  });

  it('keeps a lone carriage return inside an unquoted field', () => {
    expect(parseCsv('a\rb,c\r\n')).toEqual([{ line: 1, fields: ['a\rb', 'c'] }]);
  });

  it('skips a line of one empty quoted field', () => {
    expect(parseCsv('a\n""\nb\n')).toEqual([
      { line: 1, fields: ['a'] },
      { line: 3, fields: ['b'] },
    ]);
  });
});

describe('CsvParser', () => {
  const text = [
    'email,title,message\r\n',
    'ada@example.com,"Payslip, ""January""","two\r\nlines"\r\n',
    '\r\n',
    'grace@example.org,T,caf\u00e9 \u{1f600}\r',
    '\n"",x,""\n',
    'last,"quoted",\r\n',
  ].join('');

  function parseInPieces(pieces: readonly string[]): CsvRecord[] {
    const records: CsvRecord[] = [];
    const parser = new CsvParser((record) => records.push(record));
    for (const piece of pieces) {
      parser.write(piece);
    }
    parser.end();
    return records;
  }

  it('reads the same records wherever the text is split', () => {
    const whole = parseCsv(text);

    expect(whole).toHaveLength(5);
    for (let index = 0; index <= text.length; index += 1) {
      const records = parseInPieces([text.slice(0, index), text.slice(index)]);
      expect(records, `split at ${index}`).toEqual(whole);
    }
  });

  it('reads the same records one character at a time', () => {
    expect(parseInPieces([...text])).toEqual(parseCsv(text));
  });

  it('leaves a byte order mark to parseCsv', () => {
    expect(parseCsv(`\ufeff${text}`)).toEqual(parseCsv(text));
    expect(parseInPieces([`\ufeff${text}`])[0]?.fields[0]).toBe('\ufeffemail');
  });

  it('rejects a field over the limit naming where it starts', () => {
    const parser = new CsvParser(() => undefined, { maxFieldBytes: 10, maxRecordBytes: 100 });
    parser.write('a,b\nc,"12345\n');

    const error = syntaxError(() => parser.write('678901'));

    expect(error).toBeInstanceOf(CsvSizeError);
    expect(error).toMatchObject({ line: 2, field: 1, quoted: true, kind: 'field', limit: 10 });
  });

  it('counts the field limit in UTF-8 bytes', () => {
    const limits = { maxFieldBytes: 6, maxRecordBytes: 100 };

    expect(() => new CsvParser(() => undefined, limits).write('\u00e9\u00e9\u00e9,')).not.toThrow();
    expect(() => new CsvParser(() => undefined, limits).write('\u00e9\u00e9\u00e9e,')).toThrow(
      CsvSizeError,
    );
  });

  it('rejects a record over the limit naming its first line', () => {
    const parser = new CsvParser(() => undefined, { maxFieldBytes: 10, maxRecordBytes: 20 });

    const error = syntaxError(() => parser.write('a\n"x\ny",0123456789,0123456789\n'));

    expect(error).toBeInstanceOf(CsvSizeError);
    expect(error).toMatchObject({ line: 2, kind: 'record', limit: 20 });
  });

  it('stops at the limit without waiting for the end', () => {
    const parser = new CsvParser(() => undefined, { maxFieldBytes: 1000, maxRecordBytes: 2000 });
    parser.write('email,title,message\n"');

    let written = 0;
    expect(() => {
      for (; written < 100; written += 1) {
        parser.write('x'.repeat(100));
      }
    }).toThrow(CsvSizeError);
    expect(written).toBe(10);
  });
});

describe('parseCsvManifest', () => {
  it('groups lines into boxes by email and title', () => {
    const manifest = parseCsvManifest(
      [
        'email,title,message,file',
        'ada@example.com,Contract,first,',
        'grace@example.org,Contract,hello,',
        'Ada@Example.com,Contract,,notes.txt',
        'ada@example.com,Payslip,paid,',
      ].join('\n'),
      'm.csv',
      directory,
    );

    expect(manifest.recipients).toEqual([
      {
        email: 'ada@example.com',
        boxes: [
          { title: 'Contract', messages: ['first', 'Notes from a file.\nSecond line.'] },
          { title: 'Payslip', messages: ['paid'] },
        ],
      },
      { email: 'grace@example.org', boxes: [{ title: 'Contract', messages: ['hello'] }] },
    ]);
  });

  it('accepts and groups emails with inner dots', () => {
    const manifest = parseCsvManifest(
      [
        'email,title,message',
        'R.S+Tag@Example.com,Contract,first',
        'r.s+tag@example.com,Contract,second',
        'j.ö.rg@Bücher.example,Contract,hello',
      ].join('\n'),
      'm.csv',
      directory,
    );

    expect(manifest.recipients).toEqual([
      {
        email: 'R.S+Tag@Example.com',
        boxes: [{ title: 'Contract', messages: ['first', 'second'] }],
      },
      {
        email: 'j.ö.rg@Bücher.example',
        boxes: [{ title: 'Contract', messages: ['hello'] }],
      },
    ]);
  });

  it.each([
    [
      'a missing title column',
      'email,message\na@example.com,hi',
      'm.csv:1: missing column "title"',
    ],
    ['an unknown column', 'email,title,body\na@example.com,T,hi', 'unknown column "body"'],
    [
      'an invalid email',
      'email,title,message\na@example.com,T,hi\nnot-an-email,T,hi',
      'm.csv:3: column "email":',
    ],
    [
      'a leading dot in an email',
      'email,title,message\n.r@example.com,T,hi',
      'm.csv:2: column "email": invalid email address ".r@example.com": the local part ' +
        '(before the "@") starts with a dot',
    ],
    [
      'a trailing dot in an email',
      'email,title,message\nr.@example.com,T,hi',
      'm.csv:2: column "email": invalid email address "r.@example.com": the local part ' +
        '(before the "@") ends with a dot',
    ],
    [
      'two dots in a row in an email',
      'email,title,message\nr..s@example.com,T,hi',
      'm.csv:2: column "email": invalid email address "r..s@example.com": the local part ' +
        '(before the "@") contains two dots in a row',
    ],
    ['an empty title', 'email,title,message\na@example.com, ,hi', 'm.csv:2: column "title"'],
    ['an empty message', 'email,title,message\na@example.com,T,', 'm.csv:2: column "message"'],
    [
      'a title with a line break',
      'email,title,message\na@example.com,"Two\nlines",hi',
      'm.csv:2: column "title": contains U+000A (line feed) at character 4',
    ],
    [
      'a title with a carriage return',
      'email,title,message\r\na@example.com,"Two\r\nlines",hi',
      'm.csv:2: column "title": contains U+000D (carriage return) at character 4',
    ],
    [
      'both a message and a file',
      'email,title,message,file\na@example.com,T,hi,notes.txt',
      'm.csv:2: column "file": expected either',
    ],
    [
      'a missing file',
      'email,title,file\na@example.com,T,nope.txt',
      'nope.txt does not exist (ENOENT): check the path',
    ],
    ['an empty file', 'email,title,file\na@example.com,T,empty.txt', 'is empty'],
    ['a file not in UTF-8', 'email,title,file\na@example.com,T,latin1.txt', 'not valid UTF-8'],
    [
      'a file over the limit',
      'email,title,file\na@example.com,T,large.txt',
      `at most ${MAX_MESSAGE_BYTES}`,
    ],
    ['a short line', 'email,title,message\na@example.com,T', 'm.csv:2: expected 3 fields'],
    ['no line after the header', 'email,title,message\n', 'm.csv:2: expected at least one line'],
    ['a stray quote', 'email,title,message\na@example.com,T,say "hi"', 'm.csv:2: invalid CSV'],
  ])('rejects %s', (_name, text, message) => {
    expect(csvError(text).message).toContain(message);
  });
});

describe('parseCsvManifest size limits', () => {
  const header = 'email,title,message\n';

  it('accepts a message of exactly the limit', () => {
    const message = 'x'.repeat(MAX_MESSAGE_BYTES);

    const manifest = parseCsvManifest(`${header}a@example.com,T,${message}\n`, 'm.csv', directory);

    expect(manifest.recipients[0]?.boxes[0]?.messages[0]).toBe(message);
  });

  it('accepts a quoted message of the limit in doubled quotes', () => {
    const message = '"'.repeat(MAX_MESSAGE_BYTES);
    const field = `"${message.replaceAll('"', '""')}"`;

    const manifest = parseCsvManifest(`${header}a@example.com,T,${field}\n`, 'm.csv', directory);

    expect(manifest.recipients[0]?.boxes[0]?.messages[0]).toBe(message);
  });

  it('rejects a field one byte over the limit', () => {
    const error = csvError(`${header}a@example.com,T,${'x'.repeat(MAX_MESSAGE_BYTES + 1)}\n`);

    expect(error.message).toBe(
      `m.csv:2: column "message": the field is longer than ${MAX_MESSAGE_BYTES} bytes, ` +
        'the maximum for any field (the largest message the API accepts)',
    );
  });

  it('names the line where a quoted field over the limit starts', () => {
    const rows = 'alan@example.net,Contract,Your contract is signed.\n'.repeat(10_000);

    const error = csvError(`${header}bad,T,hi\ngrace@example.org,T,"Note: 12 inch\n${rows}`);

    expect(error.problems).toEqual([
      `m.csv:3: column "message": the quoted field that starts on this line is longer than ` +
        `${MAX_MESSAGE_BYTES} bytes, the maximum for any field; if it should end sooner, look ` +
        'for a double quote that is not closed',
    ]);
  });

  it('names a header field over the limit by its position', () => {
    const error = csvError(`email,title,${'x'.repeat(MAX_MESSAGE_BYTES + 1)}\n`);

    expect(error.message).toMatch(/^m\.csv:1: field 3: the field is longer than /);
  });

  it('rejects a line whose fields add up to more than the limit', () => {
    const half = 'x'.repeat(MAX_MESSAGE_BYTES / 2 + 40_000);

    const error = csvError(`${header}\na@example.com,T,${half},${half}\n`);

    expect(error.message).toBe(
      `m.csv:3: the fields of this line add up to more than ${MAX_CSV_LINE_BYTES} bytes, ` +
        'the maximum for one line (a message of the largest size with its email, title and file)',
    );
  });
});

describe('parseCsvManifest with several invalid lines', () => {
  it('lists every invalid field in file order', () => {
    const error = csvError(
      [
        'email,title,message',
        'ada@example.com,Contract,hello',
        'not-an-email,Contract,hello',
        'grace@example.org,"Two',
        'lines",hello',
        'alan@example.net,Contract',
        'bad@,,hi',
      ].join('\n'),
    );

    expect(error.problems).toHaveLength(5);
    expect(error.problems[0]).toMatch(/^m\.csv:3: column "email": invalid email address/);
    expect(error.problems[1]).toMatch(/^m\.csv:4: column "title": contains U\+000A/);
    expect(error.problems[2]).toBe('m.csv:6: expected 3 fields as in the header, found 2');
    expect(error.problems[3]).toMatch(/^m\.csv:7: column "email": invalid email address/);
    expect(error.problems[4]).toBe('m.csv:7: column "title": expected a non-empty title');
    expect(error.message.split('\n')).toEqual(error.problems);
  });

  it('lists 20 problems and counts the others', () => {
    const rows = Array.from({ length: 25 }, (_, index) => `person${index}@,T,hi`);

    const error = csvError(['email,title,message', ...rows].join('\n'));

    const lines = error.message.split('\n');
    expect(error.problems).toHaveLength(25);
    expect(lines).toHaveLength(21);
    expect(lines[0]).toMatch(/^m\.csv:2: column "email"/);
    expect(lines[19]).toMatch(/^m\.csv:21: column "email"/);
    expect(lines[20]).toBe('… and 5 more problems');
  });
});

describe('JSON manifest files', () => {
  it('reads a message from a file relative to the manifest', async () => {
    const path = join(directory, 'with-file.json');
    await writeFile(
      path,
      JSON.stringify({
        recipients: [
          {
            email: 'ada@example.com',
            boxes: [{ title: 'T', messages: ['a', { file: 'notes.txt' }] }],
          },
        ],
      }),
    );

    const manifest = await readManifest(path);

    expect(manifest.recipients[0]?.boxes[0]?.messages).toEqual([
      'a',
      'Notes from a file.\nSecond line.',
    ]);
  });

  it('names the field of a file that cannot be read', () => {
    const text = JSON.stringify(
      {
        recipients: [
          { email: 'a@example.com', boxes: [{ title: 'T', messages: [{ file: 'x' }] }] },
        ],
      },
      null,
      2,
    );

    expect(() => parseManifest(text, 'm.json', directory)).toThrow(
      /^m\.json:\d+:\d+: recipients\[0\]\.boxes\[0\]\.messages\[0\]\.file: file \S+ does not exist \(ENOENT\): check the path$/,
    );
  });

  it('rejects an unknown field next to file', () => {
    const text = JSON.stringify({
      recipients: [
        {
          email: 'a@example.com',
          boxes: [{ title: 'T', messages: [{ file: 'notes.txt', x: 1 }] }],
        },
      ],
    });

    expect(() => parseManifest(text, 'm.json', directory)).toThrow(
      /messages\[0\]\.x: unknown field/,
    );
  });
});

describe('send with an invalid CSV manifest', () => {
  it('exits with code 2 naming the line and column', async () => {
    const path = join(directory, 'bad.csv');
    await writeFile(path, 'email,title,message\nada@example.com,T,hi\nada@,T,hi\n');

    const result = await runCli(sendArgsWithoutServer('k.json', '--manifest', path), {
      env: { PROVISIONS_CLIENT_SECRET: 'secret' },
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${path}:3: column "email":`);
    expect(result.stdout).toBe('');
  });

  it('unclosed quote in 64 MB file', async () => {
    const path = join(directory, 'stray-quote.csv');
    const rows = 'alan@example.net,Contract,Your contract is signed and filed.\n'.repeat(17_600);
    const file = await open(path, 'w');
    await file.write(
      'email,title,message\nada@example.com,T,hi\ngrace@example.org,T,"Note: 12 inch\n',
    );
    for (let written = 0; written < 64 * 1024 * 1024; written += rows.length) {
      await file.write(rows);
    }
    await file.close();

    // With a 256 MB heap, reading the whole file into one string and parsing it fails with
    // a V8 out-of-memory abort (exit code 134) instead of an error line.
    const result = await runCli(sendArgsWithoutServer('k.json', '--manifest', path), {
      env: {
        PROVISIONS_CLIENT_SECRET: 'secret',
        PROVISIONS_REPORT_RESOURCES: '1',
        NODE_OPTIONS: '--max-old-space-size=256',
      },
    });
    await rm(path);

    const [error, resources, ...rest] = result.stderr.split('\n');
    expect(result.code).toBe(2);
    expect(error).toBe(
      `provisions: ${path}:3: column "message": the quoted field that starts on this line is ` +
        `longer than ${MAX_MESSAGE_BYTES} bytes, the maximum for any field; if it should end ` +
        'sooner, look for a double quote that is not closed',
    );
    expect(rest).toEqual(['']);
    const maxRssKb = JSON.parse(resources?.replace(/^resources: /, '') ?? '{}').max_rss_kb;
    expect(maxRssKb).toBeLessThan(200_000);
  });

  it('exits 2 for a title with a line break before any request', async () => {
    const path = join(directory, 'title-break.csv');
    await writeFile(path, 'email,title,message\nada@example.com,"Payslip\nJanuary",hi\n');

    const result = await runCli(sendArgsWithoutServer('k.json', '--manifest', path), {
      env: { PROVISIONS_CLIENT_SECRET: 'secret' },
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: ${path}:2: column "title": contains U+000A (line feed) at character 8; a title cannot contain line breaks, tabs or other control characters\n`,
    );
  });

  it('exits 2 listing every invalid line', async () => {
    const path = join(directory, 'two-bad.csv');
    await writeFile(path, 'email,title,message\nada@,T,hi\ngrace@example.org,T,hi\nalan@,T,hi\n');

    const result = await runCli(sendArgsWithoutServer('k.json', '--manifest', path), {
      env: { PROVISIONS_CLIENT_SECRET: 'secret' },
    });

    const lines = result.stderr.trimEnd().split('\n');
    expect(result.code).toBe(2);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^provisions: ${path}:2: column "email": `));
    expect(lines[1]).toMatch(new RegExp(`^provisions: ${path}:4: column "email": `));
  });

  it('rejects a --concurrency that is not a positive integer', async () => {
    const result = await runCli(
      sendArgsWithoutServer('k.json', '--manifest', 'm.csv', '--concurrency', '0'),
      { env: { PROVISIONS_CLIENT_SECRET: 'secret' } },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--concurrency: expected an integer from 1 to 64');
  });
});

describe('parseCsvManifest with semicolons', () => {
  it('hints at commas for a semicolon header', () => {
    const error = csvError('email;title;message\na@example.com;T;hi');

    expect(error.message).toBe(
      'm.csv:1: unknown column "email;title;message"; expected only "email", "title", "message", "file". The manifest must be comma-separated, but this header uses semicolons, as spreadsheet programs do in some locales: save it again with commas as the separator',
    );
  });

  it('gives no separator hint for a comma header', () => {
    const error = csvError('email,title,body\na@example.com,T,hi');

    expect(error.message).not.toContain('comma-separated');
  });
});
