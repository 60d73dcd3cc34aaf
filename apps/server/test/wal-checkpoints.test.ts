import { mkdtemp, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DATABASE_FILE_NAME, openDatabase } from '../src/database/open-database.js';
import { SqliteSqlDatabase } from '../src/database/sqlite-database.js';
import {
  WAL_AUTOCHECKPOINT_DEFAULT_PAGES,
  WAL_AUTOCHECKPOINT_FALLBACK_PAGES,
} from '../src/database/wal-checkpointer.js';

/** Rows of 4,000 random bytes: each fills most of a 4 KiB page. */
const ROW_BYTES = 4000;
const ROW_COUNT = 50;

let dataDir: string;
let databasePath: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'provisions-wal-test-'));
  databasePath = join(dataDir, DATABASE_FILE_NAME);
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function writeRows(database: SqliteSqlDatabase, count: number): Promise<void> {
  await database.run('CREATE TABLE IF NOT EXISTS filler (value BLOB NOT NULL)');
  for (let index = 0; index < count; index += 1) {
    await database.transaction((client) =>
      client.run('INSERT INTO filler (value) VALUES (randomblob(?))', [ROW_BYTES]),
    );
  }
}

async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

describe('WAL checkpoints', () => {
  it('copy pages on the thread', async () => {
    const database = SqliteSqlDatabase.open(dataDir, { checkpointIntervalMs: 10 });
    try {
      const sizeBefore = await fileSize(databasePath);
      await writeRows(database, ROW_COUNT);

      // The serving connection alone would not checkpoint below its fallback size.
      expect(ROW_COUNT).toBeLessThan(WAL_AUTOCHECKPOINT_FALLBACK_PAGES);
      await vi.waitFor(
        async () => {
          expect(await fileSize(databasePath)).toBeGreaterThan(sizeBefore + ROW_COUNT * ROW_BYTES);
        },
        { timeout: 5000, interval: 20 },
      );
    } finally {
      await database.close();
    }
  });

  it('let the next write restart the WAL', async () => {
    const database = SqliteSqlDatabase.open(dataDir, { checkpointIntervalMs: 10 });
    const reader = new Database(databasePath, { readonly: true });
    try {
      await writeRows(database, ROW_COUNT);
      let written = ROW_COUNT;

      // Until the checkpoints have copied every frame, a write appends to the WAL. After
      // that, a write restarts it from its start, so the file does not grow. Without
      // checkpoints the WAL would grow on every write and this would time out.
      await vi.waitFor(
        async () => {
          const walSize = await fileSize(`${databasePath}-wal`);
          await writeRows(database, 1);
          written += 1;
          expect(await fileSize(`${databasePath}-wal`)).toBe(walSize);
        },
        { timeout: 5000, interval: 50 },
      );

      expect(reader.prepare('SELECT count(*) FROM filler').pluck().get()).toBe(written);
    } finally {
      reader.close();
      await database.close();
    }
  });

  it('run a last checkpoint on close', async () => {
    const database = SqliteSqlDatabase.open(dataDir, { checkpointIntervalMs: 3_600_000 });
    // This connection keeps the file open, so the server's close is not the last one,
    // which SQLite would end with a checkpoint of its own.
    const holder = new Database(databasePath, { readonly: true });
    try {
      const sizeBefore = await fileSize(databasePath);
      await writeRows(database, ROW_COUNT);
      expect(await fileSize(databasePath)).toBe(sizeBefore);

      await database.close();

      expect(await fileSize(databasePath)).toBeGreaterThan(sizeBefore + ROW_COUNT * ROW_BYTES);
    } finally {
      holder.close();
    }
  });

  it('fall back when the thread fails', async () => {
    const db = openDatabase(dataDir);
    // The thread opens the file by its path, which no longer exists.
    await unlink(databasePath);
    const errors: Error[] = [];
    const database = new SqliteSqlDatabase(db);
    database.onCheckpointError = (error) => errors.push(error);
    try {
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(
        WAL_AUTOCHECKPOINT_FALLBACK_PAGES,
      );

      await vi.waitFor(() => expect(errors).toHaveLength(1), { timeout: 5000, interval: 20 });

      expect(errors[0]?.message).toMatch(
        /^WAL checkpoint thread failed to start: .*(unable to open|does not exist)/i,
      );
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(
        WAL_AUTOCHECKPOINT_DEFAULT_PAGES,
      );
      await writeRows(database, 1);
    } finally {
      await database.close();
    }
  });
});
