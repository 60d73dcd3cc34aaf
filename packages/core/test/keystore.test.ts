import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { encodeBase64Url, generateKeyPair, SCRYPT_MIN_N } from '@provisions/crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { KeystoreError, type ProvisionKeystoreEntry } from '../src/index.js';
import { FileKeystore, KEYSTORE_FORMAT, KEYSTORE_VERSION } from '../src/keystore.js';

const passphrase = 'correct horse battery staple';
const organizationId = '0b6ad0a4-4f2b-4f84-9a3c-6f0d5e7f2d11';
const serverUrl = 'http://127.0.0.1:8080';
const encryption = { scryptN: SCRYPT_MIN_N };

let directory: string;
let path: string;

async function makeEntry(): Promise<ProvisionKeystoreEntry> {
  const { publicKey } = await generateKeyPair();
  const share = crypto.getRandomValues(new Uint8Array(33));
  return {
    public_key: encodeBase64Url(publicKey),
    user_key_share: encodeBase64Url(share),
    created_at: '2025-01-02T03:04:05.678Z',
  };
}

async function openKeystore(overrides: Partial<Parameters<typeof FileKeystore.open>[1]> = {}) {
  return FileKeystore.open(path, {
    passphrase,
    organizationId,
    serverUrl,
    encryption,
    ...overrides,
  });
}

async function openError(
  overrides: Partial<Parameters<typeof FileKeystore.open>[1]>,
): Promise<KeystoreError> {
  try {
    await openKeystore(overrides);
  } catch (error) {
    expect(error).toBeInstanceOf(KeystoreError);
    return error as KeystoreError;
  }
  throw new Error('expected FileKeystore.open to fail');
}

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'provisions-keystore-'));
  path = join(directory, 'keystore.json');
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('FileKeystore', () => {
  it('creates a missing file on put', async () => {
    const keystore = await openKeystore();

    expect(await keystore.get('ada@example.com')).toBeUndefined();
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });

    await keystore.put('ada@example.com', await makeEntry());

    expect((await stat(path)).isFile()).toBe(true);
  });

  it('stores entries that a new instance reads back', async () => {
    const entry = await makeEntry();
    const first = await openKeystore();
    await first.put('Ada@Example.COM', entry);

    const second = await openKeystore();

    expect(await second.get('ada@example.com')).toEqual(entry);
    expect(await second.get(' ADA@example.com ')).toEqual(entry);
    expect(await second.get('grace@example.org')).toBeUndefined();
  });

  it('writes the documented file format', async () => {
    const entry = await makeEntry();
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', entry);

    const file = JSON.parse(await readFile(path, 'utf8'));

    expect(Object.keys(file).sort()).toEqual([
      'envelope',
      'format',
      'organization_id',
      'server_url',
      'version',
    ]);
    expect(file.format).toBe(KEYSTORE_FORMAT);
    expect(file.version).toBe(KEYSTORE_VERSION);
    expect(file.organization_id).toBe(organizationId);
    expect(file.server_url).toBe(serverUrl);
    expect(file.envelope).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('never writes the share or the email in clear', async () => {
    const entry = await makeEntry();
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', entry);

    const text = await readFile(path, 'utf8');

    expect(text).not.toContain(entry.user_key_share);
    expect(text).not.toContain(entry.public_key);
    expect(text).not.toContain('ada@example.com');
  });

  it('writes the file with mode 0600 whatever the umask', async () => {
    const keystore = await openKeystore();
    const previousUmask = process.umask(0);
    try {
      await keystore.put('ada@example.com', await makeEntry());
    } finally {
      process.umask(previousUmask);
    }

    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('restores mode 0600 on a file that was widened', async () => {
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', await makeEntry());
    await chmod(path, 0o644);

    await keystore.put('grace@example.org', await makeEntry());

    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('replaces the file by rename, leaving no temporary file', async () => {
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', await makeEntry());
    const before = await stat(path);

    await keystore.put('grace@example.org', await makeEntry());
    const after = await stat(path);

    expect(after.ino).not.toBe(before.ino);
    expect(await readdir(directory)).toEqual(['keystore.json']);
  });

  it('cleans up after a failed rename', async () => {
    const keystore = await openKeystore();
    await mkdir(join(path, 'blocker'), { recursive: true });

    const failure = keystore.put('ada@example.com', await makeEntry());

    await expect(failure).rejects.toMatchObject({ code: 'ERR_KEYSTORE_IO' });
    expect(await readdir(directory)).toEqual(['keystore.json']);
    expect(await keystore.get('ada@example.com')).toBeUndefined();
  });

  it('keeps its entries when encryption fails', async () => {
    const keystore = await openKeystore();
    const adaEntry = await makeEntry();
    await keystore.put('ada@example.com', adaEntry);
    const before = await readFile(path, 'utf8');
    const broken = await openKeystore({ encryption: { scryptN: 3 } });

    await expect(broken.put('grace@example.org', await makeEntry())).rejects.toThrow(/scryptN/);

    expect(await readFile(path, 'utf8')).toBe(before);
    expect(await broken.get('grace@example.org')).toBeUndefined();
    expect(await broken.get('ada@example.com')).toEqual(adaEntry);
  });

  it('keeps every entry of concurrent puts', async () => {
    const keystore = await openKeystore();
    const emails = ['a@example.com', 'b@example.com', 'c@example.com'];
    const entries = await Promise.all(emails.map(() => makeEntry()));

    await Promise.all(
      emails.map((email, index) => keystore.put(email, entries[index] as ProvisionKeystoreEntry)),
    );
    const reopened = await openKeystore();

    for (const [index, email] of emails.entries()) {
      expect(await reopened.get(email)).toEqual(entries[index]);
    }
  });

  it('says the passphrase is wrong', async () => {
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', await makeEntry());

    const error = await openError({ passphrase: 'not the passphrase' });

    expect(error.code).toBe('ERR_KEYSTORE_WRONG_PASSPHRASE');
    expect(error.message).toContain('passphrase is wrong');
    expect(error.message).not.toMatch(/corrupt/i);
    expect(error.message).not.toContain('not the passphrase');
  });

  it('rejects another organization before decrypting', async () => {
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', await makeEntry());

    const error = await openError({
      organizationId: '11111111-2222-4333-8444-555555555555',
      passphrase: 'wrong too',
    });

    expect(error.code).toBe('ERR_KEYSTORE_MISMATCH');
    expect(error.message).toContain(`belongs to organization ${organizationId}`);
  });

  it('rejects another server before decrypting', async () => {
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', await makeEntry());

    const error = await openError({
      serverUrl: 'https://api.example.com',
      passphrase: 'wrong too',
    });

    expect(error.code).toBe('ERR_KEYSTORE_MISMATCH');
    expect(error.message).toContain(`belongs to server ${serverUrl}`);
  });

  it('treats a trailing slash as the same server', async () => {
    const entry = await makeEntry();
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', entry);

    const reopened = await openKeystore({ serverUrl: `${serverUrl}/` });

    expect(await reopened.get('ada@example.com')).toEqual(entry);
  });

  it.each([
    ['not JSON', 'not json', /not valid JSON/],
    [
      'another format',
      JSON.stringify({ format: 'other', version: 1 }),
      /format: expected "provisions-keystore"/,
    ],
    [
      'another version',
      JSON.stringify({ format: KEYSTORE_FORMAT, version: 2 }),
      /version: expected 1, received 2/,
    ],
    [
      'a missing envelope',
      JSON.stringify({
        format: KEYSTORE_FORMAT,
        version: 1,
        organization_id: organizationId,
        server_url: serverUrl,
      }),
      /envelope: expected a non-empty string/,
    ],
  ])('rejects a file with %s', async (_name, content, message) => {
    await writeFile(path, content);

    const error = await openError({});

    expect(error.code).toBe('ERR_KEYSTORE_INVALID');
    expect(error.message).toMatch(message);
  });

  it('rejects an invalid entry naming its field', async () => {
    const keystore = await openKeystore();
    const entry = await makeEntry();

    const put = keystore.put('ada@example.com', {
      ...entry,
      user_key_share: entry.user_key_share.slice(1),
    });

    await expect(put).rejects.toThrow(/user_key_share: expected 33 bytes/);
    await expect(put).rejects.toMatchObject({ code: 'ERR_KEYSTORE_INVALID' });
    await expect(put).rejects.not.toThrow(entry.user_key_share.slice(1));
  });

  it('reports a missing directory as an I/O error', async () => {
    const keystore = await FileKeystore.open(join(directory, 'missing', 'keystore.json'), {
      passphrase,
      organizationId,
      serverUrl,
      encryption,
    });

    await expect(keystore.put('ada@example.com', await makeEntry())).rejects.toThrow(
      /directory does not exist/,
    );
  });

  it('rejects an empty passphrase', async () => {
    await expect(openKeystore({ passphrase: '' })).rejects.toThrow(
      /passphrase: expected a non-empty string/,
    );
  });
});
