import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Permission bits of a file that contains a secret: read and write for its owner only. */
export const PRIVATE_FILE_MODE = 0o600;

/** Returns a new random name for the temporary file of `path`, in the same directory. */
export function temporaryPathFor(path: string): string {
  const suffix = randomBytes(6).toString('hex');
  return join(dirname(path), `.${basename(path)}.${suffix}.tmp`);
}

/**
 * Writes `data` to `path` with mode 0600, through a new temporary file in the same directory
 * that is renamed over `path`. The temporary file is created with O_EXCL under a random name,
 * so an existing file or symbolic link is never opened, and the rename replaces a symbolic
 * link at `path` instead of writing to its target. A reader sees the old file or the whole new
 * one, never a part.
 *
 * @param options.sync - fsync the file before the rename, for files that must survive a
 *   power cut.
 * @throws the `fs` error of the step that failed; the temporary file is removed.
 */
export async function writePrivateFile(
  path: string,
  data: string,
  options: { sync?: boolean } = {},
): Promise<void> {
  const temporaryPath = temporaryPathFor(path);
  const handle = await open(temporaryPath, 'wx', PRIVATE_FILE_MODE);
  try {
    try {
      // The umask may have removed bits from the mode given to open, never added any.
      await handle.chmod(PRIVATE_FILE_MODE);
      await handle.writeFile(data);
      if (options.sync === true) {
        await handle.sync();
      }
    } finally {
      await handle.close();
    }
    await rename(temporaryPath, path);
  } catch (error) {
    await unlink(temporaryPath).catch(() => undefined);
    throw error;
  }
}
