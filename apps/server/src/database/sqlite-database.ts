import type Database from 'better-sqlite3';
import { openDatabase, type SqliteDatabase } from './open-database.js';
import type { SqlClient, SqlDatabase, SqlParams } from './sql-client.js';

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
  #queue: Promise<unknown> = Promise.resolve();

  constructor(db: SqliteDatabase) {
    this.#db = db;
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
  static open(dataDir: string): SqliteSqlDatabase {
    return new SqliteSqlDatabase(openDatabase(dataDir));
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

  async close(): Promise<void> {
    await this.#exclusive(async () => {
      if (this.#db.open) {
        this.#db.close();
      }
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
