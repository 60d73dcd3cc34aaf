import { mkdir } from 'node:fs/promises';

/**
 * Creates the data directory and its missing parents, with mode 0700 for the
 * directories it makes, before anything writes into it. Both backends need it: the
 * SQLite file lives there, and on PostgreSQL the outbox and `cursor.key` still do.
 * An existing directory is left as it is.
 *
 * @throws Error naming the directory and the reason when the path cannot be created: it or
 *   a parent is a file or a link to nothing, permission is denied, or the file system is
 *   read-only. The file system error is its `cause`.
 * @example
 * await createDataDir('/var/lib/provisions');
 */
export async function createDataDir(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? '';
    const reason = DATA_DIR_FAILURES[code] ?? (cause as Error).message;
    throw new Error(`data directory ${dataDir} cannot be created: ${reason}`, { cause });
  }
}

/** Reasons shown to the operator for the file system errors that `mkdir` gives for a bad path. */
const DATA_DIR_FAILURES: Readonly<Record<string, string>> = {
  EEXIST: 'it is a file, not a directory; choose another path',
  // mkdir with `recursive` creates missing parents, so ENOENT comes from a symbolic link whose
  // target is missing (or a parent removed while it runs).
  ENOENT: 'a part of the path is a symbolic link to nothing; choose another path',
  ENOTDIR: 'a part of the path is a file, not a directory; choose another path',
  EACCES: 'permission denied; choose a path this user may write to',
  EPERM: 'permission denied; choose a path this user may write to',
  EROFS: 'the file system is read-only; choose a writable path',
};
