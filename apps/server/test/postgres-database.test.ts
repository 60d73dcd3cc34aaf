import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../src/database/migrations.js';
import { PostgresSqlDatabase } from '../src/database/postgres-database.js';
import { POSTGRES_MIGRATIONS } from '../src/database/postgres-migrations.js';
import {
  createOrganization,
  DatabaseConnectionError,
  DatabaseVersionError,
  InvalidOptionError,
  startServer,
} from '../src/index.js';
import { POSTGRES_MAX_TRANSACTION_ATTEMPTS } from '../src/limits.js';
import { newTestDatabaseUrl, queryRows } from './support/test-database.js';

/** The PostgreSQL backend itself: migrations, URL checks, connection errors, the CLI. */

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const run = promisify(execFile);

let dataDir: string;
let databaseUrl: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'provisions-postgres-test-'));
  const url = await newTestDatabaseUrl();
  if (url === undefined) {
    throw new Error('the postgres test project provides no cluster');
  }
  databaseUrl = url;
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function execute(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('PostgreSQL migrations', () => {
  it('apply once when two servers start at once', async () => {
    const servers = await Promise.all([
      startServer({ dataDir, databaseUrl }),
      startServer({ dataDir, databaseUrl }),
      startServer({ dataDir, databaseUrl }),
    ]);
    await Promise.all(servers.map((server) => server.close()));

    const versions = await queryRows<{ version: number }>(
      { dataDir, databaseUrl },
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    expect(versions).toEqual(
      Array.from({ length: POSTGRES_MIGRATIONS.length }, (_, index) => ({ version: index + 1 })),
    );
    const tables = await queryRows<{ table_name: string }>(
      { dataDir, databaseUrl },
      'SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()',
    );
    expect(tables.map((row) => row.table_name)).toEqual(
      expect.arrayContaining(['boxes', 'provisions', 'crypto_actions', 'idempotency_keys']),
    );
  });

  it('mirror the SQLite migrations version for version', () => {
    expect(POSTGRES_MIGRATIONS).toHaveLength(MIGRATIONS.length);
  });

  it('index idempotency keys by expiry', async () => {
    const server = await startServer({ dataDir, databaseUrl });
    await server.close();

    const indexes = await queryRows<{ indexdef: string }>(
      { dataDir, databaseUrl },
      `SELECT indexdef FROM pg_indexes
       WHERE schemaname = current_schema() AND indexname = 'idempotency_keys_by_expiry'`,
    );
    expect(indexes).toHaveLength(1);
    expect(indexes[0]?.indexdef).toContain('(expires_at)');
  });

  it('refuse a database that a newer server wrote', async () => {
    await createOrganization({ dataDir, databaseUrl, name: 'Before' });
    await execute('INSERT INTO schema_migrations (version) VALUES (99)');

    const failure = startServer({ dataDir, databaseUrl });

    await expect(failure).rejects.toBeInstanceOf(DatabaseVersionError);
    await expect(failure).rejects.toThrow(
      `version 99 is newer than this server supports (${POSTGRES_MIGRATIONS.length})`,
    );
  });

  it('keep one active provision per address in the index', async () => {
    const { id } = await createOrganization({ dataDir, databaseUrl, name: 'Index' });
    const insert = (publicKey: string, hash: string) =>
      execute(
        `INSERT INTO provisions (public_key, organization_id, email, misakey_key_share,
           user_key_share_hash, created_at)
         VALUES ('${publicKey}', '${id}', 'a@example.com', 'share', '${hash}', 'now')`,
      );

    await insert('key-1', 'hash-1');

    await expect(insert('key-2', 'hash-2')).rejects.toThrow(/provisions_one_active_per_email/);
  });
});

describe('databaseUrl option', () => {
  it('writes organizations to PostgreSQL, not to the data directory', async () => {
    const credentials = await createOrganization({ dataDir, databaseUrl, name: 'Remote' });

    const rows = await queryRows<{ id: string; name: string }>(
      { dataDir, databaseUrl },
      'SELECT id, name FROM organizations',
    );
    expect(rows).toEqual([{ id: credentials.id, name: 'Remote' }]);
    await expect(
      queryRows({ dataDir, databaseUrl: undefined }, 'SELECT 1 FROM organizations'),
    ).rejects.toThrow();
  });

  it('rejects a URL of another scheme without quoting it', async () => {
    const failure = startServer({ dataDir, databaseUrl: 'mysql://admin:hunter2@db/provisions' });

    await expect(failure).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(failure).rejects.toThrow(
      'databaseUrl must use the postgres:// or postgresql:// scheme, received mysql://',
    );
  });

  it('rejects a value that is not a URL', async () => {
    const failure = createOrganization({ dataDir, databaseUrl: 'hunter2', name: 'Bad' });

    await expect(failure).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(failure).rejects.toThrow(/^databaseUrl is not a valid URL; expected /);
  });

  it('names the server it cannot reach, without the password', async () => {
    const unreachable = new URL(databaseUrl);
    unreachable.port = '1';
    unreachable.password = 'hunter2';

    const failure = startServer({ dataDir, databaseUrl: unreachable.toString() });

    await expect(failure).rejects.toBeInstanceOf(DatabaseConnectionError);
    const error = (await failure.catch((caught: unknown) => caught)) as Error;
    expect(error.message).toMatch(
      /^failed to open the PostgreSQL database 127\.0\.0\.1:1\/postgres: /,
    );
    expect(error.message).toMatch(/; check that PostgreSQL is running there and that the URL's /);
    expect(error.message).not.toContain('hunter2');
  });
});

describe('provisions-server with --database-url', () => {
  it('creates an organization in PostgreSQL', async () => {
    const { stdout } = await run(process.execPath, [
      MAIN,
      'create-organization',
      '--data-dir',
      dataDir,
      '--database-url',
      databaseUrl,
      '--name',
      'CLI Org',
    ]);
    const credentials = JSON.parse(stdout) as { id: string };

    const rows = await queryRows<{ id: string }>(
      { dataDir, databaseUrl },
      'SELECT id FROM organizations',
    );
    expect(rows).toEqual([{ id: credentials.id }]);
  });
});

describe('PostgreSQL write transactions', () => {
  it('run again after a unique violation and see the winning row', async () => {
    const database = await PostgresSqlDatabase.connect(databaseUrl);
    const retries: string[] = [];
    database.onRetry = (retry) => retries.push(retry.sqlState);
    let attempts = 0;

    try {
      const outcome = await database.transaction(async (client) => {
        attempts += 1;
        const existing = await client.get('SELECT id FROM organizations WHERE id = ?', ['org']);
        if (existing !== undefined) {
          return 'found';
        }
        if (attempts === 1) {
          // A writer outside the lock commits the same id between check and insert.
          await execute("INSERT INTO organizations VALUES ('org', 'Outside', '\\x00', 'now')");
        }
        await client.run("INSERT INTO organizations VALUES ('org', 'Inside', '\\x00', 'now')");
        return 'inserted';
      });

      expect(outcome).toBe('found');
      expect(attempts).toBe(2);
      expect(retries).toEqual(['23505']);
    } finally {
      await database.close();
    }
  });

  it('stop after the maximum number of attempts', async () => {
    const database = await PostgresSqlDatabase.connect(databaseUrl);
    let attempts = 0;

    try {
      const failure = database.transaction(async (client) => {
        attempts += 1;
        await client.run(
          "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = 'serialization_failure'; END $$",
        );
      });

      await expect(failure).rejects.toMatchObject({ code: '40001' });
      expect(attempts).toBe(POSTGRES_MAX_TRANSACTION_ATTEMPTS);
    } finally {
      await database.close();
    }
  });

  it('run once when the work throws another error', async () => {
    const database = await PostgresSqlDatabase.connect(databaseUrl);
    let attempts = 0;

    try {
      const failure = database.transaction(async (client) => {
        attempts += 1;
        await client.run("INSERT INTO organizations VALUES ('kept-out', 'X', '\\x00', 'now')");
        throw new Error('rule broken');
      });

      await expect(failure).rejects.toThrow('rule broken');
      expect(attempts).toBe(1);
      expect(await database.get('SELECT id FROM organizations')).toBeUndefined();
    } finally {
      await database.close();
    }
  });
});
