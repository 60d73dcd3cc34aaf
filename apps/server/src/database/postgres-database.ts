import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import {
  DATABASE_BUSY_TIMEOUT_MS,
  DATABASE_CONNECT_TIMEOUT_MS,
  POSTGRES_MAX_TRANSACTION_ATTEMPTS,
  POSTGRES_QUERY_TIMEOUT_MS,
  POSTGRES_STATEMENT_TIMEOUT_MS,
} from '../limits.js';
import { describeDatabaseUrl } from './database-url.js';
import { DatabaseVersionError } from './database-version-error.js';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
import { toPostgresQuery } from './postgres-placeholders.js';
import type { SqlClient, SqlDatabase, SqlParams } from './sql-client.js';

/** OID of PostgreSQL's `bigint` (`int8`) type. */
const INT8_OID = 20;

/** End of the message when the database cannot be opened: what the operator checks. */
const POSTGRES_OPEN_HINT =
  "; check that PostgreSQL is running there and that the URL's user, password and database are right";

/**
 * Key of the session advisory lock that one migrating process holds. Advisory locks
 * are per database, so the key includes the schema the tables live in: servers on
 * other schemas of the same database do not wait for each other.
 */
const MIGRATION_LOCK_KEY =
  "hashtextextended('provisions migrations ' || coalesce(current_schema(), ''), 0)";

/** Key of the transaction advisory lock that every write transaction takes first, per schema. */
export const WRITE_LOCK_KEY =
  "hashtextextended('provisions writes ' || coalesce(current_schema(), ''), 0)";

/**
 * SQLSTATE codes after which a transaction runs again: a serialization failure
 * and a deadlock, which PostgreSQL expects the client to retry, and a unique
 * violation, which two racing inserts cause. Run again, the transaction reads the
 * row that won the race, so its checks return the right 409 instead. The write
 * lock keeps write transactions from racing each other, so these come only from
 * writes outside it, such as a person's schema change by hand.
 */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01', '23505']);

/** Message of the error that node-postgres 8 raises when `query_timeout` passes without a response. */
const QUERY_TIMEOUT_MESSAGE = 'Query read timeout';

/** Error thrown when the PostgreSQL database cannot be reached or migrated at start. */
export class DatabaseConnectionError extends Error {
  /** Stable error code. */
  readonly code = 'ERR_DATABASE_CONNECTION';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DatabaseConnectionError';
  }
}

/** A transaction that failed and is about to run again. */
export interface TransactionRetry {
  /** The attempt that failed, from 1. */
  attempt: number;
  /** SQLSTATE of its error. */
  sqlState: string;
}

/**
 * The {@link SqlDatabase} on a PostgreSQL database, through a `pg` connection pool.
 * Several server processes can use one database at once.
 *
 * Each write transaction runs at `READ COMMITTED` and first takes one
 * transaction-scoped advisory lock for its schema, so write transactions run one
 * at a time across every process, as on SQLite, and each statement reads every row committed
 * before it. The checks of a transaction (one active provision per address, keys
 * in use, sign-in code attempts, idempotency keys) therefore see the rows they
 * guard, and positions drawn from identity sequences commit in order. The unique
 * indexes stay as a second line: a unique violation rolls back and runs the
 * transaction again, whose checks then return the matching 409.
 *
 * NOTE: `SERIALIZABLE` alone would not do. On small tables its predicate locks
 * cover whole tables, so concurrent box creations fail with serialization errors
 * more often than a bounded number of retries absorbs.
 */
export class PostgresSqlDatabase implements SqlDatabase {
  readonly backend = 'postgres';
  /** Called before a failed transaction runs again; the server logs these. */
  onRetry: ((retry: TransactionRetry) => void) | undefined;
  /** Called when an idle pooled connection fails; the pool replaces it. */
  onIdleError: ((error: Error) => void) | undefined;
  readonly #pool: pg.Pool;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
    pool.on('error', (error) => this.onIdleError?.(error));
  }

  /**
   * Connects to the database at `url` and brings its schema to the latest version.
   * Migrations run under a session advisory lock, so processes that start at once
   * apply each migration once.
   *
   * @param url - A URL already checked by `checkDatabaseUrl`.
   * @throws DatabaseVersionError when the database has a newer schema than this server supports.
   * @throws DatabaseConnectionError when the database cannot be reached or migrated; the
   * message names its host, port and database but never the password.
   */
  static async connect(url: string): Promise<PostgresSqlDatabase> {
    const pool = new pg.Pool({
      ...connectionConfig(url),
      // Bounds on every session of the running server, so that a stalled database, or
      // a stalled server process holding the write lock, fails requests with 503 after
      // about as long as a locked SQLite file. A URL parameter of the same name, such
      // as `?statement_timeout=10000`, takes precedence.
      lock_timeout: DATABASE_BUSY_TIMEOUT_MS,
      statement_timeout: POSTGRES_STATEMENT_TIMEOUT_MS,
      idle_in_transaction_session_timeout: DATABASE_BUSY_TIMEOUT_MS,
      query_timeout: POSTGRES_QUERY_TIMEOUT_MS,
    });
    const database = new PostgresSqlDatabase(pool);

    try {
      await PostgresSqlDatabase.#migrate(url);
      return database;
    } catch (error) {
      await pool.end().catch(() => undefined);
      if (error instanceof DatabaseVersionError) {
        throw error;
      }
      const reason = error instanceof Error ? error.message : String(error);
      throw new DatabaseConnectionError(
        `failed to open the PostgreSQL database ${describeDatabaseUrl(url)}: ${reason}${POSTGRES_OPEN_HINT}`,
        { cause: error },
      );
    }
  }

  all<Row>(sql: string, params?: SqlParams): Promise<Row[]> {
    return queryRows<Row>(this.#pool, sql, params);
  }

  async get<Row>(sql: string, params?: SqlParams): Promise<Row | undefined> {
    return (await queryRows<Row>(this.#pool, sql, params))[0];
  }

  async run(sql: string, params?: SqlParams): Promise<void> {
    await queryRows(this.#pool, sql, params);
  }

  async transaction<T>(work: (client: SqlClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await this.#attempt(work);
      if ('result' in outcome) {
        return outcome.result;
      }

      const sqlState = sqlStateOf(outcome.error);
      if (
        sqlState === undefined ||
        !RETRYABLE_SQLSTATES.has(sqlState) ||
        attempt >= POSTGRES_MAX_TRANSACTION_ATTEMPTS
      ) {
        throw outcome.error;
      }
      this.onRetry?.({ attempt, sqlState });
      // Random backoff that grows with each attempt, so racing transactions drift apart.
      await delay(Math.random() * Math.min(200, 5 * 2 ** attempt));
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  async #attempt<T>(
    work: (client: SqlClient) => Promise<T>,
  ): Promise<{ result: T } | { error: unknown }> {
    const connection = await this.#pool.connect();
    // The pool listens for errors of idle connections only, and an 'error' event
    // without a listener ends the process. A broken connection also fails the
    // statement in progress, or the next one, so the request reports the failure.
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken ??= error;
    };
    connection.on('error', onError);
    try {
      await connection.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      await connection.query(`SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
      const result = await work(clientOn(connection));
      await connection.query('COMMIT');
      return { result };
    } catch (error) {
      if (isQueryTimeout(error)) {
        // The statement that timed out still occupies the connection, so a ROLLBACK
        // would wait behind it. Closing the connection rolls the transaction back.
        broken ??= error;
      } else if (broken === undefined) {
        try {
          await connection.query('ROLLBACK');
        } catch (rollbackError) {
          broken =
            rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        }
      }
      // After a connection failed between two statements, the next one fails with
      // node-postgres' "not queryable" error, which hides the cause.
      const notQueryable = error instanceof Error && error.message.includes('not queryable');
      return { error: notQueryable && broken !== undefined ? broken : error };
    } finally {
      connection.off('error', onError);
      // A connection released with an error is closed instead of going back to the pool.
      connection.release(broken);
    }
  }

  /**
   * Brings the schema to the latest version on a connection of its own. That
   * connection has none of the pool's time limits: a migration may rewrite a large
   * table, and a process that starts while another migrates waits for the migration lock.
   */
  static async #migrate(url: string): Promise<void> {
    const connection = new pg.Client(connectionConfig(url));
    // A failure of the connection also fails the statement in progress or the next one.
    connection.on('error', () => undefined);
    await connection.connect();
    try {
      await connection.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
      try {
        await connection.query(
          'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY)',
        );
        const { rows } = await connection.query<{ version: number | null }>(
          'SELECT max(version) AS version FROM schema_migrations',
        );
        const version = rows[0]?.version ?? 0;
        if (version > POSTGRES_MIGRATIONS.length) {
          throw new DatabaseVersionError(version, POSTGRES_MIGRATIONS.length);
        }

        for (let next = version; next < POSTGRES_MIGRATIONS.length; next += 1) {
          await connection.query('BEGIN');
          try {
            await connection.query(POSTGRES_MIGRATIONS[next] as string);
            await connection.query('INSERT INTO schema_migrations (version) VALUES ($1)', [
              next + 1,
            ]);
            await connection.query('COMMIT');
          } catch (error) {
            await connection.query('ROLLBACK');
            throw error;
          }
        }
      } finally {
        await connection.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`);
      }
    } finally {
      await connection.end();
    }
  }
}

/** Options of the pool and of the migration connection: the URL, the connect timeout, the types. */
function connectionConfig(url: string): pg.ClientConfig {
  return {
    connectionString: url,
    connectionTimeoutMillis: DATABASE_CONNECT_TIMEOUT_MS,
    // Milliseconds and positions are bigint; they stay far below 2^53, so they
    // read back as numbers, the same as from SQLite.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID && format !== 'binary'
          ? Number
          : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
    },
  };
}

function isQueryTimeout(error: unknown): error is Error {
  return error instanceof Error && error.message === QUERY_TIMEOUT_MESSAGE;
}

type Queryable = pg.Pool | pg.PoolClient;

async function queryRows<Row>(target: Queryable, sql: string, params?: SqlParams): Promise<Row[]> {
  const { text, values } = toPostgresQuery(sql, params);
  const result = await target.query(text, values);
  return result.rows as Row[];
}

function clientOn(connection: pg.PoolClient): SqlClient {
  return {
    all: <Row>(sql: string, params?: SqlParams) => queryRows<Row>(connection, sql, params),
    get: async <Row>(sql: string, params?: SqlParams) =>
      (await queryRows<Row>(connection, sql, params))[0],
    run: async (sql: string, params?: SqlParams) => {
      await queryRows(connection, sql, params);
    },
  };
}

function sqlStateOf(error: unknown): string | undefined {
  if (error instanceof pg.DatabaseError) {
    return error.code;
  }
  return undefined;
}
