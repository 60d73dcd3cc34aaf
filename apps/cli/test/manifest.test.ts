import { constants } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { MAX_MESSAGE_BYTES } from '@provisions/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXAMPLE_MANIFEST_PATH } from '../src/commands/demo.js';
import { ManifestError, parseManifest, readManifest } from '../src/manifest.js';
import { runCli, sendArgsWithoutServer } from './support/run-cli.js';

function manifestError(text: string): ManifestError {
  try {
    parseManifest(text, 'm.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ManifestError);
    expect((error as ManifestError).exitCode).toBe(2);
    return error as ManifestError;
  }
  throw new Error('expected parseManifest to fail');
}

const box = { title: 'Box', messages: ['hello'] };

function manifestWithFile(file: string): string {
  return JSON.stringify({
    recipients: [{ email: 'a@example.org', boxes: [{ title: 't', messages: [{ file }] }] }],
  });
}

describe('parseManifest', () => {
  it('returns recipients and boxes as written', () => {
    const manifest = parseManifest(
      JSON.stringify({
        recipients: [
          { email: 'ada@example.com', boxes: [box] },
          { email: 'Alan@Example.net', boxes: [box, { title: 'Two', messages: ['a', 'b'] }] },
        ],
      }),
      'm.json',
    );

    expect(manifest.recipients).toEqual([
      { email: 'ada@example.com', boxes: [box] },
      { email: 'Alan@Example.net', boxes: [box, { title: 'Two', messages: ['a', 'b'] }] },
    ]);
  });

  it('accepts the example manifest of the demo', async () => {
    const manifest = await readManifest(EXAMPLE_MANIFEST_PATH);

    expect(manifest.recipients.length).toBeGreaterThanOrEqual(3);
    expect(manifest.recipients.some((recipient) => recipient.boxes.length >= 2)).toBe(true);
  });

  const invalid: [string, unknown, string][] = [
    ['a top-level array', [], 'm.json:1:1: manifest: expected an object with "recipients"'],
    ['no recipients', {}, 'm.json:1:1: recipients: expected an array with at least one recipient'],
    [
      'empty recipients',
      { recipients: [] },
      'recipients: expected at least one recipient, received an empty array',
    ],
    [
      'an unknown top-level field',
      { recipients: [], extra: 1 },
      'extra: unknown field; expected only "recipients"',
    ],
    [
      'a recipient without email',
      { recipients: [{ boxes: [box] }] },
      'recipients[0].email: expected a non-empty string',
    ],
    [
      'an invalid email',
      { recipients: [{ email: 'not an address', boxes: [box] }] },
      'recipients[0].email: ',
    ],
    [
      'a duplicate recipient',
      {
        recipients: [
          { email: 'a@example.com', boxes: [box] },
          { email: ' A@example.com', boxes: [box] },
        ],
      },
      'recipients[1].email: duplicate of recipients[0].email',
    ],
    [
      'no boxes',
      { recipients: [{ email: 'a@example.com', boxes: [] }] },
      'recipients[0].boxes: expected at least one box',
    ],
    [
      'a misspelled field',
      { recipients: [{ email: 'a@example.com', boxes: [{ title: 'T', mesages: ['x'] }] }] },
      'recipients[0].boxes[0].mesages: unknown field; expected only "title" and "messages"',
    ],
    [
      'an empty title',
      {
        recipients: [
          { email: 'a@example.com', boxes: [box] },
          { email: 'b@example.com', boxes: [box] },
          { email: 'c@example.com', boxes: [{ title: '', messages: ['x'] }] },
        ],
      },
      'recipients[2].boxes[0].title: expected a non-empty string',
    ],
    [
      'a long title',
      {
        recipients: [
          { email: 'a@example.com', boxes: [{ title: 'x'.repeat(201), messages: ['x'] }] },
        ],
      },
      'recipients[0].boxes[0].title: expected at most 200 characters',
    ],
    [
      'a title with a tab',
      {
        recipients: [{ email: 'a@example.com', boxes: [{ title: 'Tab\there', messages: ['x'] }] }],
      },
      'recipients[0].boxes[0].title: contains U+0009 (tab) at character 4',
    ],
    [
      'a title with an unpaired surrogate',
      {
        recipients: [
          { email: 'a@example.com', boxes: [{ title: 'Half \ud83d', messages: ['x'] }] },
        ],
      },
      'recipients[0].boxes[0].title: contains an unpaired UTF-16 surrogate at character 6',
    ],
    [
      'a message with an unpaired surrogate',
      {
        recipients: [
          { email: 'a@example.com', boxes: [{ title: 'T', messages: ['x', '\ude00'] }] },
        ],
      },
      'recipients[0].boxes[0].messages[1]: contains an unpaired UTF-16 surrogate at character 1',
    ],
    [
      'a message that is not a string',
      { recipients: [{ email: 'a@example.com', boxes: [{ title: 'T', messages: ['x', 5] }] }] },
      'recipients[0].boxes[0].messages[1]: expected a non-empty string',
    ],
    [
      'no messages',
      { recipients: [{ email: 'a@example.com', boxes: [{ title: 'T', messages: [] }] }] },
      'recipients[0].boxes[0].messages: expected at least one message',
    ],
  ];

  it.each(invalid)('rejects %s naming the field', (_name, value, message) => {
    const error = manifestError(JSON.stringify(value, null, 2));

    expect(error.message).toContain(message);
    expect(error.message).toMatch(/^m\.json:\d+:\d+: /);
  });

  it.each([
    ['.r@example.com', 'starts with a dot'],
    ['r.@example.com', 'ends with a dot'],
    ['r..s@example.com', 'contains two dots in a row'],
  ])('rejects email %j naming the dot problem', (email, problem) => {
    const error = manifestError(JSON.stringify({ recipients: [{ email, boxes: [box] }] }));

    expect(error.problems).toEqual([
      `m.json:1:17: recipients[0].email: invalid email address "${email}": the local part ` +
        `(before the "@") ${problem}; it must not start or end with a dot or contain two dots ` +
        'in a row',
    ]);
  });

  it.each([
    ['R.S@example.com', 'r.s@example.com'],
    ['first.middle.last@example.com', 'first.middle.last@example.com'],
    ['r.s+tag@example.com', 'r.s+tag@example.com'],
    ['j.ö.rg@Bücher.example', 'j.ö.rg@xn--bcher-kva.example'],
  ])('accepts email %j with inner dots', (email, normalized) => {
    const manifest = parseManifest(
      JSON.stringify({ recipients: [{ email, boxes: [box] }] }),
      'm.json',
    );
    const repeated = manifestError(
      JSON.stringify({
        recipients: [
          { email, boxes: [box] },
          { email: normalized, boxes: [box] },
        ],
      }),
    );

    expect(manifest.recipients).toEqual([{ email, boxes: [box] }]);
    expect(repeated.message).toContain('recipients[1].email: duplicate of recipients[0].email');
  });

  it('lists the problems of every recipient', () => {
    const text = JSON.stringify(
      {
        recipients: [
          { email: 'not an address', boxes: [{ title: 'Tab\there', messages: [''] }] },
          { email: 'ok@example.com', boxes: [box] },
          { email: 'b@example.com', boxes: [{ title: 'T', mesages: ['x'] }] },
        ],
      },
      null,
      2,
    );

    const error = manifestError(text);

    expect(error.problems.map((problem) => problem.replace(/^m\.json:\d+:\d+: /, ''))).toEqual([
      expect.stringMatching(/^recipients\[0\]\.email: invalid email address/),
      expect.stringMatching(/^recipients\[0\]\.boxes\[0\]\.title: contains U\+0009 \(tab\)/),
      'recipients[0].boxes[0].messages[0]: expected a non-empty string',
      'recipients[2].boxes[0].mesages: unknown field; expected only "title" and "messages"',
      'recipients[2].boxes[0].messages: expected an array with at least one message',
    ]);
    expect(error.message.split('\n')).toEqual(error.problems);
  });

  it('gives the line and column of the invalid field', () => {
    const text = [
      '{',
      '  "recipients": [',
      '    { "email": "a@example.com", "boxes": [',
      '      { "title": "", "messages": ["x"] }',
      '    ] }',
      '  ]',
      '}',
    ].join('\n');

    expect(manifestError(text).message).toBe(
      'm.json:4:9: recipients[0].boxes[0].title: expected a non-empty string',
    );
  });

  it('locates problems past valid recipients', () => {
    const text = [
      '{"recipients": [',
      '  {"email": "a@example.org", "boxes": [{"title": "A", "messages": ["x", {"file": "x"}]}]},',
      '  {"email": "b@example.org", "boxes": [{"title": "B", "messages": ["y"]}, {"title": "",',
      '    "messages": ["z"]}], "extra": [1]},',
      '  {"boxes": []}',
      ']}',
    ].join('\n');

    const error = manifestError(text);

    expect(error.problems).toEqual([
      expect.stringMatching(/^m\.json:2:74: recipients\[0\]\.boxes\[0\]\.messages\[1\]\.file: /),
      'm.json:4:26: recipients[1].extra: unknown field; expected only "email" and "boxes"',
      'm.json:3:76: recipients[1].boxes[1].title: expected a non-empty string',
      'm.json:5:3: recipients[2].email: expected a non-empty string',
      'm.json:5:4: recipients[2].boxes: expected at least one box, received an empty array',
    ]);
  });

  it('locates 20,000 problems in one pass', () => {
    const recipients = Array.from({ length: 20_000 }, (_, index) => ({
      email: `person${index}`,
      boxes: [box],
    }));
    const text = JSON.stringify({ recipients }, null, 1);

    const error = manifestError(text);

    expect(error.problems).toHaveLength(20_000);
    expect(error.problems[0]).toMatch(/^m\.json:4:4: recipients\[0\]\.email: /);
    expect(error.problems[19_999]).toMatch(
      /^m\.json:219993:4: recipients\[19999\]\.email: invalid email address "person19999"/,
    );
  }, 20_000);

  it.each([
    [
      'a trailing comma',
      '{\n  "recipients": [],\n}',
      'm.json:3:1: invalid JSON: property name expected',
    ],
    [
      'a missing comma',
      '{\n  "recipients": [\n    {} {}\n  ]\n}',
      'm.json:3:8: invalid JSON: comma expected',
    ],
    [
      'a comment',
      '{\n  // recipients\n  "recipients": []\n}',
      'm.json:2:3: invalid JSON: invalid comment token',
    ],
    ['an empty file', '', 'm.json:1:1: invalid JSON: value expected'],
    [
      'CSV text in a .json file',
      'email,title,message\n',
      'm.json:1:1: invalid JSON: invalid symbol',
    ],
  ])('gives the line and column of %s', (_name, text, message) => {
    expect(manifestError(text).message).toBe(message);
  });
});

describe('provisions send --manifest', () => {
  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'provisions-manifest-'));
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  const sendManifest = (path: string, env: Record<string, string> = {}) =>
    runCli(sendArgsWithoutServer(join(directory, 'k.json'), '--manifest', path), {
      env: {
        PROVISIONS_CLIENT_SECRET: 'secret',
        PROVISIONS_KEYSTORE_PASSPHRASE: 'passphrase',
        ...env,
      },
    });

  it('exits 2 with the file, line and field of an invalid manifest', async () => {
    const path = join(directory, 'bad-field.json');
    await writeFile(
      path,
      '{\n  "recipients": [\n    { "email": "a@example.com", "boxes": [{ "title": 7, "messages": ["x"] }] }\n  ]\n}\n',
    );

    const result = await sendManifest(path);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: ${path}:3:45: recipients[0].boxes[0].title: expected a non-empty string\n`,
    );
    expect(result.stdout).toBe('');
  });

  it('exits 2 for a leading dot in an email', async () => {
    const path = join(directory, 'leading-dot.json');
    await writeFile(
      path,
      '{\n  "recipients": [\n    { "email": ".r@example.com", "boxes": [{ "title": "T", "messages": ["x"] }] }\n  ]\n}\n',
    );

    const result = await sendManifest(path);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: ${path}:3:7: recipients[0].email: invalid email address ".r@example.com": ` +
        'the local part (before the "@") starts with a dot; it must not start or end with a dot ' +
        'or contain two dots in a row\n',
    );
    expect(result.stdout).toBe('');
  });

  it('hints at .csv for CSV text', async () => {
    const path = join(directory, 'people.txt');
    await writeFile(path, 'email,title,message\na@example.com,Box,hi\n');

    const result = await sendManifest(path);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: ${path}:1:1: invalid JSON: invalid symbol; a manifest whose name does not end in .csv is read as JSON, so give a CSV manifest a name ending in .csv\n`,
    );
  });

  it('reads a .CSV name as CSV', async () => {
    const path = join(directory, 'PEOPLE.CSV');
    await writeFile(path, 'email,title,message\nnot-an-address,Box,hi\n');

    const result = await sendManifest(path);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^provisions: .*PEOPLE\.CSV:2: column "email": invalid email address/,
    );
  });

  it('exits 2 with the line of invalid JSON', async () => {
    const path = join(directory, 'bad-json.json');
    await writeFile(
      path,
      '{\n  "recipients": [\n    { "email": "a@example.com" "boxes": [] }\n  ]\n}\n',
    );

    const result = await sendManifest(path);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`provisions: ${path}:3:32: invalid JSON: comma expected\n`);
  });

  it('exits 2 for a key given twice', async () => {
    const path = join(directory, 'duplicate-key.json');
    await writeFile(
      path,
      '{"recipients": [\n {"email": "b@example.org", "email": "c@example.org", "boxes": [{"title": "t", "messages": ["m"]}]}\n]}\n',
    );

    const result = await sendManifest(path);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: ${path}:2:29: "email" is given twice in one object; give each field once\n`,
    );
  });

  it('exits 2 for a manifest that is not UTF-8', async () => {
    const path = join(directory, 'latin1.json');
    const text =
      '{"recipients": [\n {"email": "a@example.org", "boxes": [{"title": "caf_", "messages": ["m"]}]}\n]}\n';
    const bytes = Buffer.from(text, 'latin1');
    bytes[text.indexOf('_')] = 0xe9;
    await writeFile(path, bytes);

    const result = await sendManifest(path);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: ${path}:2: the manifest is not valid UTF-8 text; save it as UTF-8\n`,
    );
  });

  it('names the line of invalid UTF-8 after a U+FFFD', async () => {
    const path = join(directory, 'replacement-character.csv');
    const text = 'email,title,message\na@example.org,T,\ufffd is fine\nb@example.org,T,caf_\n';
    const bytes = Buffer.from(text);
    bytes[bytes.indexOf('_')] = 0xe9;
    await writeFile(path, bytes);

    const result = await sendManifest(path);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: ${path}:3: the manifest is not valid UTF-8 text; save it as UTF-8\n`,
    );
  });

  it('names the line of invalid UTF-8 far into the file', async () => {
    const path = join(directory, 'late-latin1.csv');
    const rows = Array.from({ length: 50_000 }, (_, index) => `p${index}@example.org,Caf\u00e9,hi`);
    const bytes = Buffer.from(`email,title,message\n${rows.join('\n')}\nb@example.org,T,caf_\n`);
    bytes[bytes.lastIndexOf('_')] = 0xe9;
    await writeFile(path, bytes);

    await expect(readManifest(path)).rejects.toThrow(
      new ManifestError(`${path}:50002: the manifest is not valid UTF-8 text; save it as UTF-8`),
    );
  });

  it('reads characters that straddle two reads', async () => {
    const path = join(directory, 'wide-characters.csv');
    const message = '\u20ac'.repeat(30_000) + '\u{1f600}'.repeat(30_000);
    await writeFile(path, `email,title,message\na@example.org,Tx,${message}\n`);

    const manifest = await readManifest(path);

    expect(manifest.recipients[0]?.boxes[0]?.messages[0]).toBe(message);
  });

  it('drops a byte order mark at the start of a manifest', async () => {
    const csvPath = join(directory, 'bom.csv');
    const jsonPath = join(directory, 'bom.json');
    await writeFile(csvPath, '\ufeffemail,title,message\na@example.org,T,hi\n');
    await writeFile(
      jsonPath,
      `\ufeff${JSON.stringify({ recipients: [{ email: 'a@example.org', boxes: [box] }] })}`,
    );

    const fromCsv = await readManifest(csvPath);
    const fromJson = await readManifest(jsonPath);

    expect(fromCsv.recipients[0]?.email).toBe('a@example.org');
    expect(fromJson.recipients[0]?.email).toBe('a@example.org');
  });

  it('rejects a JSON manifest longer than a string can be', async () => {
    const path = join(directory, 'huge.json');
    // A sparse file: its size is set without writing the bytes.
    await writeFile(path, '');
    await truncate(path, constants.MAX_STRING_LENGTH + 1);

    const result = await sendManifest(path);
    await rm(path);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --manifest: ${path} has ${constants.MAX_STRING_LENGTH + 1} bytes; a JSON ` +
        `manifest can have at most ${constants.MAX_STRING_LENGTH}, so give a larger one as CSV ` +
        'or split it\n',
    );
  });

  it('checks 100,000 JSON recipients with a small heap', async () => {
    const path = join(directory, 'many.json');
    const recipients = Array.from({ length: 100_000 }, (_, index) => ({
      email: `person${index}@example.com`,
      boxes: [box],
    }));
    await writeFile(path, JSON.stringify({ recipients, note: 1 }, null, 1));

    // A tree of every JSON value took about 18 times the file's size, which a 256 MB heap
    // cannot hold for this 16 MB file.
    const result = await sendManifest(path, { NODE_OPTIONS: '--max-old-space-size=256' });
    await rm(path);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: ${path}:1100004:2: note: unknown field; expected only "recipients"\n`,
    );
  });

  it('stops at a 64 MB JSON string with a small heap', async () => {
    const path = join(directory, 'long-string.json');
    const file = await open(path, 'w');
    await file.write('{"recipients": [{"email": "a@example.org", "boxes": [{"title": "T", ');
    await file.write('"messages": ["');
    const chunk = 'x'.repeat(1024 * 1024);
    for (let written = 0; written < 64; written += 1) {
      await file.write(chunk);
    }
    await file.write('"]}]}]}\n');
    await file.close();

    const result = await sendManifest(path, {
      NODE_OPTIONS: '--max-old-space-size=256',
      PROVISIONS_REPORT_RESOURCES: '1',
    });
    await rm(path);

    const [error, resources, ...rest] = result.stderr.split('\n');
    expect(result.code).toBe(2);
    expect(error).toBe(
      `provisions: ${path}:1:82: a string is longer than ${MAX_MESSAGE_BYTES} bytes of UTF-8, ` +
        'the maximum for any field (the largest message the API accepts)',
    );
    expect(rest).toEqual(['']);
    const maxRssKb = JSON.parse(resources?.replace(/^resources: /, '') ?? '{}').max_rss_kb;
    expect(maxRssKb).toBeLessThan(200_000);
  });

  it('rejects a message file outside the manifest directory', async () => {
    for (const file of ['/etc/hostname', '../outside.txt']) {
      const path = join(directory, 'outside-file.json');
      await writeFile(
        path,
        JSON.stringify({
          recipients: [{ email: 'a@example.org', boxes: [{ title: 't', messages: [{ file }] }] }],
        }),
      );

      const result = await sendManifest(path);

      expect(result.code, file).toBe(2);
      expect(result.stderr).toContain(`file ${file} is outside the manifest's directory`);
    }
  });

  it('escapes a line feed in a message file name', async () => {
    const path = join(directory, 'line-feed-file.json');
    await writeFile(path, manifestWithFile('x\nprovisions: all good.txt'));

    const result = await sendManifest(path);

    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')).toEqual([
      `provisions: ${path}:1:76: recipients[0].boxes[0].messages[0].file: file ${join(directory, 'x')}\\nprovisions: all good.txt does not exist (ENOENT): check the path`,
      '',
    ]);
  });

  it('rejects the manifest directory as a message file', async () => {
    for (const file of ['.', 'sub/..']) {
      const path = join(directory, 'directory-file.json');
      await writeFile(path, manifestWithFile(file));

      const result = await sendManifest(path);

      expect(result.code, file).toBe(2);
      expect(result.stderr).toContain(
        `file ${file} is the manifest's directory; expected a regular text file`,
      );
    }
  });

  it('rejects a symbolic link to a file outside the manifest directory', async () => {
    const path = join(directory, 'link-out.json');
    await symlink('/etc/passwd', join(directory, 'passwd-link.txt'));
    await writeFile(path, manifestWithFile('passwd-link.txt'));

    const result = await sendManifest(path);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: ${path}:1:76: recipients[0].boxes[0].messages[0].file: file passwd-link.txt links to a path outside the manifest's directory; expected a file inside it\n`,
    );
    expect(result.stderr).not.toContain('root:');
  });

  it('rejects a message file reached through a linked directory outside', async () => {
    await mkdir(join(directory, 'linked'), { recursive: true });
    await symlink('/etc', join(directory, 'linked', 'etc'));
    const path = join(directory, 'linked', 'm.json');
    await writeFile(path, manifestWithFile('etc/hostname'));

    await expect(readManifest(path)).rejects.toThrow(/file etc\/hostname links to a path outside/);
  });

  it('rejects a symbolic link to a device without reading it', async () => {
    const path = join(directory, 'link-zero.json');
    await symlink('/dev/zero', join(directory, 'zero-link.txt'));
    await writeFile(path, manifestWithFile('zero-link.txt'));

    const result = await sendManifest(path);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "messages[0].file: file zero-link.txt links to a path outside the manifest's directory",
    );
  });

  it('rejects a named pipe without waiting for a writer', async () => {
    const path = join(directory, 'fifo.json');
    execFileSync('mkfifo', [join(directory, 'pipe.txt')]);
    await writeFile(path, manifestWithFile('pipe.txt'));

    const error = await readManifest(path).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ManifestError);
    expect((error as ManifestError).exitCode).toBe(2);
    expect((error as ManifestError).message).toContain(
      `messages[0].file: file ${join(directory, 'pipe.txt')} is a named pipe; expected a regular text file`,
    );
  });

  it('rejects a directory given as a message file', async () => {
    await mkdir(join(directory, 'folder.txt'), { recursive: true });
    const path = join(directory, 'folder.json');
    await writeFile(path, manifestWithFile('folder.txt'));

    await expect(readManifest(path)).rejects.toThrow(
      /is a directory; expected a regular text file/,
    );
  });

  it('removes a byte order mark at the start of a message file', async () => {
    await writeFile(join(directory, 'bom.txt'), '\ufeffhello \ufeff');
    const path = join(directory, 'bom.json');
    await writeFile(path, manifestWithFile('bom.txt'));

    const manifest = await readManifest(path);

    expect(manifest.recipients[0]?.boxes[0]?.messages).toEqual(['hello \ufeff']);
  });

  it('rejects a message file of only a byte order mark', async () => {
    await writeFile(join(directory, 'only-bom.txt'), '\ufeff');
    const path = join(directory, 'only-bom.json');
    await writeFile(path, manifestWithFile('only-bom.txt'));

    await expect(readManifest(path)).rejects.toThrow(
      /file .*only-bom\.txt contains only a byte order mark; expected a non-empty text file/,
    );
  });

  it('reads a symbolic link that stays inside the manifest directory', async () => {
    await mkdir(join(directory, 'notes'), { recursive: true });
    await writeFile(join(directory, 'notes', 'real.txt'), 'inside text');
    await symlink('notes/real.txt', join(directory, 'inside-link.txt'));
    const path = join(directory, 'inside.json');
    await writeFile(path, manifestWithFile('inside-link.txt'));

    const manifest = await readManifest(path);

    expect(manifest.recipients[0]?.boxes[0]?.messages).toEqual(['inside text']);
  });

  it('exits 2 naming the file for JSON nested too deeply', async () => {
    const path = join(directory, 'deep.json');
    await writeFile(path, '['.repeat(100_000));

    const result = await sendManifest(path);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: ${path}: invalid JSON: arrays or objects are nested too deeply; expected the manifest format\n`,
    );
  });

  it('words a missing manifest file', async () => {
    const path = join(directory, 'missing.json');

    const result = await sendManifest(path);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --manifest: ${path} does not exist (ENOENT): check the path\n`,
    );
  });

  it('words a missing message file', async () => {
    const path = join(directory, 'missing-message-file.json');
    await writeFile(path, manifestWithFile('missing.txt'));

    const result = await sendManifest(path);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: ${path}:1:76: recipients[0].boxes[0].messages[0].file: file ${join(directory, 'missing.txt')} does not exist (ENOENT): check the path\n`,
    );
  });

  it('exits 2 when a manifest and --to are both given', async () => {
    const result = await runCli(
      sendArgsWithoutServer('k', '--manifest', 'm', '--to', 'a@example.com'),
      { env: { PROVISIONS_CLIENT_SECRET: 'secret' } },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'provisions: give either --manifest or --to/--title/--message, not both\n',
    );
  });
});
