import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { inject } from 'vitest';
import { toPostgresQuery } from '../../src/database/postgres-placeholders.js';
import type { SqlValue } from '../../src/database/sql-client.js';
import { DATABASE_FILE_NAME } from '../../src/index.js';

/** The backend the current test project runs against. */
export type TestBackend = 'sqlite' | 'postgres';

/** Tables whose rows tests count. */
export type CountedTable = 'boxes' | 'provisions' | 'crypto_actions' | 'box_events';

/**
 * `postgres` in the test project whose global setup started a PostgreSQL cluster,
 * `sqlite` otherwise.
 */
export function testBackend(): TestBackend {
  return inject('postgresAdminUrl') === undefined ? 'sqlite' : 'postgres';
}

/**
 * Creates the database of one test server and returns its URL: a new empty schema
 * of the test cluster on PostgreSQL, or undefined on SQLite, where the server uses
 * the file in its data directory. The
 * schema is chosen through the URL's `options` parameter (`search_path`), so each
 * server starts on an empty database without the cost of `CREATE DATABASE`.
 */
export async function newTestDatabaseUrl(): Promise<string | undefined> {
  const adminUrl = inject('postgresAdminUrl');
  if (adminUrl === undefined) {
    return undefined;
  }

  const schema = `test_${randomBytes(8).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** Counts the rows of a table in the database a test server uses. */
export async function countRows(
  where: { dataDir: string; databaseUrl: string | undefined },
  table: CountedTable,
): Promise<number> {
  const rows = await queryRows<{ count: number | string }>(
    where,
    `SELECT count(*) AS count FROM ${table}`,
  );
  return Number(rows[0]?.count);
}

/** Runs a read-only query on the database a test server uses, outside the server. */
export function queryRows<Row>(
  where: { dataDir: string; databaseUrl: string | undefined },
  sql: string,
): Promise<Row[]> {
  return runSql<Row>(where, sql, [], { readonly: true });
}

/**
 * Runs a statement that changes the database a test server uses, outside the server.
 * Parameters are `?` placeholders, as in the server's own SQL.
 */
export async function executeSql(
  where: { dataDir: string; databaseUrl: string | undefined },
  sql: string,
  params: SqlValue[] = [],
): Promise<void> {
  await runSql(where, sql, params, { readonly: false });
}

async function runSql<Row>(
  where: { dataDir: string; databaseUrl: string | undefined },
  sql: string,
  params: SqlValue[],
  { readonly }: { readonly: boolean },
): Promise<Row[]> {
  if (where.databaseUrl === undefined) {
    const db = new Database(join(where.dataDir, DATABASE_FILE_NAME), { readonly });
    try {
      const statement = db.prepare(sql);
      if (!statement.reader) {
        statement.run(params);
        return [];
      }
      return statement.all(params) as Row[];
    } finally {
      db.close();
    }
  }

  const client = new pg.Client({ connectionString: where.databaseUrl });
  await client.connect();
  try {
    // Only statements with parameters are rewritten: the rewrite would take the
    // `@domain` of an address quoted in a literal for a named placeholder.
    const { text, values } =
      params.length === 0 ? { text: sql, values: [] } : toPostgresQuery(sql, params);
    return (await client.query(text, values)).rows as Row[];
  } finally {
    await client.end();
  }
}
