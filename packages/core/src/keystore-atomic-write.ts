import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces the file at `path` with `data` atomically: readers, and the file
 * left after a crash, contain either the old content or the new, never a mix.
 *
 * Steps: write a temporary file with `mode` in the same directory, fsync it,
 * rename it over `path`, then fsync the directory so the rename itself is
 * durable. The temporary file is removed if a step fails.
 *
 * @param path - the file to replace; its directory must exist.
 * @param data - the new content.
 * @param mode - permission bits of the new file, such as `0o600`.
 * @throws the `fs` error of the step that failed.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode: number,
): Promise<void> {
  const directory = dirname(path);
  const temporaryPath = join(directory, `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);

  const file = await open(temporaryPath, 'wx', mode);
  try {
    try {
      await file.chmod(mode);
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }

    await rename(temporaryPath, path);
  } catch (error) {
    await unlink(temporaryPath).catch(() => undefined);
    throw error;
  }

  await syncDirectory(directory);
}

async function syncDirectory(directory: string): Promise<void> {
  // NOTE: Windows cannot open a directory for fsync; there the rename is
  // durable only once the file system flushes it.
  if (process.platform === 'win32') {
    return;
  }

  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
