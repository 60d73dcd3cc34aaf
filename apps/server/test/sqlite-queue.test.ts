import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DATABASE_FILE_NAME } from '../src/database/open-database.js';
import { SqliteSqlDatabase } from '../src/database/sqlite-database.js';

let dataDir: string;
let database: SqliteSqlDatabase;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'provisions-sqlite-queue-test-'));
  database = SqliteSqlDatabase.open(dataDir);
  await database.run('CREATE TABLE items (value TEXT NOT NULL)');
});

afterEach(async () => {
  await database.close();
  await rm(dataDir, { recursive: true, force: true });
});

function countItems(): Promise<{ count: number } | undefined> {
  return database.get<{ count: number }>('SELECT count(*) AS count FROM items');
}

describe('SQLite connection queue', () => {
  it('runs a read after an open transaction', async () => {
    let finishWork: () => void = () => undefined;
    const workWaits = new Promise<void>((resolve) => {
      finishWork = resolve;
    });
    const transaction = database.transaction(async (client) => {
      await client.run('INSERT INTO items (value) VALUES (?)', ['uncommitted']);
      await workWaits;
    });
    await delay(10);

    let readSettled = false;
    const read = countItems().finally(() => {
      readSettled = true;
    });
    try {
      await delay(50);
      expect(readSettled).toBe(false);
    } finally {
      finishWork();
      await transaction;
    }
    expect(await read).toEqual({ count: 1 });
  });

  it('runs a read at once on an idle connection', async () => {
    await database.run('INSERT INTO items (value) VALUES (?)', ['first']);

    expect(await countItems()).toEqual({ count: 1 });
    expect(await database.all('SELECT value FROM items')).toEqual([{ value: 'first' }]);
  });

  it('rejects, never throws, a statement that fails', async () => {
    const missingTable = database.get('SELECT value FROM missing');
    await expect(missingTable).rejects.toThrow(/no such table: missing/);

    const badInsert = database.run('INSERT INTO items (value) VALUES (NULL)');
    await expect(badInsert).rejects.toThrow(/NOT NULL constraint failed/);
  });

  it('retries a write while another connection holds the lock', async () => {
    const other = new Database(join(dataDir, DATABASE_FILE_NAME));
    try {
      other.exec('BEGIN IMMEDIATE');
      const write = database.run('INSERT INTO items (value) VALUES (?)', ['waited']);
      await delay(200);
      other.exec('COMMIT');

      await write;
      expect(await countItems()).toEqual({ count: 1 });
    } finally {
      other.close();
    }
  });
});
