import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Mode of the directories {@link createDataDir} makes: only the owner may enter them. */
const DATA_DIR_MODE = 0o700;

/**
 * Creates the data directory and its missing parents, with mode 0700 for the
 * directories it makes, before anything writes into it. Both backends need it: the
 * SQLite file lives there, and on PostgreSQL the outbox and `cursor.key` still do.
 * An existing directory is left as it is.
 *
 * @throws Error naming the directory and the reason when the path cannot be created: it or
 *   a parent is a file or a link to nothing, permission is denied, the file system is
 *   read-only or does not allow directories there. The file system error is its `cause`.
 * @example
 * await createDataDir('/var/lib/provisions');
 */
export async function createDataDir(dataDir: string): Promise<void> {
  try {
    await makeDirectory(resolve(dataDir));
  } catch (error) {
    const cause = error instanceof UnusablePathError ? error.cause : error;
    const reason =
      error instanceof UnusablePathError
        ? error.reason
        : (DATA_DIR_FAILURES[(error as NodeJS.ErrnoException).code ?? ''] ??
          (error as Error).message);
    throw new Error(`data directory ${dataDir} cannot be created: ${reason}`, { cause });
  }
}

/**
 * Creates `path` after its missing parents, one directory at a time from the closest
 * existing one. Node's `mkdir` with `recursive` does not return on a file system that
 * rejects a directory although its parent exists, such as `/proc` (seen on Node 20.20).
 */
async function makeDirectory(path: string): Promise<void> {
  try {
    await mkdir(path, { mode: DATA_DIR_MODE });
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      await checkIsDirectory(path, error);
      return;
    }
    if (code !== 'ENOENT' || dirname(path) === path) {
      throw error;
    }
  }

  await makeDirectory(dirname(path));
  try {
    await mkdir(path, { mode: DATA_DIR_MODE });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      // Another call or process created it in between.
      await checkIsDirectory(path, error);
      return;
    }
    if (code === 'ENOENT') {
      throw new UnusablePathError(
        'the file system does not allow a directory there; choose another path',
        error,
      );
    }
    throw error;
  }
}

/**
 * Checks that `path`, on which `mkdir` failed with EEXIST, is a directory or a link to one.
 *
 * @throws the `mkdir` error `existsError` when it is something else.
 * @throws UnusablePathError when it is a symbolic link to nothing.
 */
async function checkIsDirectory(path: string, existsError: unknown): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UnusablePathError(DANGLING_LINK, error);
    }
    throw error;
  }
  if (!isDirectory) {
    throw existsError;
  }
}

const DANGLING_LINK = 'a part of the path is a symbolic link to nothing; choose another path';

/** A path that cannot become the data directory, with the reason shown to the operator. */
class UnusablePathError extends Error {
  readonly reason: string;

  constructor(reason: string, cause: unknown) {
    super(reason, { cause });
    this.name = 'UnusablePathError';
    this.reason = reason;
  }
}

/** Reasons shown to the operator for the file system errors that `mkdir` gives for a bad path. */
const DATA_DIR_FAILURES: Readonly<Record<string, string>> = {
  EEXIST: 'it is a file, not a directory; choose another path',
  // A parent removed while the directories are being made.
  ENOENT: 'a part of the path disappeared while it was being created; try again',
  ENOTDIR: 'a part of the path is a file, not a directory; choose another path',
  EACCES: 'permission denied; choose a path this user may write to',
  EPERM: 'permission denied; choose a path this user may write to',
  EROFS: 'the file system is read-only; choose a writable path',
};
