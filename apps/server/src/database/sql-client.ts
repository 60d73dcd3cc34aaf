/** A value bound to a statement parameter or read from a column. */
export type SqlValue = string | number | Buffer | null;

/**
 * Parameters of one statement: an array for `?` placeholders, in order, or an
 * object for `@name` placeholders, where one name may appear several times.
 */
export type SqlParams = readonly SqlValue[] | Readonly<Record<string, SqlValue>>;

/**
 * Runs SQL on one database connection, or on the connection of a transaction.
 * The SQL is written once for both backends: placeholders are `?` or `@name`,
 * and the statements use only syntax that SQLite and PostgreSQL share.
 *
 * Column types read back the same on both: integers (also PostgreSQL `bigint`)
 * as numbers, `BLOB`/`bytea` as Buffer, text as string, NULL as null.
 */
export interface SqlClient {
  /** Returns every row of a query. */
  all<Row>(sql: string, params?: SqlParams): Promise<Row[]>;

  /** Returns the first row of a query, or undefined when there is none. */
  get<Row>(sql: string, params?: SqlParams): Promise<Row | undefined>;

  /** Runs a statement that returns no rows. */
  run(sql: string, params?: SqlParams): Promise<void>;
}

/** A database: queries outside transactions, write transactions, and closing. */
export interface SqlDatabase extends SqlClient {
  /** `sqlite` for the file in the data directory, `postgres` for a `DATABASE_URL`. */
  readonly backend: 'sqlite' | 'postgres';

  /**
   * Runs `work` in a write transaction and commits when it resolves. When `work`
   * rejects, the transaction rolls back and the error is rethrown.
   *
   * Both backends run one write transaction at a time per database, even across
   * processes: SQLite through `BEGIN IMMEDIATE`, PostgreSQL through an advisory
   * lock taken first in every write transaction. So the reads inside see the state
   * the writes apply to, and rows with a `position` commit in position order.
   * PostgreSQL also runs `work` again, a bounded number of times, after a
   * serialization failure, a deadlock or a unique violation. SQLite runs it again
   * when a statement in it finds the database locked by another connection. So
   * `work` must have no effect outside the database.
   */
  transaction<T>(work: (client: SqlClient) => Promise<T>): Promise<T>;

  /** Closes every connection; waits for running queries first. */
  close(): Promise<void>;
}
