import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { sendArgs } from './support/run-cli.js';
import { HAS_SCRIPT, runInTerminal } from './support/terminal.js';
import { startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
let workDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-prompt-'));
  env = {
    PROVISIONS_SERVER: server.url,
    PROVISIONS_ORG_ID: server.organizationId,
    PROVISIONS_CLIENT_SECRET: server.clientSecret,
  };
});

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

describe.skipIf(!HAS_SCRIPT)('keystore passphrase typed at the terminal', () => {
  it('rejects two different passphrases for a new keystore', async () => {
    const keystore = join(workDir, 'mismatch.json');
    const cli = runInTerminal(sendArgs(keystore, 'ada@example.com', 'Box', 'hello'), env);

    await cli.waitFor('New keystore passphrase: ');
    cli.type('first passphrase');
    await cli.waitFor('Repeat the passphrase: ');
    cli.type('second passphrase');

    expect(await cli.exited).toBe(2);
    expect(cli.output()).toContain(
      `provisions: the two passphrases do not match, so keystore ${keystore} was not created: run the command again`,
    );
    expect(cli.output()).not.toContain('first passphrase');
    expect(cli.output()).not.toContain('second passphrase');
    await expect(stat(keystore)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('creates the keystore when both match, then asks once', async () => {
    const keystore = join(workDir, 'match.json');
    const first = runInTerminal(sendArgs(keystore, 'grace@example.org', 'Box', 'hello'), env);
    await first.waitFor('New keystore passphrase: ');
    first.type('same passphrase');
    await first.waitFor('Repeat the passphrase: ');
    first.type('same passphrase');
    expect(await first.exited).toBe(0);

    const second = runInTerminal(sendArgs(keystore, 'grace@example.org', 'Box', 'again'), env);
    await second.waitFor('Keystore passphrase: ');
    second.type('same passphrase');

    expect(await second.exited).toBe(0);
    expect(second.output()).toContain('grace@example.org: link reused');
    expect(second.output()).not.toContain('Repeat the passphrase');
    expect(second.output()).not.toContain('New keystore passphrase');
  });

  it('exits with 130 on Ctrl-C', async () => {
    const keystore = join(workDir, 'interrupted.json');
    const cli = runInTerminal(sendArgs(keystore, 'ada@example.com', 'Box', 'hello'), env);

    await cli.waitFor('New keystore passphrase: ');
    cli.interrupt();

    expect(await cli.exited).toBe(130);
    expect(cli.output()).toMatch(
      /New keystore passphrase: .*\r\nprovisions: interrupted at the prompt "New keystore passphrase:"\r\n$/,
    );
    expect(cli.output()).not.toMatch(/^\s+at /m);
    await expect(stat(keystore)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('leaves no journal after Ctrl-C in a manifest run', async () => {
    const runDir = join(workDir, 'interrupted-run');
    const manifest = join(runDir, 'recipients.csv');
    await mkdir(runDir);
    await writeFile(manifest, 'email,title,message\nada@example.com,Box,hello\n');
    const cli = runInTerminal(
      ['send', '--manifest', manifest, '--keystore', join(runDir, 'keystore.json')],
      env,
    );

    await cli.waitFor('New keystore passphrase: ');
    cli.interrupt();

    expect(await cli.exited).toBe(130);
    expect(cli.output()).toContain(
      'provisions: interrupted at the prompt "New keystore passphrase:"',
    );
    expect(await readdir(runDir)).toEqual(['recipients.csv']);
  });
});
