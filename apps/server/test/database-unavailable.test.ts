import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Problem } from '@provisions/api';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createOrganization,
  DATABASE_FILE_NAME,
  type RunningServer,
  startServer,
} from '../src/index.js';
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
