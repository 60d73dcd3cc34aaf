import { mkdir } from 'node:fs/promises';

/**
 * Creates the data directory and its missing parents, with mode 0700 for the
 * directories it makes, before anything writes into it. Both backends need it: the
 * SQLite file lives there, and on PostgreSQL the outbox and `cursor.key` still do.
 * An existing directory is left as it is.
 *
 * @throws the file system error when the path cannot be created, such as `ENOTDIR`
 * when a parent is a file or `EACCES` without permission.
 * @example
 * await createDataDir('/var/lib/provisions');
 */
export async function createDataDir(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
}
