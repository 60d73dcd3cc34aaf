import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ProvisionKeystoreEntry } from '@provisions/core';
import { FileKeystore } from '@provisions/core/keystore';
import { encodeBase64Url, SHARE_LENGTH } from '@provisions/crypto';
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
