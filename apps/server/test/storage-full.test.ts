import { Writable } from 'node:stream';
import type { Problem } from '@provisions/api';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, isStorageFull } from '../src/errors/database-unavailable.js';
import { installErrorHandlers } from '../src/errors/error-handler.js';

/**
 * Returns the error that SQLite raises when a write finds no more room. A database that
 * may not grow past its current size (`max_page_count`) fails like a full disk, with the
 * same `SQLITE_FULL` code, so the test needs no small file system.
 */
function sqliteFullError(): Error {
  const db = new Database(':memory:');
  try {
    db.exec('CREATE TABLE filler (value BLOB NOT NULL)');
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true })}`);
    db.prepare('INSERT INTO filler (value) VALUES (?)').run(Buffer.alloc(64 * 1024));
  } catch (error) {
    return error as Error;
  } finally {
    db.close();
  }
  throw new Error('expected the insert to fail with SQLITE_FULL');
}

describe('isStorageFull', () => {
  it('finds a SQLite full-disk error', () => {
    const error = sqliteFullError();

    expect((error as { code?: string }).code).toBe('SQLITE_FULL');
    expect(isStorageFull(error)).toBe(true);
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('finds a PostgreSQL disk_full error as a cause', () => {
    const diskFull = Object.assign(new Error('could not extend file'), { code: '53100' });

    expect(isStorageFull(new Error('insert failed', { cause: diskFull }))).toBe(true);
  });

  it('passes other database errors', () => {
    const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    const unique = Object.assign(new Error('duplicate key'), { code: '23505' });

    expect(isStorageFull(busy)).toBe(false);
    expect(isStorageFull(unique)).toBe(false);
  });
});

describe('a request that finds the database disk full', () => {
  it('gets a 503 that says so, logged once', async () => {
    const logLines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
          logLines.push(JSON.parse(line) as Record<string, unknown>);
        }
        done();
      },
    });
    const app = Fastify({ logger: { level: 'info', stream } });
    installErrorHandlers(app, () => ({}));
    app.post('/write', async () => {
      throw sqliteFullError();
    });

    try {
      const response = await app.inject({ method: 'POST', url: '/write' });
      const problem = response.json<Problem>();

      expect(response.statusCode).toBe(503);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.headers['retry-after']).toBe('60');
      expect(problem).toMatchObject({
        type: 'urn:provisions:problem:service-unavailable',
        status: 503,
        detail: "the server's storage is full, so nothing was saved; retry in 60 seconds",
      });
      const errorLines = logLines.filter((line) => line.err !== undefined);
      expect(errorLines).toHaveLength(1);
      expect(errorLines[0]?.msg).toBe('request failed because the database disk is full');
    } finally {
      await app.close();
    }
  });
});
