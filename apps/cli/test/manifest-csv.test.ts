import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { MAX_MESSAGE_BYTES } from '@provisions/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseCsv } from '../src/csv.js';
import { ManifestError, parseManifest, readManifest } from '../src/manifest.js';
import { parseCsvManifest } from '../src/manifest-csv.js';
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
