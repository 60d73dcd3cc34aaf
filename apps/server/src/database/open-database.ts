import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DATABASE_BUSY_TIMEOUT_MS } from '../limits.js';
import { DatabaseVersionError } from './database-version-error.js';
import { MIGRATIONS } from './migrations.js';

/** Maximum pause between two tries to switch a new database file to WAL, in milliseconds. */
const MAX_WAL_SWITCH_PAUSE_MS = 50;

/** File name of the SQLite database inside the data directory. */
export const DATABASE_FILE_NAME = 'provisions.sqlite';

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
 * @throws Error naming the file when it is not a SQLite database or is damaged.
 * @example
 * const db = openDatabase('/var/lib/provisions');
 */
export function openDatabase(dataDir: string): SqliteDatabase {
  // The database contains server key shares and token hashes, so only the owner may
  // read it. SQLite gives its -wal and -shm files the mode of the database file.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, DATABASE_FILE_NAME);
  createDatabaseFile(path);
  const db = new Database(path);

  try {
    db.pragma(`busy_timeout = ${DATABASE_BUSY_TIMEOUT_MS}`);
    enableWal(db);
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw damagedFileError(path, error) ?? error;
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
