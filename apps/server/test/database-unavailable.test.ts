import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Problem } from '@provisions/api';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { systemClock } from '../src/clock.js';
import type { SqlDatabase } from '../src/database/sql-client.js';
import { SqliteSqlDatabase } from '../src/database/sqlite-database.js';
import { PageCursors } from '../src/http/page-cursor.js';
import {
  createOrganization,
  DATABASE_FILE_NAME,
  type RunningServer,
  startServer,
} from '../src/index.js';
import { OutboxMailer } from '../src/mail/outbox-mailer.js';
import { loadOpenApiDocument } from '../src/openapi/openapi-document.js';
import { DatabaseStore } from '../src/store/store.js';
import {
  type OrganizationCredentials,
  requestOrganizationToken,
} from './support/organization-token.js';
import { startTcpRelay } from './support/tcp-relay.js';
import { newTestDatabaseUrl, testBackend } from './support/test-database.js';

/**
 * A database that cannot serve a request makes it fail with 503 and `Retry-After`,
 * logged once. On PostgreSQL the test closes a TCP relay, so the server's connections
 * drop. On SQLite another connection holds the write lock past the busy timeout.
 */

let dataDir: string;
let server: RunningServer | undefined;
let logLines: Record<string, unknown>[];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'provisions-unavailable-'));
  logLines = [];
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(dataDir, { recursive: true, force: true });
});

function logStream(): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        logLines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
}

async function requestToken(credentials: OrganizationCredentials) {
  return requestOrganizationToken(server?.url ?? '', credentials);
}

/** Builds the app on a given database and mailer, logging to the test's lines. */
async function buildAppOn(database: SqlDatabase, mailer: OutboxMailer) {
  return buildApp({
    document: await loadOpenApiDocument(),
    context: {
      store: new DatabaseStore(database),
      clock: systemClock,
      mailer,
      cursors: new PageCursors(new Uint8Array(32)),
      appUrl: undefined,
      signInRequestsPerMinute: 30,
    },
    logger: { level: 'info', stream: logStream() },
  });
}

async function expectServiceUnavailable(response: Response): Promise<void> {
  const problem = (await response.json()) as Problem;

  expect(response.status).toBe(503);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.headers.get('retry-after')).toBe('5');
  expect(problem).toMatchObject({
    type: 'urn:provisions:problem:service-unavailable',
    title: 'Service unavailable',
    status: 503,
    detail: 'the database is unavailable; retry in 5 seconds',
  });

  const errorLines = logLines.filter(
    (line) => line.request_id === problem.instance && line.err !== undefined,
  );
  expect(errorLines).toHaveLength(1);
  expect(errorLines[0]?.msg).toBe('request failed because the database is unavailable');
}

describe.runIf(testBackend() === 'postgres')('a PostgreSQL server that is unreachable', () => {
  it('requests fail with 503', async () => {
    const databaseUrl = (await newTestDatabaseUrl()) as string;
    const relay = await startTcpRelay(databaseUrl);
    const credentials = await createOrganization({ dataDir, databaseUrl, name: 'Acme' });
    server = await startServer({
      dataDir,
      databaseUrl: relay.url,
      logger: { level: 'info', stream: logStream() },
    });
    expect((await requestToken(credentials)).status).toBe(200);

    await relay.cut();

    await expectServiceUnavailable(await requestToken(credentials));
  });

  it('fails the health check with 503', async () => {
    const databaseUrl = (await newTestDatabaseUrl()) as string;
    const relay = await startTcpRelay(databaseUrl);
    server = await startServer({
      dataDir,
      databaseUrl: relay.url,
      logger: { level: 'info', stream: logStream() },
    });
    expect((await fetch(`${server.url}/health`)).status).toBe(200);

    await relay.cut();

    await expectServiceUnavailable(await fetch(`${server.url}/health`));
  });
});

describe.runIf(testBackend() === 'sqlite')('a SQLite file locked by another writer', () => {
  it('writes fail with 503 after the busy timeout', async () => {
    const credentials = await createOrganization({ dataDir, name: 'Acme' });
    server = await startServer({ dataDir, logger: { level: 'info', stream: logStream() } });
    const other = new Database(join(dataDir, DATABASE_FILE_NAME));
    try {
      other.exec('BEGIN IMMEDIATE');

      await expectServiceUnavailable(await requestToken(credentials));
    } finally {
      other.close();
    }
  }, 30_000);
});

/** Returns the error that SQLite gives a connection for a lock that another one holds. */
function sqliteBusyError(): Error {
  const path = join(dataDir, 'locked.sqlite');
  const holder = new Database(path);
  const waiter = new Database(path, { timeout: 0 });
  try {
    holder.exec('BEGIN IMMEDIATE');
    waiter.exec('BEGIN IMMEDIATE');
  } catch (error) {
    return error as Error;
  } finally {
    waiter.close();
    holder.close();
  }
  throw new Error('expected the second BEGIN IMMEDIATE to fail with SQLITE_BUSY');
}

describe.runIf(testBackend() === 'sqlite')('the health check on SQLite', () => {
  it('answers 200 while another writer holds the lock', async () => {
    server = await startServer({ dataDir, logger: { level: 'info', stream: logStream() } });
    const other = new Database(join(dataDir, DATABASE_FILE_NAME));
    try {
      other.exec('BEGIN IMMEDIATE');

      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    } finally {
      other.close();
    }
  });

  it('fails with 503 when its read finds the database locked', async () => {
    // In WAL mode a read waits for no other connection, so no lock that the test can take
    // makes the check's read fail. The database here rejects every query with the error
    // that SQLite gives a locked connection.
    const busy = sqliteBusyError();
    const lockedQuery = () => Promise.reject(busy);
    const database: SqlDatabase = {
      backend: 'sqlite',
      all: lockedQuery,
      get: lockedQuery,
      run: lockedQuery,
      transaction: lockedQuery,
      close: async () => undefined,
    };
    const app = await buildAppOn(database, new OutboxMailer(dataDir));
    try {
      const url = await app.listen({ host: '127.0.0.1', port: 0 });

      expect((busy as { code?: string }).code).toBe('SQLITE_BUSY');
      await expectServiceUnavailable(await fetch(`${url}/health`));
    } finally {
      await app.close();
    }
  });
});

describe.runIf(testBackend() === 'sqlite')('a mailer failing with a network error', () => {
  it('is a mail failure, not a database outage', async () => {
    // A mailer that sends over the network fails with the socket codes that also mean an
    // unreachable database; the mail failure must win.
    class ConnectionRefusedMailer extends OutboxMailer {
      override send(): Promise<void> {
        const refused = new Error('connect ECONNREFUSED 127.0.0.1:25');
        return Promise.reject(Object.assign(refused, { code: 'ECONNREFUSED' }));
      }
    }
    const database = SqliteSqlDatabase.open(dataDir);
    const app = await buildAppOn(database, new ConnectionRefusedMailer(dataDir));
    try {
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      const response = await fetch(`${url}/auth/email-codes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'refused@example.org' }),
      });
      const problem = (await response.json()) as Problem;

      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('30');
      expect(problem.detail).toBe(
        'the sign-in email could not be sent, so no code was issued; retry in 30 seconds',
      );
      const messages = logLines
        .filter((line) => line.request_id === problem.instance)
        .map((line) => line.msg);
      expect(messages).toContain('request failed because the sign-in email could not be sent');
    } finally {
      await app.close();
      await database.close();
    }
  });
});
