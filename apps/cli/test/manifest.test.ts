import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXAMPLE_MANIFEST_PATH } from '../src/commands/demo.js';
import { ManifestError, parseManifest, readManifest } from '../src/manifest.js';
import { runCli } from './support/run-cli.js';

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

  const sendManifest = (path: string) =>
    runCli(
      [
        'send',
        '--server',
        'http://127.0.0.1:9',
        '--org-id',
        'org',
        '--keystore',
        join(directory, 'k.json'),
        '--manifest',
        path,
      ],
      {
        env: { PROVISIONS_CLIENT_SECRET: 'secret', PROVISIONS_KEYSTORE_PASSPHRASE: 'passphrase' },
      },
    );

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

  it('exits 2 for a missing manifest file', async () => {
    const result = await sendManifest(join(directory, 'missing.json'));

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cannot read the manifest (ENOENT)');
  });

  it('exits 2 when a manifest and --to are both given', async () => {
    const result = await runCli(
      [
        'send',
        '--server',
        'http://127.0.0.1:9',
        '--org-id',
        'o',
        '--keystore',
        'k',
        '--manifest',
        'm',
        '--to',
        'a@example.com',
      ],
      { env: { PROVISIONS_CLIENT_SECRET: 'secret' } },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'provisions: give either --manifest or --to/--title/--message, not both\n',
    );
  });
});
