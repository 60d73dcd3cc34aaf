import { closeSync, mkdirSync, openSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { DATABASE_BUSY_TIMEOUT_MS } from '../limits.js';
import { DatabaseVersionError } from './database-version-error.js';
import { MIGRATIONS } from './migrations.js';

/** Maximum pause between two tries to switch a new database file to WAL, in milliseconds. */
const MAX_WAL_SWITCH_PAUSE_MS = 50;

/** File name of the SQLite database inside the data directory. */
export const DATABASE_FILE_NAME = 'provisions.sqlite';

/**
 * Maximum length in bytes of the absolute path of a database file, with symbolic links
 * resolved, that SQLite opens. SQLite's unix VFS takes path names of up to 512 bytes
 * (`MAX_PATHNAME` in SQLite 3.53.2, as bundled in better-sqlite3 12.11.1), and the
 * pager rejects a database path unless its `-journal` name, 8 bytes longer, fits too.
 * NOTE: SQLite's Windows VFS has other limits, which this constant does not model.
 */
export const MAX_DATABASE_PATH_BYTES = 504;

/** An open better-sqlite3 connection. */
export type SqliteDatabase = Database.Database;

/**
 * Opens `<dataDir>/provisions.sqlite`, creating the directory and the file if missing,
 * and brings its schema to the latest version.
 *
 * The connection uses WAL journaling (readers never block the writer, so another
 * process such as `create-organization` can write while a server runs), a busy
 * timeout of {@link DATABASE_BUSY_TIMEOUT_MS} and enforced foreign keys. The busy
 * timeout blocks the thread while it waits, which is harmless for the migrations here,
 * since they run before the server accepts requests. `SqliteSqlDatabase` sets it to 0
 * and waits on timers instead.
 *
 * @param dataDir - Directory that holds the database; created with its parents if missing.
 * @returns The open connection; the caller closes it.
 * @throws DatabaseVersionError when the file has a newer schema than this server knows.
 * @throws Error naming the file when its path is too long for SQLite, when SQLite cannot
 *   open or write it or its `-wal` and `-shm` files, or when it is not a SQLite database or
 *   is damaged.
 * @example
 * const db = openDatabase('/var/lib/provisions');
 */
export function openDatabase(dataDir: string): SqliteDatabase {
  checkDatabasePath(dataDir);
  // The database contains server key shares and token hashes, so only the owner may
  // read it. SQLite gives its -wal and -shm files the mode of the database file.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, DATABASE_FILE_NAME);
  createDatabaseFile(path);
  const db = connect(path);

  try {
    db.pragma(`busy_timeout = ${DATABASE_BUSY_TIMEOUT_MS}`);
    enableWal(db);
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw damagedFileError(path, error) ?? unwritableFileError(path, error) ?? error;
  }
}

/**
 * Checks that SQLite can open the database file of `dataDir`, whose absolute path must be
 * at most {@link MAX_DATABASE_PATH_BYTES} long once symbolic links are resolved. It creates
 * nothing, so a caller can run it before making the data directory and leave no directories
 * behind when the path is too long.
 *
 * @throws Error naming the file, the length of its path and the limit.
 * @example
 * checkDatabasePath('/var/lib/provisions');
 */
export function checkDatabasePath(dataDir: string): void {
  const path = join(dataDir, DATABASE_FILE_NAME);
  const bytes = Buffer.byteLength(canonicalPath(path));
  if (bytes > MAX_DATABASE_PATH_BYTES) {
    throw new Error(
      `database file ${path} cannot be opened: its absolute path is ${bytes} bytes long, and SQLite accepts at most ${MAX_DATABASE_PATH_BYTES}; choose a data directory with a shorter path`,
    );
  }
}

/**
 * Returns the absolute form of `path` with the symbolic links of its longest existing
 * part resolved, as SQLite resolves them. The missing rest is appended as written.
 */
function canonicalPath(path: string): string {
  const missing: string[] = [];
  let existing = resolve(path);

  for (;;) {
    try {
      return join(realpathSync(existing), ...missing.reverse());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const parent = dirname(existing);
      // A missing part, or a path over the system's limit, makes the parent the next try.
      // Any other failure (a part that is a file, no permission) is reported when the data
      // directory is created, so the path as written is the estimate until then.
      if ((code !== 'ENOENT' && code !== 'ENAMETOOLONG') || parent === existing) {
        return resolve(path);
      }
      missing.push(basename(existing));
      existing = parent;
    }
  }
}

/**
 * Opens a better-sqlite3 connection to the existing file `path`.
 *
 * @throws Error naming the file when SQLite cannot open it (`SQLITE_CANTOPEN`).
 */
function connect(path: string): SqliteDatabase {
  try {
    return new Database(path);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'SQLITE_CANTOPEN') {
      throw error;
    }
    throw new Error(
      `database file ${path} cannot be opened: SQLite failed (${(error as Error).message}); check that its absolute path, with symbolic links resolved, is at most ${MAX_DATABASE_PATH_BYTES} bytes long`,
      { cause: error },
    );
  }
}

/**
 * better-sqlite3 error codes of a file that is not a SQLite database (`SQLITE_NOTADB`, such
 * as a file whose header was overwritten) or whose content is damaged (`SQLITE_CORRUPT` and
 * its extended codes, such as `SQLITE_CORRUPT_INDEX`).
 */
const DAMAGED_FILE_CODE = /^SQLITE_(?:NOTADB|CORRUPT)(?:_|$)/;

/**
 * Returns an error naming the database file and the next step when `error` has a code of
 * {@link DAMAGED_FILE_CODE}, or undefined for any other error. SQLite's own message, such
 * as "file is not a database", names neither.
 */
function damagedFileError(path: string, error: unknown): Error | undefined {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !DAMAGED_FILE_CODE.test(code)) {
    return undefined;
  }
  return new Error(
    `database file ${path} is not a SQLite database or is damaged; restore it from a backup or choose another data directory`,
    { cause: error },
  );
}

/**
 * Returns an error naming the database file and what to do when SQLite opened the file but
 * cannot write it or open its `-wal` or `-shm` file. That happens to a user who may not
 * write the data directory or those files, and SQLite's own messages, such as "attempt to
 * write a readonly database", name no file. Returns undefined for any other error.
 */
function unwritableFileError(path: string, error: unknown): Error | undefined {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') {
    return undefined;
  }

  let message: string;
  if (code === 'SQLITE_READONLY_DIRECTORY') {
    message = `database file ${path} cannot be written: this user may not write to its directory, where SQLite creates the -wal and -shm files; run the server as a user who may write to the data directory, such as its owner`;
  } else if (code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY_')) {
    message = `database file ${path} cannot be written: SQLite may only read it or its -wal and -shm files (${code}); run the server as a user who may write to them, such as their owner`;
  } else if (code === 'SQLITE_CANTOPEN') {
    message = `database file ${path} cannot be opened: SQLite failed to open its -wal or -shm file (${code}); run the server as a user who may read and write them, such as their owner`;
  } else {
    return undefined;
  }
  return new Error(message, { cause: error });
}

/** Reasons shown to the operator for the errors of opening the database file. */
const DATABASE_FILE_FAILURES: Readonly<Record<string, string>> = {
  EISDIR: 'it is a directory; move it away or choose another data directory',
  EACCES: 'permission denied; run the server as a user who may write to the data directory',
  EPERM: 'permission denied; run the server as a user who may write to the data directory',
  EROFS: 'the file system is read-only; choose a writable data directory',
};

/**
 * Creates the database file with mode 0600 if it is missing.
 *
 * @throws Error naming the file and the reason, with the file system error as its cause.
 */
function createDatabaseFile(path: string): void {
  try {
    closeSync(openSync(path, 'a', 0o600));
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? '';
    const reason = DATABASE_FILE_FAILURES[code] ?? (cause as Error).message;
    throw new Error(`database file ${path} cannot be opened: ${reason}`, { cause });
  }
}

/**
 * Switches a connection to WAL journaling. When two processes open a new file at once,
 * SQLite fails one switch with `SQLITE_BUSY` at once, without waiting through the busy
 * timeout, so the switch is tried again after a pause, up to that timeout. The pauses
 * block the thread, which is harmless here: the server does not serve requests yet.
 */
function enableWal(db: SqliteDatabase): void {
  const deadline = Date.now() + DATABASE_BUSY_TIMEOUT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));

  for (let pauseMs = 1; ; pauseMs = Math.min(pauseMs * 2, MAX_WAL_SWITCH_PAUSE_MS)) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) {
        throw error;
      }
      Atomics.wait(pause, 0, 0, pauseMs);
    }
  }
}

/**
 * Runs the pending entries of {@link MIGRATIONS}, each in its own write transaction.
 * The version is read again inside the transaction, so two processes opening the
 * same new file apply each migration once.
 */
function migrate(db: SqliteDatabase): void {
  const readVersion = () => db.pragma('user_version', { simple: true }) as number;

  for (;;) {
    const applied = db
      .transaction(() => {
        const version = readVersion();
        if (version > MIGRATIONS.length) {
          throw new DatabaseVersionError(version, MIGRATIONS.length);
        }
        const migration = MIGRATIONS[version];
        if (migration === undefined) {
          return false;
        }

        db.exec(migration);
        db.pragma(`user_version = ${version + 1}`);
        return true;
      })
      .immediate();

    if (!applied) {
      return;
    }
  }
}
