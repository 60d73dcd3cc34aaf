import { randomBytes } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CURSOR_KEY_LENGTH } from './page-cursor.js';

/** File in the data directory that contains the key signing pagination cursors. */
export const CURSOR_KEY_FILE_NAME = 'cursor.key';

/**
 * Reads the key that signs pagination cursors from `<dataDir>/cursor.key`, creating
 * it with {@link CURSOR_KEY_LENGTH} random bytes and mode 0600 when it is missing,
 * so cursors stay valid across restarts. The key is written to a temporary file and
 * then linked into place, so two servers starting at once on one directory end up
 * with the same complete key.
 *
 * @throws Error naming the file and what to do when it cannot be created or read, or
 * does not contain exactly {@link CURSOR_KEY_LENGTH} bytes. The file system error is its `cause`.
 */
export async function loadCursorKey(dataDir: string): Promise<Uint8Array> {
  const path = join(dataDir, CURSOR_KEY_FILE_NAME);

  const temporaryPath = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(temporaryPath, randomBytes(CURSOR_KEY_LENGTH), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    throw cursorKeyError(path, 'created', error);
  }
  try {
    await link(temporaryPath, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw cursorKeyError(path, 'created', error);
    }
  } finally {
    await rm(temporaryPath, { force: true });
  }

  let key: Buffer;
  try {
    key = await readFile(path);
  } catch (error) {
    throw cursorKeyError(path, 'read', error);
  }
  if (key.length !== CURSOR_KEY_LENGTH) {
    throw new Error(
      `${path} must contain ${CURSOR_KEY_LENGTH} bytes, found ${key.length}; delete it to make a new key, which invalidates existing cursors`,
    );
  }
  return key;
}

/** Reasons and next steps for the file system errors of creating or reading the cursor key. */
const CURSOR_KEY_FAILURES: Readonly<Record<string, string>> = {
  EACCES:
    'permission denied; run the server as a user who may write to the data directory and read the file, such as their owner',
  EPERM:
    'permission denied; run the server as a user who may write to the data directory and read the file, such as their owner',
  EROFS: 'the file system is read-only; choose a writable data directory',
  EISDIR:
    'it is a directory; remove it so that the server creates a new key, or replace it with the cursor.key file of the other servers behind the same load balancer',
};

/** Builds the error of a cursor key file that cannot be created or read, naming the file. */
function cursorKeyError(path: string, step: 'created' | 'read', error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const reason = CURSOR_KEY_FAILURES[code] ?? (error as Error).message;
  return new Error(`cursor key file ${path} cannot be ${step}: ${reason}`, { cause: error });
}
