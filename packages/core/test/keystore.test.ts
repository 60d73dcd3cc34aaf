import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import {
  chmod,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  encodeBase64Url,
  encryptWithPassphrase,
  generateKeyPair,
  SCRYPT_MIN_N,
} from '@provisions/crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { KeystoreError, type ProvisionKeystoreEntry } from '../src/index.js';
import {
  FileKeystore,
  KEYSTORE_FORMAT,
  KEYSTORE_VERSION,
  type KeystoreFile,
  type KeystorePassphraseRequest,
  MANIFEST_RUN_EMAIL,
  readKeystoreOwner,
} from '../src/keystore.js';
import { decryptEntries, deriveKeystoreKey, encryptEntries } from '../src/keystore-cipher.js';
import { keystoreAssociatedData } from '../src/keystore-file-format.js';
import { acquireLockFile, type LockFile } from '../src/keystore-lock.js';

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

let current: FileKeystore | undefined;

/** Opens the test keystore, closing the instance opened before so its lock is released. */
async function openKeystore(overrides: Partial<Parameters<typeof FileKeystore.open>[1]> = {}) {
  await current?.close();
  current = undefined;
  current = await FileKeystore.open(path, {
    passphrase,
    organizationId,
    serverUrl,
    encryption,
    ...overrides,
  });
  return current;
}

async function filesInDirectory(): Promise<string[]> {
  return (await readdir(directory)).filter((name) => !name.endsWith('.lock'));
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
  await current?.close();
  current = undefined;
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
    await keystore.put('grace@example.org', await makeEntry());

    const lines = (await readFile(path, 'utf8')).split('\n');
    const header = JSON.parse(lines[0] as string);

    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('');
    expect(Object.keys(header).sort()).toEqual([
      'format',
      'kdf',
      'key_check',
      'organization_id',
      'server_url',
      'version',
    ]);
    expect(header.format).toBe(KEYSTORE_FORMAT);
    expect(header.version).toBe(KEYSTORE_VERSION);
    expect(header.organization_id).toBe(organizationId);
    expect(header.server_url).toBe(serverUrl);
    expect(header.kdf).toMatchObject({ name: 'scrypt', log2_n: 14, r: 8, p: 1 });
    expect(header.kdf.salt).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(header.key_check).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const line of lines.slice(1, 3)) {
      const record = JSON.parse(line);
      expect(Object.keys(record).sort()).toEqual(['c', 'n']);
      expect(record.n).toMatch(/^[A-Za-z0-9_-]{16}$/);
      expect(record.c).toMatch(/^[A-Za-z0-9_-]+$/);
    }
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

  it('creates the file by rename and appends later changes', async () => {
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', await makeEntry());
    const before = await stat(path);

    await keystore.put('grace@example.org', await makeEntry());
    const after = await stat(path);

    expect(after.ino).toBe(before.ino);
    expect(after.size).toBeGreaterThan(before.size);
    expect(await filesInDirectory()).toEqual(['keystore.json']);
  });

  it('drops a last line cut by a crash and rewrites the file', async () => {
    const adaEntry = await makeEntry();
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', adaEntry);
    await keystore.close();
    const complete = await readFile(path, 'utf8');
    await writeFile(path, `${complete}{"n":"AAAA","c":"BBB`);
    const before = await stat(path);

    const reopened = await openKeystore();
    expect(reopened.list()).toEqual([['ada@example.com', adaEntry]]);
    await reopened.put('grace@example.org', await makeEntry());

    expect((await stat(path)).ino).not.toBe(before.ino);
    const again = await openKeystore();
    expect(again.list().map(([email]) => email)).toEqual(['ada@example.com', 'grace@example.org']);
  });

  it('rejects records moved to another line', async () => {
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', await makeEntry());
    await keystore.put('grace@example.org', await makeEntry());
    await keystore.close();
    const [header, first, second] = (await readFile(path, 'utf8')).split('\n');
    await writeFile(path, `${header}\n${second}\n${first}\n`);

    const error = await openError({});

    expect(error.code).toBe('ERR_KEYSTORE_INVALID');
    expect(error.message).toContain('keystore.json:2:');
  });

  it('cleans up after a failed rename', async () => {
    const keystore = await openKeystore();
    await mkdir(join(path, 'blocker'), { recursive: true });

    const failure = keystore.put('ada@example.com', await makeEntry());

    await expect(failure).rejects.toMatchObject({ code: 'ERR_KEYSTORE_IO' });
    expect(await filesInDirectory()).toEqual(['keystore.json']);
    expect(await keystore.get('ada@example.com')).toBeUndefined();
  });

  it('rejects a scrypt cost that is not accepted', async () => {
    const error = await openError({ encryption: { scryptN: 3 } });

    expect(error.code).toBe('ERR_KEYSTORE_INVALID_OPTION');
    expect(error.message).toMatch(/^encryption\.scryptN: expected a power of two .*received 3$/);
  });

  it.each([
    [
      'an empty passphrase',
      { passphrase: '' },
      /^passphrase: expected a non-empty string or a function that returns one$/,
    ],
    ['an empty organization id', { organizationId: '' }, /^organizationId: expected a non-empty/],
    ['a server URL that is not a URL', { serverUrl: 'api' }, /^serverUrl: expected a URL/],
    [
      'a mustExist that is not a boolean',
      { mustExist: 'yes' as unknown as boolean },
      /^mustExist: expected a boolean, received string$/,
    ],
  ])('rejects %s', async (_case, overrides, message) => {
    const error = await openError(overrides);

    expect(error.code).toBe('ERR_KEYSTORE_INVALID_OPTION');
    expect(error.message).toMatch(message);
  });

  it.each([
    ['an empty path', '', 'path: expected a non-empty string, received an empty string'],
    ['a number as path', 5, 'path: expected a non-empty string, received number'],
    ['a null path', null, 'path: expected a non-empty string, received null'],
    [
      'a path with a NUL character',
      'keystore\0.json',
      'path: expected a path without NUL characters',
    ],
  ])('rejects %s', async (_case, badPath, message) => {
    const attempt = FileKeystore.open(badPath as unknown as string, {
      passphrase,
      organizationId,
      serverUrl,
      encryption,
    });

    await expect(attempt).rejects.toBeInstanceOf(KeystoreError);
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_KEYSTORE_INVALID_OPTION' });
    await expect(attempt).rejects.toThrow(message);
    expect(await readdir(directory)).toEqual([]);
  });

  it('rejects options that are not an object', async () => {
    const attempt = FileKeystore.open(
      path,
      null as unknown as Parameters<typeof FileKeystore.open>[1],
    );

    await expect(attempt).rejects.toBeInstanceOf(KeystoreError);
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_KEYSTORE_INVALID_OPTION' });
    await expect(attempt).rejects.toThrow(/^options: expected an object .*received null$/);
  });

  it('rejects reads after close', async () => {
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', await makeEntry());
    await keystore.close();

    await expect(keystore.get('ada@example.com')).rejects.toMatchObject({
      code: 'ERR_KEYSTORE_IO',
      message: expect.stringMatching(/is closed: open it again/),
    });
    expect(() => keystore.list()).toThrow(KeystoreError);
    expect(() => keystore.list()).toThrow(/is closed/);
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
    ['no content', '', /is empty: it has no header line/],
    ['only white space', '\n\n', /is empty: it has no header line/],
    [
      'another format',
      JSON.stringify({ format: 'other', version: 1 }),
      /format: expected "provisions-keystore"/,
    ],
    [
      'another version',
      JSON.stringify({ format: KEYSTORE_FORMAT, version: 3 }),
      /version: expected 1 or 2, received 3/,
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
    const opening = FileKeystore.open(join(directory, 'missing', 'keystore.json'), {
      passphrase,
      organizationId,
      serverUrl,
      encryption,
    });

    await expect(opening).rejects.toMatchObject({ code: 'ERR_KEYSTORE_IO' });
    await expect(opening).rejects.toThrow(/directory does not exist/);
  });

  it('removes its lock file when the disk is full', async () => {
    // FileHandle methods live on a prototype that node:fs/promises does not export.
    const probe = await open(process.execPath, 'r');
    const prototype = Object.getPrototypeOf(probe) as {
      writeFile: (...args: unknown[]) => unknown;
    };
    await probe.close();
    const original = prototype.writeFile;
    prototype.writeFile = function writeUnlessLock(this: { fd: number }, ...args: unknown[]) {
      if (readlinkSync(`/proc/self/fd/${this.fd}`).endsWith('.lock')) {
        const error = Object.assign(new Error('ENOSPC: no space left on device, write'), {
          code: 'ENOSPC',
        });
        return Promise.reject(error);
      }
      return original.apply(this, args);
    };

    try {
      const error = await openError({});

      expect(error.code).toBe('ERR_KEYSTORE_IO');
      expect(error.message).toBe(
        `cannot lock keystore ${path}: the disk is full; free space, then run again`,
      );
      expect(await readdir(directory)).toEqual([]);
    } finally {
      prototype.writeFile = original;
    }
  });

  it('rejects a missing file with mustExist', async () => {
    const error = await openError({ mustExist: true });

    expect(error.code).toBe('ERR_KEYSTORE_NOT_FOUND');
    expect(error.message).toBe(`keystore ${path} not found: check the path`);
    expect(await readdir(directory)).toEqual([]);
  });

  it('rejects a missing directory with mustExist', async () => {
    const missing = join(directory, 'missing', 'keystore.json');

    const opening = FileKeystore.open(missing, {
      passphrase,
      organizationId,
      serverUrl,
      encryption,
      mustExist: true,
    });

    await expect(opening).rejects.toMatchObject({ code: 'ERR_KEYSTORE_NOT_FOUND' });
    await expect(opening).rejects.toThrow(`keystore ${missing} not found`);
  });

  it('opens an existing file with mustExist', async () => {
    const entry = await makeEntry();
    await (await openKeystore()).put('ada@example.com', entry);

    const keystore = await openKeystore({ mustExist: true });

    expect(await keystore.get('ada@example.com')).toEqual(entry);
  });

  it('rejects an empty passphrase', async () => {
    await expect(openKeystore({ passphrase: '' })).rejects.toThrow(
      /passphrase: expected a non-empty string/,
    );
  });

  it('tells a damaged file from a wrong passphrase', async () => {
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', await makeEntry());
    await keystore.close();
    const [header, recordLine] = (await readFile(path, 'utf8')).split('\n');
    const record = JSON.parse(recordLine as string);
    const flipped = record.c[5] === 'A' ? 'B' : 'A';
    record.c = `${record.c.slice(0, 5)}${flipped}${record.c.slice(6)}`;
    await writeFile(path, `${header}\n${JSON.stringify(record)}\n`);

    const error = await openError({});

    expect(error.code).toBe('ERR_KEYSTORE_INVALID');
    expect(error.message).toContain('modified, damaged or moved');
  });

  it('rejects a changed clear field after the key check', async () => {
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', await makeEntry());
    await keystore.close();
    const [headerLine, ...rest] = (await readFile(path, 'utf8')).split('\n');
    const header = JSON.parse(headerLine as string);
    header.kdf.salt = encodeBase64Url(new Uint8Array(16));
    await writeFile(path, [JSON.stringify(header), ...rest].join('\n'));

    const error = await openError({});

    expect(error.code).toBe('ERR_KEYSTORE_WRONG_PASSPHRASE');
  });

  it('refuses a second open while the first holds the lock', async () => {
    const first = await FileKeystore.open(path, {
      passphrase,
      organizationId,
      serverUrl,
      encryption,
    });
    try {
      const second = FileKeystore.open(path, { passphrase, organizationId, serverUrl, encryption });

      await expect(second).rejects.toMatchObject({ code: 'ERR_KEYSTORE_LOCKED' });
      await expect(second).rejects.toThrow(/already open in this process .*close it before/);
    } finally {
      await first.close();
    }

    const third = await FileKeystore.open(path, {
      passphrase,
      organizationId,
      serverUrl,
      encryption,
    });
    await third.close();
    expect(await readdir(directory)).toEqual([]);
  });

  it('takes over a lock left by a process that is gone', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    const deadPid = await new Promise<number>((resolve) => {
      child.on('exit', () => resolve(child.pid as number));
    });
    const { hostname } = await import('node:os');
    await writeFile(
      `${path}.lock`,
      JSON.stringify({ pid: deadPid, hostname: hostname(), created_at: new Date().toISOString() }),
    );

    const keystore = await openKeystore();

    const owner = JSON.parse(await readFile(`${path}.lock`, 'utf8'));
    expect(owner.pid).toBe(process.pid);
    await keystore.close();
    expect(await readdir(directory)).toEqual([]);
  });

  it('gives an abandoned lock to one contender', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    const deadPid = await new Promise<number>((resolve) => {
      child.on('exit', () => resolve(child.pid as number));
    });
    const { hostname } = await import('node:os');
    const lockPath = `${path}.lock`;

    // Each trial gives four callers the same abandoned lock. Without a guard around its removal,
    // a caller could delete the new lock of another and create its own, so both held it.
    for (let trial = 0; trial < 100; trial += 1) {
      const abandoned = { pid: deadPid, hostname: hostname(), created_at: `trial ${trial}` };
      await writeFile(lockPath, JSON.stringify(abandoned));

      const attempts = await Promise.allSettled(
        Array.from({ length: 4 }, () => acquireLockFile(lockPath, 'test lock')),
      );
      const holders: LockFile[] = attempts.flatMap((attempt) =>
        attempt.status === 'fulfilled' ? [attempt.value] : [],
      );
      for (const lock of holders) {
        await lock.release();
      }

      expect(holders).toHaveLength(1);
    }
    expect(await readdir(directory)).toEqual([]);
  });

  it('reads a version 1 file and rewrites it as version 2', async () => {
    const entry = await makeEntry();
    const envelope = await encryptWithPassphrase(
      new TextEncoder().encode(JSON.stringify({ 'ada@example.com': entry })),
      passphrase,
      encryption,
    );
    await writeFile(
      path,
      JSON.stringify({
        format: KEYSTORE_FORMAT,
        version: 1,
        organization_id: organizationId,
        server_url: serverUrl,
        envelope: encodeBase64Url(envelope),
      }),
    );

    const keystore = await openKeystore();
    expect(await keystore.get('ada@example.com')).toEqual(entry);
    await keystore.put('grace@example.org', await makeEntry());
    const reopened = await openKeystore();

    expect(JSON.parse((await readFile(path, 'utf8')).split('\n')[0] as string).version).toBe(2);
    expect(await reopened.get('ada@example.com')).toEqual(entry);
  });

  it('opens an entry whose domain is all digits', async () => {
    // normalizeEmail accepted such an address before it rejected all-digit top-level labels.
    const entry = await makeEntry();
    const envelope = await encryptWithPassphrase(
      new TextEncoder().encode(JSON.stringify({ 'ada@127.0.0.1': entry })),
      passphrase,
      encryption,
    );
    await writeFile(
      path,
      JSON.stringify({
        format: KEYSTORE_FORMAT,
        version: 1,
        organization_id: organizationId,
        server_url: serverUrl,
        envelope: encodeBase64Url(envelope),
      }),
    );

    const keystore = await openKeystore();
    expect(await keystore.get('ada@127.0.0.1')).toEqual(entry);
    // The next write rewrites the file as version 2, with one record per entry.
    await keystore.put('grace@example.org', await makeEntry());
    const reopened = await openKeystore();

    expect(await reopened.get('ada@127.0.0.1')).toEqual(entry);
    await reopened.delete('ada@127.0.0.1');
    expect((await openKeystore()).list().map(([email]) => email)).toEqual(['grace@example.org']);
  });

  it('rejects an all-digit domain entry that is not normalized', async () => {
    const envelope = await encryptWithPassphrase(
      new TextEncoder().encode(JSON.stringify({ 'Ada@127.0.0.1': await makeEntry() })),
      passphrase,
      encryption,
    );
    await writeFile(
      path,
      JSON.stringify({
        format: KEYSTORE_FORMAT,
        version: 1,
        organization_id: organizationId,
        server_url: serverUrl,
        envelope: encodeBase64Url(envelope),
      }),
    );

    const error = await openError({});

    expect(error.code).toBe('ERR_KEYSTORE_INVALID');
    expect(error.message).toContain('expected a normalized email address');
  });

  it('deletes an entry durably and lists the rest', async () => {
    const keystore = await openKeystore();
    const adaEntry = await makeEntry();
    await keystore.put('ada@example.com', adaEntry);
    await keystore.put('grace@example.org', await makeEntry());

    await keystore.delete('Grace@Example.org');
    const reopened = await openKeystore();

    expect(reopened.list()).toEqual([['ada@example.com', adaEntry]]);
  });

  it('keeps every entry of 50 concurrent puts', async () => {
    const keystore = await openKeystore();
    const entries = await Promise.all(Array.from({ length: 50 }, () => makeEntry()));

    await Promise.all(
      entries.map((entry, index) => keystore.put(`user${index}@example.com`, entry)),
    );
    const reopened = await openKeystore();

    expect(reopened.list()).toHaveLength(50);
    expect(await reopened.get('user49@example.com')).toEqual(entries[49]);
  });

  it('keeps the pending server share of an entry', async () => {
    const keystore = await openKeystore();
    const entry = {
      ...(await makeEntry()),
      misakey_key_share: encodeBase64Url(crypto.getRandomValues(new Uint8Array(33))),
    };

    await keystore.put('ada@example.com', entry);
    const reopened = await openKeystore();

    expect(await reopened.get('ada@example.com')).toEqual(entry);
  });
});

/** Decrypts every record of the test keystore file and returns their JSON contents. */
async function readRecordContents(): Promise<unknown[]> {
  const [headerLine, ...recordLines] = (await readFile(path, 'utf8')).trimEnd().split('\n');
  const header = JSON.parse(headerLine as string) as KeystoreFile;
  const key = await deriveKeystoreKey(passphrase, header.kdf);

  return recordLines.map((text, index) => {
    const record = JSON.parse(text) as { n: string; c: string };
    const associatedData = `${keystoreAssociatedData(header)}\n${index + 2}`;
    const plaintext = decryptEntries(key, record.n, record.c, associatedData);
    return JSON.parse(Buffer.from(plaintext as Uint8Array).toString('utf8'));
  });
}

/**
 * Rewrites the test keystore file as its header, its first record and `content` sealed with
 * the file's key as the record of line 3, so that a test can store a record that the
 * keystore would never write.
 */
async function writeSecondRecord(content: object): Promise<void> {
  const [headerLine, recordLine] = (await readFile(path, 'utf8')).split('\n');
  const header = JSON.parse(headerLine as string) as KeystoreFile;
  const key = await deriveKeystoreKey(passphrase, header.kdf);
  const sealed = encryptEntries(
    key,
    Buffer.from(JSON.stringify(content)),
    `${keystoreAssociatedData(header)}\n3`,
  );
  await writeFile(
    path,
    `${headerLine}\n${recordLine}\n${JSON.stringify({ n: sealed.nonce, c: sealed.ciphertext })}\n`,
  );
}

describe('FileKeystore revocations', () => {
  it('replaces the entry with a revocation', async () => {
    const entry = await makeEntry();
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', entry);

    const revocation = await keystore.recordRevocation('Ada@Example.COM');
    const reopened = await openKeystore();

    expect(revocation).toEqual({
      email: 'ada@example.com',
      public_key: entry.public_key,
      revoked_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    expect(await reopened.get('ada@example.com')).toBeUndefined();
    expect(reopened.list()).toEqual([]);
    expect(reopened.getRevocation(entry.public_key)).toEqual(revocation);
  });

  it('finds the latest revocation by email', async () => {
    const first = await makeEntry();
    const second = await makeEntry();
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', first);
    await keystore.recordRevocation('ada@example.com');
    await keystore.put('ada@example.com', second);
    const latest = await keystore.recordRevocation('ada@example.com');
    const reopened = await openKeystore();

    expect(reopened.getLatestRevocationOf('Ada@Example.COM')).toEqual(latest);
    expect(reopened.getLatestRevocationOf('grace@example.org')).toBeUndefined();
  });

  it('lists every revocation in recorded order', async () => {
    const keystore = await openKeystore();
    await keystore.put('grace@example.org', await makeEntry());
    await keystore.put('ada@example.com', await makeEntry());
    await keystore.put('alan@example.net', await makeEntry());
    const grace = await keystore.recordRevocation('grace@example.org');
    const ada = await keystore.recordRevocation('ada@example.com');
    const reopened = await openKeystore();

    expect(reopened.listRevocations()).toEqual([grace, ada]);
    expect(reopened.list().map(([email]) => email)).toEqual(['alan@example.net']);
  });

  it('changes nothing without an entry', async () => {
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', await makeEntry());
    const before = await readFile(path, 'utf8');

    expect(await keystore.recordRevocation('grace@example.org')).toBeUndefined();
    expect(await readFile(path, 'utf8')).toBe(before);
  });

  it('writes a revocation as a deletion', async () => {
    const entry = await makeEntry();
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', entry);
    const revocation = await keystore.recordRevocation('ada@example.com');

    const records = await readRecordContents();

    // Readers older than revocations remove the entry on `deleted` and ignore `revoked`.
    expect(records).toHaveLength(2);
    expect(records[1]).toEqual({
      email: 'ada@example.com',
      deleted: true,
      revoked: { public_key: entry.public_key, revoked_at: revocation?.revoked_at },
    });
  });

  it('keeps revocations through a rewrite', async () => {
    const revokedEntry = await makeEntry();
    const newEntry = await makeEntry();
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', revokedEntry);
    const revocation = await keystore.recordRevocation('ada@example.com');
    await keystore.put('ada@example.com', newEntry);
    await keystore.close();
    // A torn last line makes the next change rewrite the whole file.
    await writeFile(path, `${await readFile(path, 'utf8')}{"n":"AAAA","c":"BBB`);
    const torn = await openKeystore();
    await torn.put('grace@example.org', await makeEntry());

    const reopened = await openKeystore();

    expect(await reopened.get('ada@example.com')).toEqual(newEntry);
    expect(reopened.getRevocation(revokedEntry.public_key)).toEqual(revocation);
    expect(reopened.getRevocation(newEntry.public_key)).toBeUndefined();
    expect((await readRecordContents())[0]).toMatchObject({
      email: 'ada@example.com',
      deleted: true,
    });
  });

  it('rejects an invalid revocation naming its field', async () => {
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', await makeEntry());
    await keystore.recordRevocation('ada@example.com');
    await keystore.close();
    await writeSecondRecord({
      email: 'ada@example.com',
      deleted: true,
      revoked: { public_key: 'short' },
    });

    const error = await openError({});

    expect(error.code).toBe('ERR_KEYSTORE_INVALID');
    expect(error.message).toBe(
      `keystore ${path}:3: revoked.public_key: expected 32 bytes as unpadded base64url`,
    );
  });
});

describe('FileKeystore manifest runs', () => {
  const manifestSha256 = 'a'.repeat(64);
  const otherSha256 = '0123456789abcdef'.repeat(4);

  it('stores runs in recorded order', async () => {
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', await makeEntry());

    const first = await keystore.recordManifestRun({ manifestSha256, journal: '/runs/a.journal' });
    const second = await keystore.recordManifestRun({
      manifestSha256: otherSha256,
      journal: '/runs/b.journal',
    });
    const reopened = await openKeystore();

    expect(first).toEqual({
      manifest_sha256: manifestSha256,
      started_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      journal: '/runs/a.journal',
    });
    expect(reopened.listManifestRuns()).toEqual([first, second]);
    expect(reopened.list().map(([email]) => email)).toEqual(['ada@example.com']);
  });

  it('writes a run as a deletion', async () => {
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', await makeEntry());
    const run = await keystore.recordManifestRun({ manifestSha256, journal: '/runs/a.journal' });

    const records = await readRecordContents();

    // Readers older than manifest runs delete an entry that does not exist and ignore the rest.
    expect(records).toHaveLength(2);
    expect(records[1]).toEqual({
      email: MANIFEST_RUN_EMAIL,
      deleted: true,
      manifest_run: run,
    });
  });

  it('keeps runs through a rewrite', async () => {
    const entry = await makeEntry();
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', entry);
    const run = await keystore.recordManifestRun({ manifestSha256, journal: '/runs/a.journal' });
    await keystore.close();
    // A torn last line makes the next change rewrite the whole file.
    await writeFile(path, `${await readFile(path, 'utf8')}{"n":"AAAA","c":"BBB`);
    const torn = await openKeystore();
    await torn.put('grace@example.org', await makeEntry());

    const reopened = await openKeystore();

    expect(reopened.listManifestRuns()).toEqual([run]);
    expect(await reopened.get('ada@example.com')).toEqual(entry);
    expect(await readRecordContents()).toHaveLength(3);
  });

  it('rejects an entry for the reserved address', async () => {
    const keystore = await openKeystore();

    const error = await keystore.put(MANIFEST_RUN_EMAIL, await makeEntry()).catch((e) => e);

    expect(error).toBeInstanceOf(KeystoreError);
    expect((error as KeystoreError).code).toBe('ERR_KEYSTORE_INVALID');
    expect((error as KeystoreError).message).toBe(
      `${MANIFEST_RUN_EMAIL} is reserved for the keystore's records of manifest runs and cannot have an entry`,
    );
  });

  it('rejects an invalid hash or journal', async () => {
    const keystore = await openKeystore();
    const cases = [
      { run: { manifestSha256: 'A'.repeat(64), journal: '/j' }, field: 'manifestSha256' },
      { run: { manifestSha256: 'a'.repeat(63), journal: '/j' }, field: 'manifestSha256' },
      { run: { manifestSha256, journal: '' }, field: 'journal' },
    ];

    for (const { run, field } of cases) {
      const error = await keystore.recordManifestRun(run).catch((e) => e);
      expect(error).toBeInstanceOf(KeystoreError);
      expect((error as KeystoreError).code).toBe('ERR_KEYSTORE_INVALID_OPTION');
      expect((error as KeystoreError).message).toMatch(new RegExp(`^${field}: expected `));
    }
    expect(keystore.listManifestRuns()).toEqual([]);
  });

  it('rejects an invalid run record naming its field', async () => {
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', await makeEntry());
    await keystore.close();
    await writeSecondRecord({
      email: MANIFEST_RUN_EMAIL,
      deleted: true,
      manifest_run: { manifest_sha256: manifestSha256, started_at: 'yesterday', journal: '/j' },
    });

    const error = await openError({});

    expect(error.code).toBe('ERR_KEYSTORE_INVALID');
    expect(error.message).toBe(
      `keystore ${path}:3: manifest_run.started_at: expected an RFC 3339 timestamp`,
    );
  });
});

describe('FileKeystore with a passphrase function', () => {
  /** Returns a passphrase function that records each request it gets. */
  function recordingPassphrase(result: string = passphrase) {
    const requests: KeystorePassphraseRequest[] = [];
    const source = (request: KeystorePassphraseRequest) => {
      requests.push(request);
      return Promise.resolve(result);
    };
    return { requests, source };
  }

  it('passes creating for a new file', async () => {
    const { requests, source } = recordingPassphrase();

    const keystore = await openKeystore({ passphrase: source });
    await keystore.put('ada@example.com', await makeEntry());

    expect(requests).toEqual([{ path, creating: true }]);
  });

  it('opens an existing file with the returned passphrase', async () => {
    const entry = await makeEntry();
    await (await openKeystore()).put('ada@example.com', entry);
    const { requests, source } = recordingPassphrase();

    const keystore = await openKeystore({ passphrase: source });

    expect(requests).toEqual([{ path, creating: false }]);
    expect(await keystore.get('ada@example.com')).toEqual(entry);
  });

  it('rejects a wrong returned passphrase', async () => {
    await (await openKeystore()).put('ada@example.com', await makeEntry());
    const { source } = recordingPassphrase('wrong passphrase');

    const error = await openError({ passphrase: source });

    expect(error.code).toBe('ERR_KEYSTORE_WRONG_PASSPHRASE');
  });

  it('skips the function for a missing file with mustExist', async () => {
    const { requests, source } = recordingPassphrase();

    const error = await openError({ passphrase: source, mustExist: true });

    expect(error.code).toBe('ERR_KEYSTORE_NOT_FOUND');
    expect(requests).toEqual([]);
  });

  it('skips the function for another organization', async () => {
    await (await openKeystore()).put('ada@example.com', await makeEntry());
    const { requests, source } = recordingPassphrase();

    const error = await openError({
      passphrase: source,
      organizationId: '7f3e2a10-0000-4000-8000-000000000000',
    });

    expect(error.code).toBe('ERR_KEYSTORE_MISMATCH');
    expect(requests).toEqual([]);
  });

  it('skips the function while the keystore is locked', async () => {
    const first = await FileKeystore.open(path, {
      passphrase,
      organizationId,
      serverUrl,
      encryption,
    });
    const { requests, source } = recordingPassphrase();

    try {
      const second = FileKeystore.open(path, {
        passphrase: source,
        organizationId,
        serverUrl,
        encryption,
      });

      await expect(second).rejects.toMatchObject({ code: 'ERR_KEYSTORE_LOCKED' });
      expect(requests).toEqual([]);
    } finally {
      await first.close();
    }
  });

  it('passes on the error the function throws and unlocks', async () => {
    const cancelled = new Error('prompt cancelled');

    const opening = openKeystore({
      passphrase: () => Promise.reject(cancelled),
    });

    await expect(opening).rejects.toBe(cancelled);
    expect(await readdir(directory)).toEqual([]);
  });

  it.each([
    ['an empty string', ''],
    ['a number', 42 as unknown as string],
  ])('rejects a function that returns %s', async (description, returned) => {
    const error = await openError({ passphrase: () => returned });

    expect(error.code).toBe('ERR_KEYSTORE_INVALID_OPTION');
    expect(error.message).toBe(
      `passphrase: the passphrase function returned ${description === 'a number' ? 'number' : 'an empty string'}, expected a non-empty string`,
    );
    expect(await readdir(directory)).toEqual([]);
  });
});

describe('readKeystoreOwner', () => {
  it('returns the organization and server of the header', async () => {
    const keystore = await openKeystore({ serverUrl: 'http://127.0.0.1:8080/' });
    await keystore.put('ada@example.com', await makeEntry());

    expect(await readKeystoreOwner(path)).toEqual({ organizationId, serverUrl });
  });

  it('reads a version 1 file', async () => {
    await writeFile(
      path,
      JSON.stringify({
        format: KEYSTORE_FORMAT,
        version: 1,
        organization_id: organizationId,
        server_url: serverUrl,
        envelope: 'AAAA',
      }),
    );

    expect(await readKeystoreOwner(path)).toEqual({ organizationId, serverUrl });
  });

  it('needs no lock and takes none', async () => {
    const keystore = await openKeystore();
    await keystore.put('ada@example.com', await makeEntry());
    const lockBefore = await readFile(`${path}.lock`, 'utf8');

    expect(await readKeystoreOwner(path)).toEqual({ organizationId, serverUrl });
    expect(await readFile(`${path}.lock`, 'utf8')).toBe(lockBefore);
    await keystore.close();
    expect(await readKeystoreOwner(path)).toEqual({ organizationId, serverUrl });
    expect(await readdir(directory)).toEqual(['keystore.json']);
  });

  it.each([
    ['a missing file', () => path],
    ['a missing directory', () => join(directory, 'missing', 'keystore.json')],
  ])('rejects %s as not found', async (_case, target) => {
    await expect(readKeystoreOwner(target())).rejects.toMatchObject({
      code: 'ERR_KEYSTORE_NOT_FOUND',
      message: `keystore ${target()} not found: check the path`,
    });
  });

  it('rejects a file that is not a keystore', async () => {
    await writeFile(path, 'not json\n');

    await expect(readKeystoreOwner(path)).rejects.toMatchObject({
      code: 'ERR_KEYSTORE_INVALID',
      message: `keystore ${path} is not valid JSON`,
    });
  });

  it('rejects an empty path', async () => {
    await expect(readKeystoreOwner('')).rejects.toMatchObject({
      code: 'ERR_KEYSTORE_INVALID_OPTION',
    });
  });
});
