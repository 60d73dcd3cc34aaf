import { PostgresSqlDatabase } from './postgres-database.js';
import type { SqlDatabase } from './sql-client.js';
import { SqliteSqlDatabase } from './sqlite-database.js';

/**
 * Opens the database a server or `createOrganization` uses: PostgreSQL when
 * `databaseUrl` is given, otherwise `provisions.sqlite` in `dataDir`. Either way
 * the schema is brought to the latest version first.
 *
 * @param options.databaseUrl - A URL already checked by `checkDatabaseUrl`.
 * @throws DatabaseVersionError when the database has a newer schema than this server supports.
 * @throws DatabaseConnectionError when PostgreSQL cannot be reached or migrated.
 */
export async function connectDatabase(options: {
  dataDir: string;
  databaseUrl?: string | undefined;
}): Promise<SqlDatabase> {
  if (options.databaseUrl === undefined) {
    return SqliteSqlDatabase.open(options.dataDir);
  }
  return PostgresSqlDatabase.connect(options.databaseUrl);
}
