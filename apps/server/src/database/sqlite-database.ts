import { setTimeout as delay } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import { DATABASE_BUSY_TIMEOUT_MS } from '../limits.js';
import { openDatabase, type SqliteDatabase } from './open-database.js';
import type { SqlClient, SqlDatabase, SqlParams } from './sql-client.js';
import {
  WAL_AUTOCHECKPOINT_DEFAULT_PAGES,
  WAL_AUTOCHECKPOINT_FALLBACK_PAGES,
  WalCheckpointer,
} from './wal-checkpointer.js';

/** Maximum pause between two tries to get a lock that another connection holds, in milliseconds. */
const MAX_BUSY_RETRY_DELAY_MS = 50;

/** Options of {@link SqliteSqlDatabase.open}. */
export interface SqliteOpenOptions {
  /**
   * Milliseconds between WAL checkpoints on the checkpoint thread (see
   * {@link WalCheckpointer}); default 100.
   */
  checkpointIntervalMs?: number;
}

/**
 * The {@link SqlDatabase} on `<dataDir>/provisions.sqlite`, through one
 * better-sqlite3 connection (see {@link openDatabase} for its settings).
 *
 * better-sqlite3 runs each statement synchronously, but a transaction's `work` is
 * async, so other requests could run their statements on the same connection while
 * it awaits. A queue therefore gives the connection to one caller at a time: a
 * transaction keeps it from `BEGIN IMMEDIATE` to `COMMIT`, and a query outside a
 * transaction waits for it too, so it never reads uncommitted rows. A query outside a
 * transaction that finds the queue empty runs at once instead of taking a turn in it,
 * which spares the promises of the queue on most reads.
 *
 * SQLite's own busy timeout would wait for another process's write lock inside the
 * statement, and so block the event loop, so this connection sets it to 0. A statement
 * or transaction that fails with `SQLITE_BUSY` instead gives the connection back, waits
 * on a timer (1 ms, doubling up to {@link MAX_BUSY_RETRY_DELAY_MS}), and runs again,
 * until {@link DATABASE_BUSY_TIMEOUT_MS} have passed since its first try. Then the
 * `SQLITE_BUSY` error is thrown, for which the server returns 503. A transaction that
 * fails that way rolls back and runs `work` again from the start, which the
 * {@link SqlDatabase.transaction} contract allows.
 */
export class SqliteSqlDatabase implements SqlDatabase {
  readonly backend = 'sqlite';
  readonly #db: SqliteDatabase;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #client: SqlClient;
  readonly #checkpointer: WalCheckpointer;
  #finishQueued = false;
  #queue: Promise<unknown> = Promise.resolve();
  /** Tasks of {@link #exclusive} that are waiting or running. */
  #queuedTasks = 0;

  /**
   * Called when a WAL checkpoint on the checkpoint thread fails, or when the thread
   * dies and this connection goes back to checkpointing by itself. The server logs it.
   */
  onCheckpointError: ((error: Error) => void) | undefined;

  constructor(db: SqliteDatabase, options: SqliteOpenOptions = {}) {
    this.#db = db;
    this.#db.pragma('busy_timeout = 0');
    this.#db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_FALLBACK_PAGES}`);
    this.#checkpointer = WalCheckpointer.start(db.name, {
      intervalMs: options.checkpointIntervalMs,
      onFailure: (error) => {
        if (this.#db.open) {
          this.#db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_DEFAULT_PAGES}`);
        }
        this.onCheckpointError?.(error);
      },
      onCheckpointError: (error) => this.onCheckpointError?.(error),
      onFinish: () => this.#finishCheckpoint(),
    });
    this.#client = {
      all: async <Row>(sql: string, params: SqlParams = []) =>
        this.#statement(sql).all(params) as Row[],
      get: async <Row>(sql: string, params: SqlParams = []) =>
        this.#statement(sql).get(params) as Row | undefined,
      run: async (sql: string, params: SqlParams = []) => {
        this.#statement(sql).run(params);
      },
    };
  }

  /**
   * Opens the database file of `dataDir`, creating and migrating it as needed.
   *
   * @throws DatabaseVersionError when the file has a newer schema than this server supports.
   */
  static open(dataDir: string, options: SqliteOpenOptions = {}): SqliteSqlDatabase {
    return new SqliteSqlDatabase(openDatabase(dataDir), options);
  }

  all<Row>(sql: string, params: SqlParams = []): Promise<Row[]> {
    return this.#runStatement(
      () => this.#statement(sql).all(params) as Row[],
      () => this.#client.all<Row>(sql, params),
    );
  }

  get<Row>(sql: string, params: SqlParams = []): Promise<Row | undefined> {
    return this.#runStatement(
      () => this.#statement(sql).get(params) as Row | undefined,
      () => this.#client.get<Row>(sql, params),
    );
  }

  run(sql: string, params: SqlParams = []): Promise<void> {
    return this.#runStatement(
      () => {
        this.#statement(sql).run(params);
      },
      () => this.#client.run(sql, params),
    );
  }

  transaction<T>(work: (client: SqlClient) => Promise<T>): Promise<T> {
    return this.#exclusiveUntilUnlocked(async () => {
      this.#statement('BEGIN IMMEDIATE').run();
      try {
        const result = await work(this.#client);
        this.#statement('COMMIT').run();
        return result;
      } catch (error) {
        if (this.#db.inTransaction) {
          this.#statement('ROLLBACK').run();
        }
        throw error;
      }
    });
  }

  /** Stops the checkpoint thread after a last checkpoint, then closes the connection. */
  async close(): Promise<void> {
    await this.#exclusive(async () => {
      await this.#checkpointer.stop();
      if (this.#db.open) {
        this.#db.close();
      }
    });
  }

  /**
   * Copies the WAL frames that the checkpoint thread left, between two transactions,
   * so that the next write transaction restarts the WAL from its beginning.
   */
  #finishCheckpoint(): void {
    if (this.#finishQueued) {
      return;
    }

    this.#finishQueued = true;
    void this.#exclusive(async () => {
      this.#finishQueued = false;
      if (this.#db.open) {
        this.#db.pragma('wal_checkpoint(PASSIVE)');
      }
    }).catch((error: unknown) => {
      this.onCheckpointError?.(error instanceof Error ? error : new Error(String(error)));
    });
  }

  #statement(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Runs one statement outside a transaction: at once through `now` while no task holds
   * or waits for the connection, otherwise, or when `now` finds the database locked,
   * through `queued` in the queue with its retries.
   */
  #runStatement<T>(now: () => T, queued: () => Promise<T>): Promise<T> {
    if (this.#queuedTasks === 0) {
      try {
        return Promise.resolve(now());
      } catch (error) {
        if (!isBusyError(error)) {
          return Promise.reject(error);
        }
      }
    }
    return this.#exclusiveUntilUnlocked(queued);
  }

  /**
   * Runs `task` with the connection to itself, and again after a pause each time it
   * fails with `SQLITE_BUSY`, until the busy timeout has passed. The connection is free
   * for other callers during the pauses.
   */
  async #exclusiveUntilUnlocked<T>(task: () => Promise<T>): Promise<T> {
    const deadline = performance.now() + DATABASE_BUSY_TIMEOUT_MS;

    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.#exclusive(task);
      } catch (error) {
        const remainingMs = deadline - performance.now();
        if (!isBusyError(error) || remainingMs <= 0) {
          throw error;
        }
        await delay(Math.min(2 ** attempt, MAX_BUSY_RETRY_DELAY_MS, remainingMs));
      }
    }
  }

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    this.#queuedTasks += 1;
    const result = this.#queue.then(task);
    this.#queue = result
      .catch(() => undefined)
      .then(() => {
        this.#queuedTasks -= 1;
      });
    return result;
  }
}

/**
 * Tells whether an error of better-sqlite3 means that another connection holds a lock
 * this one needs: `SQLITE_BUSY` or one of its extended codes, such as
 * `SQLITE_BUSY_SNAPSHOT`.
 */
function isBusyError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'));
}
