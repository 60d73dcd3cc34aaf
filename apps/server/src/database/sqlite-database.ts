import type Database from 'better-sqlite3';
import { openDatabase, type SqliteDatabase } from './open-database.js';
import type { SqlClient, SqlDatabase, SqlParams } from './sql-client.js';
import {
  WAL_AUTOCHECKPOINT_DEFAULT_PAGES,
  WAL_AUTOCHECKPOINT_FALLBACK_PAGES,
  WalCheckpointer,
} from './wal-checkpointer.js';

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
 * transaction waits for it too, so it never reads uncommitted rows.
 */
export class SqliteSqlDatabase implements SqlDatabase {
  readonly backend = 'sqlite';
  readonly #db: SqliteDatabase;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #client: SqlClient;
  readonly #checkpointer: WalCheckpointer;
  #finishQueued = false;
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * Called when a WAL checkpoint on the checkpoint thread fails, or when the thread
   * dies and this connection goes back to checkpointing by itself. The server logs it.
   */
  onCheckpointError: ((error: Error) => void) | undefined;

  constructor(db: SqliteDatabase, options: SqliteOpenOptions = {}) {
    this.#db = db;
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

  all<Row>(sql: string, params?: SqlParams): Promise<Row[]> {
    return this.#exclusive(() => this.#client.all<Row>(sql, params));
  }

  get<Row>(sql: string, params?: SqlParams): Promise<Row | undefined> {
    return this.#exclusive(() => this.#client.get<Row>(sql, params));
  }

  run(sql: string, params?: SqlParams): Promise<void> {
    return this.#exclusive(() => this.#client.run(sql, params));
  }

  transaction<T>(work: (client: SqlClient) => Promise<T>): Promise<T> {
    return this.#exclusive(async () => {
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

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(task);
    this.#queue = result.catch(() => undefined);
    return result;
  }
}
