import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, realpath, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../src/database/migrations.js';
import { MAX_DATABASE_PATH_BYTES, openDatabase } from '../src/database/open-database.js';
import {
  createOrganization,
  DATABASE_FILE_NAME,
  DatabaseVersionError,
  InvalidOptionError,
  startServer,
} from '../src/index.js';
import { requestOrganizationToken } from './support/organization-token.js';

let dataDir: string;

beforeEach(async () => {
  dataDir = join(await mkdtemp(join(tmpdir(), 'provisions-db-test-')), 'nested', 'data');
});

afterEach(async () => {
  await rm(join(dataDir, '..', '..'), { recursive: true, force: true });
});

function openFile(): Database.Database {
  return new Database(join(dataDir, DATABASE_FILE_NAME));
}

describe('database file', () => {
  it('is created with its directory, in WAL mode, at the latest schema version', async () => {
    const server = await startServer({ dataDir });
    await server.close();

    const db = openFile();
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .pluck()
        .all();
      expect(tables).toEqual(expect.arrayContaining(['boxes', 'provisions', 'crypto_actions']));
    } finally {
      db.close();
    }
  });

  it('is readable by its owner only', async () => {
    const server = await startServer({ dataDir });
    await server.close();

    const mode = (await stat(join(dataDir, DATABASE_FILE_NAME))).mode & 0o777;
    expect(mode).toBe(0o600);
  });

  it('finds expired idempotency keys by index', async () => {
    const server = await startServer({ dataDir });
    await server.close();

    const db = openFile();
    try {
      const plan = db
        .prepare('EXPLAIN QUERY PLAN DELETE FROM idempotency_keys WHERE expires_at <= ?')
        .all(0) as { detail: string }[];
      const details = plan.map((step) => step.detail).join('\n');
      expect(details).toContain('idempotency_keys_by_expiry');
      expect(details).not.toMatch(/^SCAN idempotency_keys$/m);
    } finally {
      db.close();
    }
  });

  it('is refused when a newer server wrote it', async () => {
    await createOrganization({ dataDir, name: 'Before' });
    const db = openFile();
    db.pragma('user_version = 99');
    db.close();

    await expect(startServer({ dataDir })).rejects.toBeInstanceOf(DatabaseVersionError);
  });

  it('keeps data across restarts', async () => {
    const credentials = await createOrganization({ dataDir, name: 'Kept' });
    const first = await startServer({ dataDir });
    await first.close();
    const second = await startServer({ dataDir });

    const response = await requestOrganizationToken(second.url, credentials);
    await second.close();

    expect(response.status).toBe(200);
  });
});

describe('database path length', () => {
  it('opens a path at the limit', async () => {
    const root = await realpath(join(dataDir, '..', '..'));
    const db = openDatabase(dataDirWithPathBytes(root, MAX_DATABASE_PATH_BYTES));
    const journalMode = db.pragma('journal_mode', { simple: true });
    db.close();

    expect(journalMode).toBe('wal');
  });

  it('rejects a longer path before creating it', async () => {
    const root = await realpath(join(dataDir, '..', '..'));
    const longDir = dataDirWithPathBytes(root, MAX_DATABASE_PATH_BYTES + 1);
    const file = join(longDir, DATABASE_FILE_NAME);

    expect(() => openDatabase(longDir)).toThrow(
      `database file ${file} cannot be opened: its absolute path is ${MAX_DATABASE_PATH_BYTES + 1} bytes long, and SQLite accepts at most ${MAX_DATABASE_PATH_BYTES}; choose a data directory with a shorter path`,
    );
    await expect(stat(join(root, 'long'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('counts the path behind a symbolic link', async () => {
    const root = await realpath(join(dataDir, '..', '..'));
    const target = dataDirWithPathBytes(root, MAX_DATABASE_PATH_BYTES + 1);
    await mkdir(target, { recursive: true });
    const link = join(root, 'link');
    await symlink(target, link);

    expect(() => openDatabase(link)).toThrow(
      `database file ${join(link, DATABASE_FILE_NAME)} cannot be opened: its absolute path is ${MAX_DATABASE_PATH_BYTES + 1} bytes long`,
    );
  });
});

/**
 * Returns a directory below `root`, named `long/…`, whose database file path is `bytes`
 * long. Its parts are at most 200 bytes, below the usual 255-byte limit of a file name.
 */
function dataDirWithPathBytes(root: string, bytes: number): string {
  const remaining = bytes - Buffer.byteLength(join(root, 'long', DATABASE_FILE_NAME));
  const parts = Math.ceil(remaining / 200);
  // Each part adds its characters and a separator.
  const characters = remaining - parts;
  const size = Math.floor(characters / parts);
  const first = 'x'.repeat(size + (characters - size * parts));
  return join(root, 'long', first, ...Array.from({ length: parts - 1 }, () => 'x'.repeat(size)));
}

describe('createOrganization', () => {
  it('writes to the database of a running server', async () => {
    const server = await startServer({ dataDir });
    try {
      const credentials = await createOrganization({ dataDir, name: '  Running Org  ' });
      const response = await requestOrganizationToken(server.url, credentials);

      expect(credentials.name).toBe('Running Org');
      expect(credentials.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(response.status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('stores only a hash of the client secret', async () => {
    const credentials = await createOrganization({ dataDir, name: 'Hashed' });

    const db = openFile();
    const row = db.prepare('SELECT * FROM organizations WHERE id = ?').get(credentials.id);
    db.close();

    expect(JSON.stringify(row)).not.toContain(credentials.client_secret);
  });

  it('stores access tokens as their SHA-256', async () => {
    const credentials = await createOrganization({ dataDir, name: 'Token hash' });
    const server = await startServer({ dataDir });
    try {
      const response = await requestOrganizationToken(server.url, credentials);
      const { access_token: token } = (await response.json()) as { access_token: string };

      // Tokens issued before an upgrade must still match, so the hash must not change.
      const db = openFile();
      const rows = db.prepare('SELECT token_hash FROM access_tokens').all();
      db.close();
      expect(rows).toEqual([{ token_hash: createHash('sha256').update(token).digest() }]);
    } finally {
      await server.close();
    }
  });

  it('rejects an empty name', async () => {
    await expect(createOrganization({ dataDir, name: '   ' })).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
  });
});

describe('startServer options', () => {
  it('rejects a port out of range', async () => {
    await expect(startServer({ dataDir, port: 70000 })).rejects.toThrow(/port must be an integer/);
  });

  it.each([0, 1.5, -3])('rejects maxConnections %s', async (maxConnections) => {
    await expect(startServer({ dataDir, maxConnections })).rejects.toThrow(
      `maxConnections must be a positive integer, received ${maxConnections}`,
    );
  });

  it('rejects an app URL that is not http', async () => {
    await expect(startServer({ dataDir, appUrl: 'ftp://app' })).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
  });

  it('listens on 127.0.0.1 by default and closes idempotently', async () => {
    const server = await startServer({ dataDir });

    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await Promise.all([server.close(), server.close()]);
    await expect(fetch(`${server.url}/identities/me`)).rejects.toThrow();
  });
});
