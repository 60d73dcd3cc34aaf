// These calls compile only if the option and entry types accept undefined, because the
// package's tsconfig.json sets exactOptionalPropertyTypes and its typecheck script runs `tsc`
// on the tests. The runtime checks show that an undefined field is treated as a missing one.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { encodeBase64Url, generateKeyPair, SCRYPT_MIN_N } from '@provisions/crypto';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';

import {
  MemoryKeystore,
  type ProvisionKeystoreEntry,
  validateKeystoreEntry,
} from '../src/index.js';
import {
  FileKeystore,
  type FileKeystoreOptions,
  type PassphraseEncryptionOptions,
} from '../src/keystore.js';

const organizationId = '0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11';
const serverUrl = 'http://127.0.0.1:8080';

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'provisions-core-types-'));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Opens a keystore with optional values forwarded as fields, undefined when omitted. */
function openWith(path: string, mustExist?: boolean, scryptN?: number): Promise<FileKeystore> {
  return FileKeystore.open(path, {
    passphrase: 'correct horse battery staple',
    organizationId,
    serverUrl,
    mustExist,
    encryption: { scryptN },
  });
}

async function makeEntry(misakeyKeyShare?: string): Promise<ProvisionKeystoreEntry> {
  const { publicKey } = await generateKeyPair();
  return {
    public_key: encodeBase64Url(publicKey),
    user_key_share: encodeBase64Url(crypto.getRandomValues(new Uint8Array(33))),
    created_at: '2025-01-02T03:04:05.678Z',
    misakey_key_share: misakeyKeyShare,
  };
}

/** Reads the scrypt cost of a version 2 keystore file from its clear header line. */
async function headerLog2N(path: string): Promise<number> {
  const [header = ''] = (await readFile(path, 'utf8')).split('\n');
  return JSON.parse(header).kdf.log2_n;
}

describe('optional fields under exactOptionalPropertyTypes', () => {
  it('accept undefined in FileKeystore options', () => {
    expectTypeOf<{ mustExist: boolean | undefined }>().toExtend<Partial<FileKeystoreOptions>>();
    expectTypeOf<{
      encryption: PassphraseEncryptionOptions | undefined;
    }>().toExtend<Partial<FileKeystoreOptions>>();
    expectTypeOf<{ scryptN: number | undefined }>().toExtend<PassphraseEncryptionOptions>();
  });

  it('accept undefined in keystore entries', () => {
    expectTypeOf<{
      misakey_key_share: string | undefined;
    }>().toExtend<Partial<ProvisionKeystoreEntry>>();
  });

  it('treat undefined mustExist as false', async () => {
    const path = join(directory, 'new.json');

    const keystore = await openWith(path, undefined, SCRYPT_MIN_N);

    expect(keystore.list()).toEqual([]);
    await keystore.close();
  });

  it('use default cost for undefined scryptN', async () => {
    const forwarded = join(directory, 'forwarded.json');
    const keystore = await openWith(forwarded);
    await keystore.put('ada@example.com', await makeEntry());
    await keystore.close();

    const unset = join(directory, 'unset.json');
    const other = await FileKeystore.open(unset, {
      passphrase: 'correct horse battery staple',
      organizationId,
      serverUrl,
      encryption: undefined,
    });
    await other.put('ada@example.com', await makeEntry());
    await other.close();

    // 2^17 is the documented default cost of a new keystore.
    expect(await headerLog2N(forwarded)).toBe(17);
    expect(await headerLog2N(unset)).toBe(17);
  });

  it('drop undefined misakey_key_share', async () => {
    const entry = await makeEntry(undefined);
    const memory = new MemoryKeystore();
    await memory.put('ada@example.com', entry);
    const path = join(directory, 'entries.json');
    const file = await openWith(path, false, SCRYPT_MIN_N);
    await file.put('ada@example.com', entry);
    await file.close();
    const reopened = await openWith(path, true, SCRYPT_MIN_N);

    expect(validateKeystoreEntry(entry, 'entry')).not.toHaveProperty('misakey_key_share');
    expect(await memory.get('ada@example.com')).not.toHaveProperty('misakey_key_share');
    expect(await reopened.get('ada@example.com')).not.toHaveProperty('misakey_key_share');
    await reopened.close();
  });
});
