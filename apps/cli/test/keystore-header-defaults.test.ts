import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli, sendArgs, UNKNOWN_ORGANIZATION_ID, UNUSED_SERVER } from './support/run-cli.js';
import { serverEnv, startTestServer, type TestServer } from './support/test-server.js';

const PASSPHRASE = 'header defaults passphrase';

let server: TestServer;
let workDir: string;
let keystore: string;
let link: string;
/** The environment of `keystore list` and `export`: the passphrase only. */
let passphraseOnly: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-keystore-header-'));
  keystore = join(workDir, 'keystore.json');
  passphraseOnly = { PROVISIONS_KEYSTORE_PASSPHRASE: PASSPHRASE };

  const sent = await runCli([...sendArgs(keystore, 'ada@example.com', 'Box', 'hello'), '--json'], {
    env: serverEnv(server, PASSPHRASE),
  });
  expect(sent.code).toBe(0);
  link = JSON.parse(sent.stdout).recipients[0].link as string;
});

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

const listArgs = (): string[] => ['keystore', 'list', '--keystore', keystore, '--json'];
const exportArgs = (): string[] => ['keystore', 'export', '--keystore', keystore, '--stdout'];

describe('keystore list and export without --server and --org-id', () => {
  it('list takes both from the keystore', async () => {
    const result = await runCli(listArgs(), { env: passphraseOnly });

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(
      JSON.parse(result.stdout).entries.map((entry: { email: string }) => entry.email),
    ).toEqual(['ada@example.com']);
  });

  it('export takes both from the keystore', async () => {
    const result = await runCli(exportArgs(), { env: passphraseOnly });

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`email,link\nada@example.com,${link}\n`);
    expect(link.startsWith(`${server.url}/join#provision:`)).toBe(true);
  });

  it.each([
    ['list', listArgs],
    ['export', exportArgs],
  ])('%s accepts values that match the keystore', async (_command, args) => {
    const result = await runCli(
      [...args(), '--server', `${server.url}/`, '--org-id', server.organizationId.toUpperCase()],
      { env: passphraseOnly },
    );

    expect(result.stderr).not.toContain('provisions:');
    expect(result.code).toBe(0);
  });
});

describe('keystore list and export with values of another keystore', () => {
  it.each([
    ['list', listArgs],
    ['export', exportArgs],
  ])('%s rejects another --server', async (_command, args) => {
    const result = await runCli([...args(), '--server', UNUSED_SERVER], { env: passphraseOnly });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --server ${UNUSED_SERVER} does not match keystore ${keystore}, which belongs to server ${server.url}: leave out --server to use the keystore's server, or give the keystore of ${UNUSED_SERVER}\n`,
    );
    expect(result.stdout).toBe('');
  });

  it.each([
    ['list', listArgs],
    ['export', exportArgs],
  ])('%s rejects another organization in the environment', async (_command, args) => {
    const result = await runCli(args(), {
      env: { ...passphraseOnly, PROVISIONS_ORG_ID: UNKNOWN_ORGANIZATION_ID },
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: PROVISIONS_ORG_ID ${UNKNOWN_ORGANIZATION_ID} does not match keystore ${keystore}, which belongs to organization ${server.organizationId}: unset PROVISIONS_ORG_ID to use the keystore's organization, or give the keystore of organization ${UNKNOWN_ORGANIZATION_ID}\n`,
    );
    expect(result.stdout).toBe('');
  });

  it('checks the values before asking for the passphrase', async () => {
    const result = await runCli([...listArgs(), '--server', UNUSED_SERVER]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--server ${UNUSED_SERVER} does not match keystore`);
  });

  it('still rejects a malformed --org-id', async () => {
    const result = await runCli([...listArgs(), '--org-id', 'not-a-uuid'], {
      env: passphraseOnly,
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'provisions: --org-id or PROVISIONS_ORG_ID: expected the organization id, a UUID such as 0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11\n',
    );
  });
});

describe('keystore export of a keystore bound to a data directory', () => {
  it('asks for --app-url when the server is not an http URL', async () => {
    const dataDir = join(workDir, 'demo');
    const demo = await runCli(['demo', '--data-dir', dataDir, '--json']);
    expect(demo.code).toBe(0);
    const demoKeystore = join(dataDir, 'keystore.json');
    const demoEnv = {
      PROVISIONS_KEYSTORE_PASSPHRASE: (
        await readFile(join(dataDir, 'keystore-passphrase'), 'utf8')
      ).trim(),
    };
    const demoServer = JSON.parse(demo.stdout).server as string;
    const serverDataDirUrl = `file://${join(dataDir, 'server')}`;

    const listed = await runCli(['keystore', 'list', '--keystore', demoKeystore], {
      env: demoEnv,
    });
    const unaddressed = await runCli(
      ['keystore', 'export', '--keystore', demoKeystore, '--stdout'],
      {
        env: demoEnv,
      },
    );
    const addressed = await runCli(
      ['keystore', 'export', '--keystore', demoKeystore, '--stdout', '--app-url', demoServer],
      { env: demoEnv },
    );

    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^alan@example\.net {2}/);
    expect(unaddressed.code).toBe(2);
    expect(unaddressed.stderr).toBe(
      `provisions: keystore ${demoKeystore} belongs to server ${serverDataDirUrl}, which is not an http or https URL, so the links cannot start with it: give their address with --app-url URL\n`,
    );
    expect(addressed.code).toBe(0);
    expect(addressed.stdout).toContain(`alan@example.net,${demoServer}/join#provision:`);
  });
});
