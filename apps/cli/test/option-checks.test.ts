import { execFile } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import {
  CLI_PATH,
  type CliResult,
  runCli,
  sendArgs,
  UNKNOWN_ORGANIZATION_ID,
  UNUSED_SERVER,
} from './support/run-cli.js';

const organizationEnv = {
  PROVISIONS_ORG_ID: UNKNOWN_ORGANIZATION_ID,
  PROVISIONS_CLIENT_SECRET: 'client-secret',
  PROVISIONS_KEYSTORE_PASSPHRASE: 'passphrase',
};

const link = `${UNUSED_SERVER}/join#provision:${Buffer.alloc(33, 7).toString('base64url')}`;

/** Commands that take --server and --org-id, each with the other arguments it requires. */
const organizationCommands: [string, string[]][] = [
  ['send', sendArgs('k.json', 'a@example.com', 't', 'm')],
  ['send --manifest', ['send', '--keystore', 'k.json', '--manifest', 'm.json']],
  ['keystore export', ['keystore', 'export', '--keystore', 'k.json', '--stdout']],
  ['revoke', ['revoke', 'A'.repeat(43)]],
];

describe('--server', () => {
  const commands: [string, string[]][] = [
    ...organizationCommands,
    ['redeem', ['redeem', link, '--email', 'a@example.com', '--code', '123456']],
  ];

  for (const [name, args] of commands) {
    it(`rejects URL credentials in ${name}`, async () => {
      const result = await runCli([...args, '--server', 'http://u:hunter2@127.0.0.1:9'], {
        env: organizationEnv,
      });

      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        'provisions: --server: expected a URL without a user name or password; the organization signs in with PROVISIONS_CLIENT_SECRET\n',
      );
      expect(result.stdout).toBe('');
    });
  }

  it('rejects a password given in PROVISIONS_SERVER', async () => {
    const result = await runCli(commands[0]?.[1] ?? [], {
      env: { ...organizationEnv, PROVISIONS_SERVER: 'https://:hunter2@api.example.com' },
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--server: expected a URL without a user name or password');
    expect(result.stderr).not.toContain('hunter2');
  });

  for (const server of [
    `${UNUSED_SERVER}/?token=hunter2`,
    `${UNUSED_SERVER}/#hunter2`,
    `${UNUSED_SERVER}?`,
  ]) {
    it(`rejects a query or fragment in ${server}`, async () => {
      const result = await runCli([...(commands[0]?.[1] ?? []), '--server', server], {
        env: organizationEnv,
      });

      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        'provisions: --server: expected a URL without a query (?) or fragment (#)\n',
      );
    });
  }
});

describe('send --print-links --json', () => {
  it('is a usage error, so stdout never mixes CSV and JSON', async () => {
    const result = await runCli(
      [
        'send',
        '--server',
        UNUSED_SERVER,
        '--keystore',
        'k.json',
        '--manifest',
        'm.json',
        '--print-links',
        '--json',
      ],
      { env: organizationEnv },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'provisions: give either --print-links or --json, not both: the JSON document already includes the links\n',
    );
    expect(result.stdout).toBe('');
  });
});

describe('redeem --code', () => {
  for (const code of ['abcdef', '12345', '1234567', '12 456']) {
    it(`rejects "${code}" before any request, without echoing it`, async () => {
      const result = await runCli(['redeem', link, '--email', 'a@example.com', '--code', code]);

      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        'provisions: --code: expected the 6 digits from the sign-in email\n',
      );
    });
  }
});

describe('keystore export', () => {
  it.each([
    [
      'neither --out nor --stdout',
      [],
      'missing --out FILE (written with mode 0600) or --stdout; give one of them',
    ],
    [
      '--out with --stdout',
      ['--out', 'links.csv', '--stdout'],
      'give either --out FILE (written with mode 0600) or --stdout, not both',
    ],
  ])('rejects %s', async (_case, options, problem) => {
    const result = await runCli(
      ['keystore', 'export', '--server', UNUSED_SERVER, '--keystore', 'k.json', ...options],
      { env: organizationEnv },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`provisions: ${problem}\n`);
  });
});

describe('send --title', () => {
  it('rejects a title of only white space as blank', async () => {
    const result = await runCli(
      [...sendArgs('k.json', 'a@example.com', '   ', 'm'), '--server', UNUSED_SERVER],
      { env: organizationEnv },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('provisions: --title: the value is blank (only white space)\n');
  });
});

describe('send --to', () => {
  it('rejects an empty value', async () => {
    const result = await runCli(
      [...sendArgs('k.json', '', 'Box', 'm'), '--server', UNUSED_SERVER],
      { env: organizationEnv },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('provisions: --to: the value is empty\n');
  });
});

describe('send --message', () => {
  it.each([
    ['\ufeff', 'expected a non-empty string with a character that is not white space'],
    ['\ufeff\ufeff ', 'expected a non-empty string with a character that is not white space'],
    [
      '\u200b',
      'expected a visible character, received only white space and invisible characters such as U+200B at character 1',
    ],
  ])('rejects the invisible message %j', async (message, problem) => {
    const result = await runCli(
      [...sendArgs('k.json', 'a@example.com', 'Box', message), '--server', UNUSED_SERVER],
      { env: organizationEnv },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`provisions: --message: ${problem}\n`);
  });
});

describe('--org-id', () => {
  for (const [name, args] of organizationCommands) {
    it(`rejects an id that is not a UUID in ${name} before any request`, async () => {
      const result = await runCli([...args, '--server', UNUSED_SERVER], {
        env: { ...organizationEnv, PROVISIONS_ORG_ID: 'garbage' },
      });

      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        'provisions: --org-id or PROVISIONS_ORG_ID: expected the organization id, a UUID such as 0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11\n',
      );
    });
  }
});

/**
 * Runs `provisions send` through sh, whose printf passes bytes that are not UTF-8 as arguments,
 * which child_process cannot do. `title` and `message` are printf formats, such as `caf\\351`.
 */
function sendWithBytes(
  title: string,
  message: string,
  more: { to?: string; passphrase?: string } = {},
): Promise<CliResult> {
  const passphrase =
    more.passphrase === undefined
      ? ''
      : `PROVISIONS_KEYSTORE_PASSPHRASE="$(printf '${more.passphrase}')"; export PROVISIONS_KEYSTORE_PASSPHRASE; `;
  const script = `${passphrase}exec "$0" "$1" send --server ${UNUSED_SERVER} --keystore k.json --to "$(printf '${more.to ?? 'a@example.com'}')" --title "$(printf '${title}')" --message first "$(printf '${message}')"`;
  return new Promise((resolve) => {
    execFile(
      '/bin/sh',
      ['-c', script, process.execPath, CLI_PATH],
      { env: { PATH: process.env.PATH ?? '', ...organizationEnv } },
      (error, stdout, stderr) => {
        let code = 0;
        if (error !== null) {
          code = typeof error.code === 'number' ? error.code : -1;
        }
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('send argument and passphrase bytes', () => {
  it('rejects a title that is not UTF-8', async () => {
    const result = await sendWithBytes('caf\\351', 'm');

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'provisions: --title: the value is not valid UTF-8 text; convert it to UTF-8 (for example with iconv)\n',
    );
  });

  it('rejects a message that is not UTF-8', async () => {
    const result = await sendWithBytes('Title', 'caf\\351');

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'provisions: --message: the value is not valid UTF-8 text; convert it to UTF-8 (for example with iconv)\n',
    );
  });

  it('rejects an address that is not UTF-8', async () => {
    const result = await sendWithBytes('Title', 'm', { to: 'u\\377@example.com' });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'provisions: --to: the value is not valid UTF-8 text; convert it to UTF-8 (for example with iconv)\n',
    );
  });

  it('rejects a passphrase variable that is not UTF-8', async () => {
    const result = await sendWithBytes('Title', 'm', { passphrase: 'pass\\377' });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'provisions: PROVISIONS_KEYSTORE_PASSPHRASE: the value is not valid UTF-8 text; set it to UTF-8 text (for example with iconv)\n',
    );
  });

  it('accepts a U+FFFD written in UTF-8', async () => {
    const result = await sendWithBytes('\\357\\277\\275', '\\357\\277\\275');

    // The next step, the request to the unused port, fails instead.
    expect(result.stderr).toContain('cannot reach the server');
    expect(result.code).toBe(1);
  });
});
