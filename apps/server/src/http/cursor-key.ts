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
 * @throws Error when the file exists but does not contain exactly {@link CURSOR_KEY_LENGTH} bytes.
 */
export async function loadCursorKey(dataDir: string): Promise<Uint8Array> {
  const path = join(dataDir, CURSOR_KEY_FILE_NAME);

  const temporaryPath = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
  await writeFile(temporaryPath, randomBytes(CURSOR_KEY_LENGTH), { flag: 'wx', mode: 0o600 });
  try {
    await link(temporaryPath, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw error;
    }
  } finally {
    await rm(temporaryPath, { force: true });
  }

  const key = await readFile(path);
  if (key.length !== CURSOR_KEY_LENGTH) {
    throw new Error(
      `${path} must contain ${CURSOR_KEY_LENGTH} bytes, found ${key.length}; delete it to make a new key, which invalidates existing cursors`,
    );
  }
  return key;
}
