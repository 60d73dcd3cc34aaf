import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ProvisionKeystoreEntry } from '@provisions/core';
import { FileKeystore } from '@provisions/core/keystore';
import { createProvision, encodeBase64Url, SHARE_LENGTH } from '@provisions/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readKeystoreEncryption } from '../src/keystore-access.js';
import { writeManifest } from './support/manifest-file.js';
import { runCli, TEST_KDF_COST } from './support/run-cli.js';
import { serverEnv, startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
let workDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-server-share-'));
  env = serverEnv(server, 'server share test passphrase');
});

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

/** Opens the keystore at `path` as the CLI does, runs `action` on it and closes it. */
async function withKeystore<T>(
  path: string,
  action: (keystore: FileKeystore) => Promise<T>,
): Promise<T> {
  const keystore = await FileKeystore.open(path, {
    passphrase: env.PROVISIONS_KEYSTORE_PASSPHRASE as string,
    organizationId: server.organizationId,
    serverUrl: server.url,
    encryption: readKeystoreEncryption({ PROVISIONS_KEYSTORE_KDF_COST: TEST_KDF_COST }),
  });
  try {
    return await action(keystore);
  } finally {
    await keystore.close();
  }
}

/** Returns the emails whose keystore entry still contains the server's key share. */
function emailsWithServerShare(keystore: FileKeystore): string[] {
  return keystore
    .list()
    .filter(([, entry]) => entry.misakey_key_share !== undefined)
    .map(([email]) => email);
}

describe('send --manifest run again', () => {
  it('drops a server share left in a finished entry', async () => {
    const manifest = await writeManifest(workDir, 'leftover', 3);
    const keystorePath = join(workDir, 'leftover-keystore.json');
    const args = ['send', '--manifest', manifest, '--keystore', keystorePath];
    const first = await runCli(args, { env });
    expect(first.code).toBe(0);
    // A process that ends after a recipient's last journal line and before the keystore write
    // that drops the server's share leaves the entry like this.
    await withKeystore(keystorePath, async (keystore) => {
      const entry = (await keystore.get('leftover1@example.com')) as ProvisionKeystoreEntry;
      await keystore.put('leftover1@example.com', {
        ...entry,
        misakey_key_share: encodeBase64Url(randomBytes(SHARE_LENGTH)),
      });
    });

    const again = await runCli(args, { env });

    expect(again.code).toBe(0);
    expect(again.stderr).toContain('recipients: 3 of 3 done, 0 failed');
    const leftover = await withKeystore(keystorePath, async (keystore) =>
      emailsWithServerShare(keystore),
    );
    expect(leftover).toEqual([]);
  });
});

/**
 * Stores a new provision for `email` in the keystore as a manifest run does before its first
 * request: with the server's share, and without sending it to the server.
 */
async function storeUnsentProvision(keystore: FileKeystore, email: string): Promise<string> {
  const provision = await createProvision();
  await keystore.put(email, {
    public_key: provision.payload.public_key,
    user_key_share: encodeBase64Url(provision.userKeyShare),
    created_at: new Date().toISOString(),
    misakey_key_share: provision.payload.misakey_key_share,
  });
  return provision.payload.public_key;
}

describe('keystore entries of an unfinished run', () => {
  it('export leaves them out', async () => {
    const manifest = await writeManifest(workDir, 'export', 2);
    const keystorePath = join(workDir, 'export-keystore.json');
    const keystoreEnv = { ...env, PROVISIONS_KEYSTORE: keystorePath };
    // One at a time, so the links come out in manifest order, which is the order of export.
    const sent = await runCli(
      ['send', '--manifest', manifest, '--print-links', '--concurrency', '1'],
      { env: keystoreEnv },
    );
    expect(sent.code).toBe(0);
    await withKeystore(keystorePath, async (keystore) => {
      await storeUnsentProvision(keystore, 'unsent@example.com');
    });
    const out = join(workDir, 'export-links.csv');

    const exported = await runCli(['keystore', 'export', '--out', out], { env: keystoreEnv });

    expect(exported.code).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(sent.stdout);
    expect(exported.stderr.split('\n')).toEqual([
      `2 links written to ${out} (mode 0600)`,
      'provisions: 1 entry left out because the send --manifest run that created its provision has not finished, so the server may not have that provision: unsent@example.com. Run that send command again to finish it, then export again; "provisions keystore list" marks such entries as pending',
      '',
    ]);
  });

  it('list marks them as pending', async () => {
    const manifest = await writeManifest(workDir, 'list', 1);
    const keystorePath = join(workDir, 'list-keystore.json');
    const keystoreEnv = { ...env, PROVISIONS_KEYSTORE: keystorePath };
    const sent = await runCli(['send', '--manifest', manifest], { env: keystoreEnv });
    expect(sent.code).toBe(0);
    const unsentKey = await withKeystore(keystorePath, (keystore) =>
      storeUnsentProvision(keystore, 'unsent@example.com'),
    );

    const listed = await runCli(['keystore', 'list'], { env: keystoreEnv });
    const listedJson = await runCli(['keystore', 'list', '--json'], { env: keystoreEnv });

    expect(listed.code).toBe(0);
    const lines = listed.stdout.split('\n');
    expect(lines[0]).toMatch(/^list0@example\.com {2}[\w-]{43} {2}\S+Z$/);
    expect(lines[1]).toMatch(
      new RegExp(`^unsent@example\\.com {2}${unsentKey} {2}\\S+Z {2}pending$`),
    );
    expect(lines.slice(2)).toEqual(['']);
    expect(listed.stderr).toBe(`2 entries (1 pending) in ${keystorePath}\n`);
    expect(listedJson.code).toBe(0);
    const entries = JSON.parse(listedJson.stdout).entries as { email: string; pending: boolean }[];
    expect(entries.map((entry) => [entry.email, entry.pending])).toEqual([
      ['list0@example.com', false],
      ['unsent@example.com', true],
    ]);
  });
});

describe('send --manifest with a truncated keystore', () => {
  it('stops once before changing it', async () => {
    const manifest = await writeManifest(workDir, 'truncated', 3);
    const keystorePath = join(workDir, 'truncated-keystore.json');
    const args = ['send', '--manifest', manifest, '--keystore', keystorePath, '--concurrency', '1'];
    const first = await runCli(args, { env });
    expect(first.code).toBe(0);
    // Keep the header, the record of the run, the first entry and half of the next record, as
    // a copy cut short does. Two of the three entries are then gone.
    const lines = (await readFile(keystorePath, 'utf8')).split('\n');
    const fourth = lines[3] as string;
    const truncated = `${lines.slice(0, 3).join('\n')}\n${fourth.slice(0, fourth.length / 2)}`;
    await writeFile(keystorePath, truncated);

    const stopped = await runCli(args, { env });

    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toBe(
      `provisions: keystore ${keystorePath} ends in a cut record and has no entry for 2 recipients whose provisions journal ${manifest}.journal records, such as truncated1@example.com: another program truncated it, because a crash cuts only a record that no run relied on. Nothing was sent, and the keystore was not changed. Restore the keystore from a copy that has these entries, then run the same command again. If no copy has them, run the same command again to finish the run without them: they fail, and a copy restored later would lack the entries that this run adds\n`,
    );
    expect(await readFile(keystorePath, 'utf8')).toBe(truncated);

    const resumed = await runCli(args, { env });

    expect(resumed.code).toBe(3);
    expect(resumed.stderr).toContain('recipients: 1 of 3 done, 2 failed');
    expect(resumed.stderr).toContain(
      "failed: truncated1@example.com: the keystore entry of this recipient's provision is missing",
    );
  });
});
