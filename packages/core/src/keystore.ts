/**
 * The passphrase-encrypted file keystore, for Node.js: `@provisions/core/keystore`.
 *
 * @packageDocumentation
 */

import { type FileHandle, open, readFile } from 'node:fs/promises';

import { EmailAddressError, normalizeEmail } from '@provisions/api';
import {
  CryptoError,
  decodeBase64Url,
  decryptWithPassphrase,
  SCRYPT_DEFAULT_N,
  SCRYPT_MAX_N,
  SCRYPT_MIN_N,
} from '@provisions/crypto';

import { describeType } from './argument-checks.js';
import { writeFileAtomic } from './keystore-atomic-write.js';
import {
  decryptEntries,
  deriveKeystoreKey,
  encryptEntries,
  type KeystoreKey,
  keyCheckMatches,
  newKdf,
} from './keystore-cipher.js';
import {
  KEYSTORE_FORMAT,
  KEYSTORE_VERSION,
  type KeystoreFile,
  type KeystoreFileV1,
  type KeystoreRecordLine,
  keystoreAssociatedData,
  parseKeystoreFile,
  serializeKeystoreLine,
} from './keystore-file-format.js';
import { acquireLockFile, type LockFile, LockFileError } from './keystore-lock.js';
import {
  isSha256Hex,
  type KeystoreManifestRun,
  MANIFEST_RUN_EMAIL,
  parseManifestRun,
} from './keystore-manifest-run.js';
import { type KeystoreRevocation, parseRevocation } from './keystore-revocation.js';
import {
  KeystoreError,
  type ProvisionKeystore,
  type ProvisionKeystoreEntry,
  validateKeystoreEntry,
} from './provision-keystore.js';

export type { KeystoreKdf } from './keystore-cipher.js';
export {
  KEYSTORE_FORMAT,
  KEYSTORE_VERSION,
  type KeystoreFile,
  type KeystoreFileV1,
  type KeystoreRecordLine,
} from './keystore-file-format.js';
export { acquireLockFile, type LockFile, LockFileError } from './keystore-lock.js';
export { type KeystoreManifestRun, MANIFEST_RUN_EMAIL } from './keystore-manifest-run.js';
export type { KeystoreRevocation } from './keystore-revocation.js';

/** Permission bits of a keystore file: read and write for its owner only. */
export const KEYSTORE_FILE_MODE = 0o600;

/** Suffix of the lock file next to the keystore, such as `keystore.json.lock`. */
export const KEYSTORE_LOCK_SUFFIX = '.lock';

/** Key derivation options of a new keystore. */
export interface PassphraseEncryptionOptions {
  /**
   * scrypt cost N of a new keystore, a power of two from 2^14 to 2^20; 2^17 by
   * default. An existing keystore keeps the cost it was created with.
   */
  scryptN?: number | undefined;
}

/**
 * The details of the keystore being opened that {@link FileKeystore.open} passes to a
 * passphrase function.
 */
export interface KeystorePassphraseRequest {
  /** The keystore file's path, as given to {@link FileKeystore.open}. */
  path: string;
  /**
   * True when the file does not exist yet, so the passphrase will create it: a prompt can
   * ask for it twice, because a typo would lock every later run out of the new keystore.
   */
  creating: boolean;
}

/**
 * A keystore passphrase, or a function that returns it. {@link FileKeystore.open} calls the
 * function at most once, after it has locked the file, found it (or found it missing) and
 * checked that it belongs to the organization and server, so a prompt is shown only when
 * the passphrase is needed.
 */
export type KeystorePassphrase =
  | string
  | ((request: KeystorePassphraseRequest) => string | Promise<string>);

/** Options of {@link FileKeystore.open}. */
export interface FileKeystoreOptions {
  /**
   * Passphrase that encrypts the entries, or a function that returns it (see
   * {@link KeystorePassphrase}). A secret: never log it.
   */
  passphrase: KeystorePassphrase;
  /** The organization whose provisions the keystore holds. */
  organizationId: string;
  /** The API server URL; compared after URL normalization, without a trailing slash. */
  serverUrl: string;
  /** Key derivation options, used when the file is created or upgraded from version 1. */
  encryption?: PassphraseEncryptionOptions | undefined;
  /**
   * When true, a missing file is an error (`ERR_KEYSTORE_NOT_FOUND`) instead of an empty
   * keystore, for callers that only read or change an existing keystore. False by default.
   */
  mustExist?: boolean | undefined;
}

/** The organization and server that a keystore file belongs to, as its header records them. */
export interface KeystoreOwner {
  /** The organization whose provisions the keystore holds. */
  organizationId: string;
  /** The API server URL, without a trailing slash as the header stores it. */
  serverUrl: string;
}

/**
 * Reads the organization id and server URL from the clear header of the keystore file at
 * `path`, without a passphrase and without its lock, for callers that open a keystore
 * without being given them. This function does not authenticate the header.
 * {@link FileKeystore.open} with these values checks them against each record of a version 2
 * file, because the header is part of every record's associated data. A file of version 1,
 * or one without records, has nothing to check them against.
 *
 * @throws KeystoreError `ERR_KEYSTORE_NOT_FOUND`, naming the path, when the file or its
 *   directory does not exist.
 * @throws KeystoreError `ERR_KEYSTORE_INVALID` for a file that is not a keystore.
 * @throws KeystoreError `ERR_KEYSTORE_IO` when the file cannot be read.
 * @throws KeystoreError `ERR_KEYSTORE_INVALID_OPTION` for a `path` that is empty, not a string
 *   or contains a NUL character.
 */
export async function readKeystoreOwner(path: string): Promise<KeystoreOwner> {
  checkPath(path);
  const text = await readKeystoreText(path);
  if (text === undefined) {
    throw keystoreNotFound(path);
  }

  const file = parseKeystoreFile(text, path);
  const header = file.version === 1 ? file : file.header;
  return { organizationId: header.organization_id, serverUrl: header.server_url };
}

/** One record to write: an entry, a deletion, a revocation or a manifest run. */
interface KeystoreChange {
  email: string;
  entry: ProvisionKeystoreEntry | undefined;
  /** Revocation to store when the change removes a revoked provision's entry. */
  revocation?: KeystoreRevocation;
  /** Manifest run to store; the change's email is then {@link MANIFEST_RUN_EMAIL}. */
  manifestRun?: KeystoreManifestRun;
}

interface PendingChange extends KeystoreChange {
  resolve: () => void;
  reject: (error: unknown) => void;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * A {@link ProvisionKeystore} in one file of JSON lines, mode 0600: a clear
 * header (organization, server, scrypt parameters), then one encrypted
 * record per change, each sealed with ChaCha20-Poly1305 under a key derived
 * from the passphrase with scrypt. A record's line number is authenticated,
 * so records cannot be reordered.
 *
 * - scrypt runs once, when the keystore is opened; records reuse the key with
 *   a fresh random nonce.
 * - Every change is durable before its promise resolves: its record is
 *   appended and the file synced (fdatasync). Changes made while a write is
 *   running are appended together by the next one, so a change costs one
 *   short append, not a rewrite of every entry.
 * - The first change after opening rewrites the file atomically (temporary
 *   file, fsync, rename, fsync of the directory) with one record per entry
 *   when the file is new, from version 1, ends in a line cut by a crash, or
 *   holds many replaced records.
 *
 * NOTE: removing whole lines from the end of the file goes unnoticed, as
 * after a crash; anyone who can write the file can also delete it.
 * - Opening takes a lock file, `<path>.lock`, created with O_EXCL and holding
 *   the process id; {@link FileKeystore.close} removes it. A lock left by a
 *   process that is gone is taken over.
 *
 * @example
 * import { FileKeystore } from '@provisions/core/keystore';
 *
 * const keystore = await FileKeystore.open('keystore.json', {
 *   passphrase, organizationId, serverUrl: 'https://api.example.com',
 * });
 * try {
 *   await keystore.put('ada@example.com', entry);
 * } finally {
 *   await keystore.close();
 * }
 */
export class FileKeystore implements ProvisionKeystore {
  /** Path of the keystore file. */
  readonly path: string;

  readonly #options: FileKeystoreOptions;
  readonly #key: KeystoreKey;
  readonly #lock: LockFile;
  #entries: Map<string, ProvisionKeystoreEntry>;
  /** Revocations by provision public key. */
  #revocations: Map<string, KeystoreRevocation>;
  /** Manifest runs in the order they were recorded. */
  #manifestRuns: KeystoreManifestRun[];
  /** Lines in the file, header included; the next record gets line `#lines + 1`. */
  #lines: number;
  #mustRewrite: boolean;
  #handle: FileHandle | undefined;
  #pending: PendingChange[] = [];
  #writing: Promise<void> | undefined;
  #closed = false;

  private constructor(
    path: string,
    options: FileKeystoreOptions,
    key: KeystoreKey,
    lock: LockFile,
    contents: KeystoreContents,
  ) {
    this.path = path;
    this.#options = options;
    this.#key = key;
    this.#lock = lock;
    this.#entries = contents.entries;
    this.#revocations = contents.revocations;
    this.#manifestRuns = contents.manifestRuns;
    this.#lines = contents.lines;
    this.#mustRewrite = contents.mustRewrite;
  }

  /**
   * Locks and opens the keystore at `path`, deriving the key and decrypting
   * the entries. A missing file is an empty keystore that the first change
   * creates, unless `options.mustExist` is true. A version 1 file is read and
   * rewritten as version 2 on the first change.
   *
   * @throws KeystoreError `ERR_KEYSTORE_NOT_FOUND`, naming the path, if
   *   `options.mustExist` is true and the file or its directory does not exist.
   * @throws KeystoreError `ERR_KEYSTORE_LOCKED` if another running process has
   *   it open; `ERR_KEYSTORE_MISMATCH` if the file belongs to another
   *   organization or server (checked before decrypting);
   *   `ERR_KEYSTORE_WRONG_PASSPHRASE` for a wrong passphrase;
   *   `ERR_KEYSTORE_INVALID` for a file or entry that is not in the format or
   *   was modified; `ERR_KEYSTORE_IO` when the file or the lock cannot be
   *   read or created.
   * @throws KeystoreError `ERR_KEYSTORE_INVALID_OPTION` for a `path` that is empty, not a
   *   string or contains a NUL character. The same code is raised for options that are
   *   not an object, an empty passphrase or organization id, a server URL that is not a
   *   URL, a `scryptN` that is not a power of two from 2^14 to 2^20, or a `mustExist`
   *   that is not a boolean.
   */
  static async open(path: string, options: FileKeystoreOptions): Promise<FileKeystore> {
    checkPath(path);
    checkOptions(options);

    const lock = await lockKeystore(path, options.mustExist === true);
    try {
      const { key, ...contents } = await readKeystore(path, options);
      return new FileKeystore(path, options, key, lock, contents);
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /**
   * Returns the entry for `email`, or `undefined` if there is none.
   *
   * @throws KeystoreError `ERR_KEYSTORE_IO` after {@link FileKeystore.close}.
   */
  async get(email: string): Promise<ProvisionKeystoreEntry | undefined> {
    this.#checkOpen();
    const entry = this.#entries.get(this.#normalize(email));
    return entry === undefined ? undefined : { ...entry };
  }

  /**
   * Returns every entry, keyed by normalized email, in insertion order.
   *
   * @throws KeystoreError `ERR_KEYSTORE_IO` after {@link FileKeystore.close}.
   */
  list(): [string, ProvisionKeystoreEntry][] {
    this.#checkOpen();
    return [...this.#entries].map(([email, entry]) => [email, { ...entry }]);
  }

  /**
   * Stores `entry` for `email`. The promise resolves once the file holding
   * the entry is durable; the entry is visible to `get` from then on.
   *
   * @throws KeystoreError `ERR_KEYSTORE_INVALID` for an invalid entry or for
   *   {@link MANIFEST_RUN_EMAIL}, or `ERR_KEYSTORE_IO` when the file cannot be written (the
   *   entry is then dropped).
   */
  async put(email: string, entry: ProvisionKeystoreEntry): Promise<void> {
    const key = this.#normalize(email);
    if (key === MANIFEST_RUN_EMAIL) {
      throw new KeystoreError(
        'ERR_KEYSTORE_INVALID',
        `${MANIFEST_RUN_EMAIL} is reserved for the keystore's records of manifest runs and cannot have an entry`,
      );
    }
    const validEntry = validateKeystoreEntry(entry, `entry for ${key}`);
    return this.#change({ email: key, entry: validEntry });
  }

  /**
   * Removes the entry for `email`, durably, as {@link FileKeystore.put} does.
   * Removing a missing entry rewrites the file without change.
   */
  async delete(email: string): Promise<void> {
    return this.#change({ email: this.#normalize(email), entry: undefined });
  }

  /**
   * Removes the entry for `email` durably and stores its email, public key and the current time
   * as a revocation. Call it once the server has revoked the provision, so later runs report the
   * link as revoked, not lost.
   *
   * @returns the revocation, or `undefined` without any change when `email` has no entry.
   * @throws KeystoreError `ERR_KEYSTORE_IO` when the file cannot be written (the entry then stays).
   */
  async recordRevocation(email: string): Promise<KeystoreRevocation | undefined> {
    this.#checkOpen();
    const key = this.#normalize(email);
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      return undefined;
    }

    const revocation: KeystoreRevocation = {
      email: key,
      public_key: entry.public_key,
      revoked_at: new Date().toISOString(),
    };
    await this.#change({ email: key, entry: undefined, revocation });
    return { ...revocation };
  }

  /**
   * Stores, durably, that a run of a manifest with SHA-256 `manifestSha256` started now with the
   * journal at `journal`, so that a later run can find the earlier runs of the same content.
   *
   * @param run.manifestSha256 - the manifest's SHA-256, 64 lowercase hex characters.
   * @param run.journal - the journal's absolute path.
   * @returns the stored run.
   * @throws KeystoreError `ERR_KEYSTORE_INVALID_OPTION` for a hash or path of the wrong form;
   *   `ERR_KEYSTORE_IO` when the file cannot be written (nothing is then stored).
   */
  async recordManifestRun(run: {
    manifestSha256: string;
    journal: string;
  }): Promise<KeystoreManifestRun> {
    this.#checkOpen();
    if (typeof run !== 'object' || run === null) {
      throw invalidOption(
        `run: expected an object with manifestSha256 and journal, received ${describeType(run)}`,
      );
    }
    if (!isSha256Hex(run.manifestSha256)) {
      throw invalidOption('manifestSha256: expected 64 lowercase hex characters');
    }
    if (typeof run.journal !== 'string' || run.journal === '') {
      throw invalidOption(
        `journal: expected a non-empty string, received ${describeType(run.journal)}`,
      );
    }

    const manifestRun: KeystoreManifestRun = {
      manifest_sha256: run.manifestSha256,
      started_at: new Date().toISOString(),
      journal: run.journal,
    };
    await this.#change({ email: MANIFEST_RUN_EMAIL, entry: undefined, manifestRun });
    return { ...manifestRun };
  }

  /**
   * Returns every manifest run stored by {@link FileKeystore.recordManifestRun}, in the order
   * they were recorded.
   *
   * @throws KeystoreError `ERR_KEYSTORE_IO` after {@link FileKeystore.close}.
   */
  listManifestRuns(): KeystoreManifestRun[] {
    this.#checkOpen();
    return this.#manifestRuns.map((run) => ({ ...run }));
  }

  /**
   * Returns the revocation stored by {@link FileKeystore.recordRevocation} for the provision
   * with `publicKey`, or `undefined` if there is none.
   *
   * @throws KeystoreError `ERR_KEYSTORE_IO` after {@link FileKeystore.close}.
   */
  getRevocation(publicKey: string): KeystoreRevocation | undefined {
    this.#checkOpen();
    const revocation = this.#revocations.get(publicKey);
    return revocation === undefined ? undefined : { ...revocation };
  }

  /**
   * Returns every revocation stored by {@link FileKeystore.recordRevocation}, in the order
   * they were recorded.
   *
   * @throws KeystoreError `ERR_KEYSTORE_IO` after {@link FileKeystore.close}.
   */
  listRevocations(): KeystoreRevocation[] {
    this.#checkOpen();
    return [...this.#revocations.values()].map((revocation) => ({ ...revocation }));
  }

  /**
   * Returns the revocation of `email` with the latest `revoked_at`, or `undefined` if there is
   * none. Of two with the same time, the one recorded later wins.
   *
   * @throws KeystoreError `ERR_KEYSTORE_IO` after {@link FileKeystore.close}.
   */
  getLatestRevocationOf(email: string): KeystoreRevocation | undefined {
    this.#checkOpen();
    const key = this.#normalize(email);
    let latest: KeystoreRevocation | undefined;
    for (const revocation of this.#revocations.values()) {
      // The map keeps recording order, so `>=` lets the later of two equal times win.
      const isLater = latest === undefined || revocation.revoked_at >= latest.revoked_at;
      if (revocation.email === key && isLater) {
        latest = revocation;
      }
    }
    return latest === undefined ? undefined : { ...latest };
  }

  /**
   * Normalizes an email, skipping the IDNA work for a key already stored:
   * stored keys are normalized, and normalizing is idempotent.
   */
  #normalize(email: string): string {
    return this.#entries.has(email) ? email : normalizeEmail(email);
  }

  /** Waits for pending writes and releases the lock. The keystore cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    await this.#writing?.catch(() => undefined);
    await this.#handle?.close();
    this.#handle = undefined;
    await this.#lock.release();
  }

  #checkOpen(): void {
    if (this.#closed) {
      throw new KeystoreError(
        'ERR_KEYSTORE_IO',
        `keystore ${this.path} is closed: open it again with FileKeystore.open`,
      );
    }
  }

  #change(change: KeystoreChange): Promise<void> {
    try {
      this.#checkOpen();
    } catch (error) {
      return Promise.reject(error);
    }

    return new Promise((resolve, reject) => {
      this.#pending.push({ ...change, resolve, reject });
      if (this.#writing === undefined) {
        this.#writing = this.#drain();
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0);
      const entries = new Map(this.#entries);
      const revocations = new Map(this.#revocations);
      const manifestRuns = [...this.#manifestRuns];
      for (const change of batch) {
        if (change.entry === undefined) {
          entries.delete(change.email);
        } else {
          entries.set(change.email, change.entry);
        }
        if (change.revocation !== undefined) {
          revocations.set(change.revocation.public_key, change.revocation);
        }
        if (change.manifestRun !== undefined) {
          manifestRuns.push(change.manifestRun);
        }
      }

      try {
        if (this.#mustRewrite) {
          await this.#rewrite({ entries, revocations, manifestRuns });
        } else {
          await this.#append(batch);
        }
        this.#entries = entries;
        this.#revocations = revocations;
        this.#manifestRuns = manifestRuns;
        for (const change of batch) {
          change.resolve();
        }
      } catch (error) {
        for (const change of batch) {
          change.reject(error);
        }
      }
    }
    this.#writing = undefined;
  }

  #header(): KeystoreFile {
    return {
      format: KEYSTORE_FORMAT,
      version: KEYSTORE_VERSION,
      organization_id: this.#options.organizationId,
      server_url: normalizeServerUrl(this.#options.serverUrl),
      kdf: this.#key.kdf,
      key_check: this.#key.keyCheck,
    };
  }

  #sealRecord(line: number, change: KeystoreChange): KeystoreRecordLine {
    const content = recordContent(change);
    const plaintext = Buffer.from(JSON.stringify(content), 'utf8');
    try {
      const sealed = encryptEntries(
        this.#key,
        plaintext,
        recordAssociatedData(this.#header(), line),
      );
      return { n: sealed.nonce, c: sealed.ciphertext };
    } finally {
      plaintext.fill(0);
    }
  }

  /** Appends one record per change of `batch`, then syncs the file. */
  async #append(batch: readonly PendingChange[]): Promise<void> {
    let text = '';
    for (const [offset, change] of batch.entries()) {
      text += serializeKeystoreLine(this.#sealRecord(this.#lines + offset + 1, change));
    }

    try {
      this.#handle ??= await open(this.path, 'a', KEYSTORE_FILE_MODE);
      await this.#handle.chmod(KEYSTORE_FILE_MODE);
      await this.#handle.appendFile(text);
      await this.#handle.datasync();
    } catch (cause) {
      // The file may end in part of a record now: rewrite it before the next change.
      this.#mustRewrite = true;
      throw new KeystoreError(
        'ERR_KEYSTORE_IO',
        `cannot write keystore ${this.path}: ${describeFsError(cause)}`,
        { cause },
      );
    }
    this.#lines += batch.length;
  }

  /**
   * Replaces the file atomically with the header, one record per revocation, one per manifest
   * run, then one per entry. Entries come last because a revocation record also deletes its
   * email's entry.
   */
  async #rewrite(contents: Omit<KeystoreContents, 'lines' | 'mustRewrite'>): Promise<void> {
    const changes: KeystoreChange[] = [
      ...[...contents.revocations.values()].map((revocation) => ({
        email: revocation.email,
        entry: undefined,
        revocation,
      })),
      ...contents.manifestRuns.map((manifestRun) => ({
        email: MANIFEST_RUN_EMAIL,
        entry: undefined,
        manifestRun,
      })),
      ...[...contents.entries].map(([email, entry]) => ({ email, entry })),
    ];

    let text = serializeKeystoreLine(this.#header());
    let line = 1;
    for (const change of changes) {
      line += 1;
      text += serializeKeystoreLine(this.#sealRecord(line, change));
    }

    await this.#handle?.close();
    this.#handle = undefined;
    try {
      await writeFileAtomic(this.path, text, KEYSTORE_FILE_MODE);
    } catch (cause) {
      throw new KeystoreError(
        'ERR_KEYSTORE_IO',
        `cannot write keystore ${this.path}: ${describeFsError(cause)}`,
        { cause },
      );
    }
    this.#lines = line;
    this.#mustRewrite = false;
  }
}

/**
 * Builds the JSON content of a record. A revocation is a deletion with a `revoked` member, so
 * readers older than revocations still remove the entry. A manifest run is a deletion of
 * {@link MANIFEST_RUN_EMAIL} with a `manifest_run` member, which older readers apply as the
 * deletion of an entry that does not exist.
 */
function recordContent(change: KeystoreChange): object {
  const { email, entry, revocation, manifestRun } = change;
  if (entry !== undefined) {
    return { email, entry };
  }
  if (manifestRun !== undefined) {
    return { email, deleted: true, manifest_run: manifestRun };
  }
  if (revocation === undefined) {
    return { email, deleted: true };
  }
  return {
    email,
    deleted: true,
    revoked: { public_key: revocation.public_key, revoked_at: revocation.revoked_at },
  };
}

/** Associated data of the record on line `line`: the header fields and the line number. */
function recordAssociatedData(header: KeystoreFile, line: number): string {
  return `${keystoreAssociatedData(header)}\n${line}`;
}

interface KeystoreContents {
  entries: Map<string, ProvisionKeystoreEntry>;
  /** Revocations by provision public key. */
  revocations: Map<string, KeystoreRevocation>;
  /** Manifest runs in the order they were recorded. */
  manifestRuns: KeystoreManifestRun[];
  lines: number;
  mustRewrite: boolean;
}

async function lockKeystore(path: string, mustExist: boolean): Promise<LockFile> {
  try {
    return await acquireLockFile(`${path}${KEYSTORE_LOCK_SUFFIX}`, `keystore ${path}`);
  } catch (cause) {
    if (cause instanceof LockFileError && cause.code === 'ERR_LOCKED') {
      throw new KeystoreError('ERR_KEYSTORE_LOCKED', cause.message, { cause });
    }
    const fsCause = (cause as Error).cause ?? cause;
    // The lock file goes beside the keystore, so ENOENT means that the directory is missing.
    if (mustExist && (fsCause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw keystoreNotFound(path, cause);
    }
    const reason =
      (fsCause as NodeJS.ErrnoException).code === 'ENOSPC'
        ? 'the disk is full; free space, then run again'
        : describeFsError(fsCause);
    throw new KeystoreError('ERR_KEYSTORE_IO', `cannot lock keystore ${path}: ${reason}`, {
      cause,
    });
  }
}

/** Records beyond twice the live entries (plus this) make the first change compact the file. */
const REWRITE_SLACK_RECORDS = 64;

async function readKeystore(
  path: string,
  options: FileKeystoreOptions,
): Promise<KeystoreContents & { key: KeystoreKey }> {
  const text = await readKeystoreText(path);
  const newKeyLog2N = Math.log2(options.encryption?.scryptN ?? SCRYPT_DEFAULT_N);

  if (text === undefined) {
    if (options.mustExist === true) {
      throw keystoreNotFound(path);
    }
    const passphrase = await resolvePassphrase(options.passphrase, { path, creating: true });
    const key = await deriveKeystoreKey(passphrase, newKdf(newKeyLog2N));
    return {
      key,
      entries: new Map(),
      revocations: new Map(),
      manifestRuns: [],
      lines: 0,
      mustRewrite: true,
    };
  }

  const file = parseKeystoreFile(text, path);
  if (file.version === 1) {
    checkOwner(file, options, path);
    const passphrase = await resolvePassphrase(options.passphrase, { path, creating: false });
    const entries = await decryptVersion1(file, passphrase, path);
    const key = await deriveKeystoreKey(passphrase, newKdf(newKeyLog2N));
    return { key, entries, revocations: new Map(), manifestRuns: [], lines: 0, mustRewrite: true };
  }

  const { header, records, tornTail } = file;
  checkOwner(header, options, path);
  const passphrase = await resolvePassphrase(options.passphrase, { path, creating: false });
  const key = await deriveKeystoreKey(passphrase, header.kdf);
  if (!keyCheckMatches(key, header.key_check)) {
    throw wrongPassphrase(path);
  }

  const entries = new Map<string, ProvisionKeystoreEntry>();
  const revocations = new Map<string, KeystoreRevocation>();
  const manifestRuns: KeystoreManifestRun[] = [];
  for (const [index, record] of records.entries()) {
    const line = index + 2;
    const plaintext = decryptEntries(key, record.n, record.c, recordAssociatedData(header, line));
    if (plaintext === undefined) {
      throw new KeystoreError(
        'ERR_KEYSTORE_INVALID',
        `keystore ${path}:${line}: the passphrase is right but this record was modified, damaged or moved; restore the file from a backup`,
      );
    }
    applyRecord({ entries, revocations, manifestRuns }, plaintext, `keystore ${path}:${line}`);
  }

  const live = entries.size + revocations.size + manifestRuns.length;
  const mustRewrite = tornTail || records.length > 2 * live + REWRITE_SLACK_RECORDS;
  return { key, entries, revocations, manifestRuns, lines: records.length + 1, mustRewrite };
}

function applyRecord(
  contents: Pick<KeystoreContents, 'entries' | 'revocations' | 'manifestRuns'>,
  plaintext: Uint8Array,
  where: string,
): void {
  const { entries, revocations, manifestRuns } = contents;
  let value: {
    email?: unknown;
    entry?: unknown;
    deleted?: unknown;
    revoked?: unknown;
    manifest_run?: unknown;
  };
  try {
    value = JSON.parse(utf8Decoder.decode(plaintext));
  } catch (cause) {
    throw new KeystoreError('ERR_KEYSTORE_INVALID', `${where}: the decrypted record is not JSON`, {
      cause,
    });
  } finally {
    plaintext.fill(0);
  }

  const email = value?.email;
  if (typeof email !== 'string' || !isNormalizedEmail(email)) {
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `${where}: email: expected a normalized email address`,
    );
  }

  if (value.deleted === true) {
    entries.delete(email);
    if (value.revoked !== undefined) {
      const revocation = parseRevocation(value.revoked, email, `${where}: revoked`);
      revocations.set(revocation.public_key, revocation);
    }
    if (value.manifest_run !== undefined) {
      if (email !== MANIFEST_RUN_EMAIL) {
        throw new KeystoreError(
          'ERR_KEYSTORE_INVALID',
          `${where}: manifest_run: expected only in records of ${MANIFEST_RUN_EMAIL}`,
        );
      }
      manifestRuns.push(parseManifestRun(value.manifest_run, `${where}: manifest_run`));
    }
    return;
  }
  entries.set(
    email,
    validateKeystoreEntry(value.entry, `${where}: entries[${JSON.stringify(email)}]`),
  );
}

function checkOwner(
  file: KeystoreFile | KeystoreFileV1,
  options: FileKeystoreOptions,
  path: string,
): void {
  if (file.organization_id !== options.organizationId) {
    throw new KeystoreError(
      'ERR_KEYSTORE_MISMATCH',
      `keystore ${path} belongs to organization ${file.organization_id}, not ${options.organizationId}: use that organization's credentials or another keystore file`,
    );
  }

  if (normalizeServerUrl(file.server_url) !== normalizeServerUrl(options.serverUrl)) {
    throw new KeystoreError(
      'ERR_KEYSTORE_MISMATCH',
      `keystore ${path} belongs to server ${file.server_url}, not ${normalizeServerUrl(options.serverUrl)}: use that server or another keystore file`,
    );
  }
}

function keystoreNotFound(path: string, cause?: unknown): KeystoreError {
  return new KeystoreError('ERR_KEYSTORE_NOT_FOUND', `keystore ${path} not found: check the path`, {
    cause,
  });
}

function wrongPassphrase(path: string, cause?: unknown): KeystoreError {
  return new KeystoreError(
    'ERR_KEYSTORE_WRONG_PASSPHRASE',
    `the passphrase is wrong for keystore ${path}: use the passphrase the keystore was created with`,
    { cause },
  );
}

/**
 * Returns the passphrase itself, calling a passphrase function once. An error that the
 * function throws, such as a cancelled prompt, reaches the caller of `open` unchanged.
 *
 * @throws KeystoreError `ERR_KEYSTORE_INVALID_OPTION` when the function returns anything
 *   but a non-empty string.
 */
async function resolvePassphrase(
  passphrase: KeystorePassphrase,
  request: KeystorePassphraseRequest,
): Promise<string> {
  if (typeof passphrase === 'string') {
    return passphrase;
  }

  const returned: unknown = await passphrase(request);
  if (typeof returned !== 'string' || returned === '') {
    throw invalidOption(
      `passphrase: the passphrase function returned ${returned === '' ? 'an empty string' : typeof returned}, expected a non-empty string`,
    );
  }
  return returned;
}

function invalidOption(message: string): KeystoreError {
  return new KeystoreError('ERR_KEYSTORE_INVALID_OPTION', message);
}

function checkPath(path: unknown): void {
  if (typeof path !== 'string' || path === '') {
    throw invalidOption(`path: expected a non-empty string, received ${describeType(path)}`);
  }
  // Node.js's fs functions reject such a path with ERR_INVALID_ARG_VALUE.
  if (path.includes('\0')) {
    throw invalidOption('path: expected a path without NUL characters');
  }
}

function checkOptions(options: FileKeystoreOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption(
      `options: expected an object with passphrase, organizationId and serverUrl, received ${options === null ? 'null' : typeof options}`,
    );
  }

  if (
    typeof options.passphrase !== 'function' &&
    (typeof options.passphrase !== 'string' || options.passphrase === '')
  ) {
    throw invalidOption('passphrase: expected a non-empty string or a function that returns one');
  }

  if (typeof options.organizationId !== 'string' || options.organizationId === '') {
    throw invalidOption('organizationId: expected a non-empty string');
  }

  if (typeof options.serverUrl !== 'string' || !URL.canParse(options.serverUrl)) {
    throw invalidOption('serverUrl: expected a URL, such as "https://api.example.com"');
  }

  if (options.mustExist !== undefined && typeof options.mustExist !== 'boolean') {
    throw invalidOption(`mustExist: expected a boolean, received ${typeof options.mustExist}`);
  }

  const scryptN = options.encryption?.scryptN;
  if (
    scryptN !== undefined &&
    (!Number.isInteger(scryptN) ||
      scryptN < SCRYPT_MIN_N ||
      scryptN > SCRYPT_MAX_N ||
      (scryptN & (scryptN - 1)) !== 0)
  ) {
    throw invalidOption(
      `encryption.scryptN: expected a power of two from ${SCRYPT_MIN_N} (2^14) to ${SCRYPT_MAX_N} (2^20), received ${String(scryptN)}`,
    );
  }
}

async function readKeystoreText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw new KeystoreError(
      'ERR_KEYSTORE_IO',
      `cannot read keystore ${path}: ${describeFsError(cause)}`,
      { cause },
    );
  }
}

async function decryptVersion1(
  file: KeystoreFileV1,
  passphrase: string,
  path: string,
): Promise<Map<string, ProvisionKeystoreEntry>> {
  let plaintext: Uint8Array;
  try {
    plaintext = await decryptWithPassphrase(
      decodeBase64Url(file.envelope, { name: 'envelope' }),
      passphrase,
    );
  } catch (cause) {
    if (cause instanceof CryptoError && cause.code === 'ERR_WRONG_PASSPHRASE') {
      throw wrongPassphrase(path, cause);
    }
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `keystore ${path}: envelope: ${(cause as Error).message}`,
      { cause },
    );
  }

  try {
    return parseEntries(plaintext, path);
  } finally {
    plaintext.fill(0);
  }
}

function parseEntries(plaintext: Uint8Array, path: string): Map<string, ProvisionKeystoreEntry> {
  let value: unknown;
  try {
    value = JSON.parse(utf8Decoder.decode(plaintext));
  } catch (cause) {
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `keystore ${path}: the decrypted entries are not JSON`,
      { cause },
    );
  } finally {
    plaintext.fill(0);
  }

  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KeystoreError(
      'ERR_KEYSTORE_INVALID',
      `keystore ${path}: expected the entries to be a JSON object`,
    );
  }

  const entries = new Map<string, ProvisionKeystoreEntry>();
  for (const [email, entry] of Object.entries(value)) {
    const where = `keystore ${path}: entries[${JSON.stringify(email)}]`;
    if (!isNormalizedEmail(email)) {
      throw new KeystoreError(
        'ERR_KEYSTORE_INVALID',
        `${where}: expected a normalized email address`,
      );
    }
    entries.set(email, validateKeystoreEntry(entry, where));
  }

  return entries;
}

/**
 * Tells whether `email` is in the form that `normalizeEmail` returns. An address whose
 * top-level label is all digits, such as `ada@127.0.0.1`, counts too, because
 * `normalizeEmail` accepted such addresses before it rejected them, and a keystore written
 * then must still open.
 */
function isNormalizedEmail(email: string): boolean {
  try {
    return normalizeEmail(email) === email;
  } catch (error) {
    if (!(error instanceof EmailAddressError) || error.reason !== 'numeric-top-level-domain') {
      return false;
    }
  }

  // A label of ASCII digits is its own normalized form, and so is a label of as many letters
  // "a", so the address is normalized exactly when the one with letters in its place is.
  const withLetters = email.replace(/[0-9]+$/, (digits) => 'a'.repeat(digits.length));
  try {
    return normalizeEmail(withLetters) === withLetters;
  } catch {
    return false;
  }
}

function normalizeServerUrl(serverUrl: string): string {
  return new URL(serverUrl).href.replace(/\/+$/, '');
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return 'its directory does not exist';
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return 'permission denied';
  }
  return code ?? (error as Error).message;
}
