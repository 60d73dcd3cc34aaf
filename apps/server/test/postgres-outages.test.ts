import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { BoxCreation, Problem } from '@provisions/api';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WRITE_LOCK_KEY } from '../src/database/postgres-database.js';
import { createOrganization, type RunningServer, startServer } from '../src/index.js';
import { DATABASE_BUSY_TIMEOUT_MS, DATABASE_RETRY_AFTER_SECONDS } from '../src/limits.js';
import { boxWithProvision } from './support/box-material.js';
import {
  type OrganizationCredentials,
  requestOrganizationToken,
} from './support/organization-token.js';
import { type ServerProcess, startServerProcess } from './support/server-process.js';
import { startTcpRelay, type TcpRelay } from './support/tcp-relay.js';
import { newTestDatabaseUrl, queryRows } from './support/test-database.js';

/**
 * A PostgreSQL server that drops or stalls the connections of a running server:
 * requests in flight get 201 or a 503 problem with `Retry-After`, none waits much
 * longer than the SQLite busy timeout, and the server serves again afterwards.
 */

/** Maximum time a request may take past the database limit. */
const LATE_MARGIN_MS = 3000;
/** Time after which a test stops waiting for a response, so an old hang fails fast. */
const RESPONSE_DEADLINE_MS = 30_000;

let dataDir: string;
let databaseUrl: string;
let logLines: Record<string, unknown>[];
const processes: ServerProcess[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'provisions-postgres-outages-'));
  const url = await newTestDatabaseUrl();
  if (url === undefined) {
    throw new Error('the postgres test project provides no cluster');
  }
  databaseUrl = url;
  logLines = [];
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup().catch(() => undefined);
  }
  for (const server of processes.splice(0)) {
    server.child.kill('SIGCONT');
    server.child.kill('SIGKILL');
    await server.exited;
  }
  await rm(dataDir, { recursive: true, force: true });
});

/** Returns `url` with an `application_name`, which identifies the server's sessions. */
function withApplicationName(url: string, name: string): string {
  const named = new URL(url);
  named.searchParams.set('application_name', name);
  return named.toString();
}

/** Starts a server in this process on `url`, logging into {@link logLines}. */
async function startLoggingServer(url: string): Promise<RunningServer> {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        logLines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const server = await startServer({
    dataDir,
    databaseUrl: url,
    logger: { level: 'info', stream },
  });
  cleanups.push(() => server.close());
  return server;
}

async function startProcess(url: string): Promise<ServerProcess> {
  const server = await startServerProcess({ dataDir, databaseUrl: url });
  processes.push(server);
  return server;
}

/** Opens a client on the test's database; the test closes it after the test. */
async function openClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on('error', () => undefined);
  await client.connect();
  cleanups.push(() => client.end());
  return client;
}

/** Ends every session of `applicationName` with `pg_terminate_backend`; returns how many. */
async function terminateSessions(applicationName: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
      [applicationName],
    );
    return rows.length;
  } finally {
    await client.end();
  }
}

async function tokenFor(baseUrl: string, credentials: OrganizationCredentials): Promise<string> {
  const response = await requestOrganizationToken(baseUrl, credentials);
  const body = (await response.json()) as { access_token?: string };
  if (response.status !== 200 || body.access_token === undefined) {
    throw new Error(`token request failed with ${response.status}`);
  }
  return body.access_token;
}

/** What one request got: a status and its problem, or the error of a request without response. */
interface Outcome {
  status: number;
  elapsedMs: number;
  retryAfter?: string | null;
  problem?: Problem;
  error?: unknown;
}

/** Makes a request, aborted after {@link RESPONSE_DEADLINE_MS}, and returns what it got. */
async function send(request: (signal: AbortSignal) => Promise<Response>): Promise<Outcome> {
  const started = performance.now();
  try {
    const response = await request(AbortSignal.timeout(RESPONSE_DEADLINE_MS));
    const text = await response.text();
    const problem =
      response.status >= 400 && text !== '' ? (JSON.parse(text) as Problem) : undefined;
    return {
      status: response.status,
      elapsedMs: performance.now() - started,
      retryAfter: response.headers.get('retry-after'),
      problem,
    };
  } catch (error) {
    return { status: 0, elapsedMs: performance.now() - started, error };
  }
}

function postToken(baseUrl: string, credentials: OrganizationCredentials): Promise<Outcome> {
  return send((signal) => requestOrganizationToken(baseUrl, credentials, signal));
}

function postBox(
  baseUrl: string,
  token: string,
  organizationId: string,
  body: BoxCreation,
  idempotencyKey: string = randomUUID(),
): Promise<Outcome> {
  return send((signal) =>
    fetch(`${baseUrl}/organizations/${organizationId}/boxes`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': idempotencyKey,
      },
      body: JSON.stringify(body),
      signal,
    }),
  );
}

async function newBox(email: string): Promise<BoxCreation> {
  return (await boxWithProvision(email)).body;
}

/** Checks that an outcome is the 503 problem of an unavailable database. */
function expectServiceUnavailable(outcome: Outcome): void {
  expect(outcome.error).toBeUndefined();
  expect(outcome.status).toBe(503);
  expect(outcome.retryAfter).toBe(String(DATABASE_RETRY_AFTER_SECONDS));
  expect(outcome.problem).toMatchObject({
    type: 'urn:provisions:problem:service-unavailable',
    status: 503,
    detail: `the database is unavailable; retry in ${DATABASE_RETRY_AFTER_SECONDS} seconds`,
  });
}

/** Checks that `lines` contain one error line for the request of a 503 problem. */
function expectLoggedOnce(lines: Record<string, unknown>[], outcome: Outcome): void {
  const errorLines = lines.filter(
    (line) => line.request_id === outcome.problem?.instance && line.err !== undefined,
  );
  expect(errorLines).toHaveLength(1);
  expect(errorLines[0]?.msg).toBe('request failed because the database is unavailable');
}

/** Checks that `outcome` came after about the database limit, not sooner and not much later. */
function expectAnsweredAfterLimit(outcome: Outcome): void {
  expect(outcome.elapsedMs).toBeGreaterThanOrEqual(DATABASE_BUSY_TIMEOUT_MS - 500);
  expect(outcome.elapsedMs).toBeLessThan(DATABASE_BUSY_TIMEOUT_MS + LATE_MARGIN_MS);
}

async function waitUntil(condition: () => boolean | Promise<boolean>, what: string) {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting until ${what}`);
    }
    await delay(20);
  }
}

/** Counts the boxes whose provision or invitation is missing, or that have more than one. */
async function countIncompleteBoxes(): Promise<number> {
  const rows = await queryRows<{ count: string }>(
    { dataDir, databaseUrl },
    `SELECT count(*) AS count FROM boxes b
     WHERE (SELECT count(*) FROM crypto_actions c WHERE c.box_id = b.id) <> 1
        OR (SELECT count(*) FROM provisions p
            JOIN crypto_actions c ON c.provision_public_key = p.public_key
            WHERE c.box_id = b.id) <> 1`,
  );
  return Number(rows[0]?.count);
}

describe('PostgreSQL sessions terminated during writes', () => {
  it('keep the process up', { timeout: 120_000 }, async () => {
    const applicationName = `provisions-test-${randomBytes(6).toString('hex')}`;
    const credentials = await createOrganization({ dataDir, databaseUrl, name: 'Acme' });
    const server = await startProcess(withApplicationName(databaseUrl, applicationName));
    const token = await tokenFor(server.url, credentials);

    // Four writers post boxes, each with one provision and an Idempotency-Key, until
    // the sessions were terminated and 20 more requests went through.
    const sent: { key: string; body: BoxCreation; outcome: Outcome }[] = [];
    let stop = false;
    const writers = Array.from({ length: 4 }, async (_, writer) => {
      for (let index = 0; !stop && index < 500; index += 1) {
        const key = randomUUID();
        const body = await newBox(`writer${writer}-${index}@example.com`);
        const outcome = await postBox(server.url, token, credentials.id, body, key);
        sent.push({ key, body, outcome });
      }
    });
    await waitUntil(() => sent.length >= 20, 'the first 20 boxes were posted');
    let terminated = 0;
    for (let round = 0; round < 5; round += 1) {
      terminated += await terminateSessions(applicationName);
      await delay(100);
    }
    const sentBeforeEnd = sent.length;
    await waitUntil(() => sent.length >= sentBeforeEnd + 20, '20 more boxes were posted');
    stop = true;
    await Promise.all(writers);

    expect(terminated).toBeGreaterThan(0);
    expect(server.child.exitCode).toBeNull();
    expect(server.stderr()).toBe('');
    expect(sent.filter(({ outcome }) => outcome.status !== 201 && outcome.status !== 503)).toEqual(
      [],
    );
    const failed = sent.filter(({ outcome }) => outcome.status === 503);
    expect(failed.length, 'requests in flight when the sessions ended').toBeGreaterThan(0);
    for (const { outcome } of failed) {
      expectServiceUnavailable(outcome);
      expectLoggedOnce(server.logLines(), outcome);
    }

    // Each failed request, sent again with its key, creates its box or returns the one
    // its first try committed, and a new request succeeds.
    for (const { key, body } of failed) {
      expect((await postBox(server.url, token, credentials.id, body, key)).status).toBe(201);
    }
    const after = await postBox(server.url, token, credentials.id, await newBox('after@x.org'));
    expect(after.status).toBe(201);

    const boxes = await queryRows<{ count: string }>(
      { dataDir, databaseUrl },
      'SELECT count(*) AS count FROM boxes',
    );
    expect(Number(boxes[0]?.count)).toBe(sent.length + 1);
    expect(await countIncompleteBoxes()).toBe(0);
  });
});

describe('a PostgreSQL server that stops answering', () => {
  let relay: TcpRelay;
  let credentials: OrganizationCredentials;
  let server: RunningServer;

  beforeEach(async () => {
    relay = await startTcpRelay(databaseUrl);
    cleanups.push(() => relay.cut());
    credentials = await createOrganization({ dataDir, databaseUrl, name: 'Acme' });
    server = await startLoggingServer(relay.url);
  });

  it('fails requests on open connections', { timeout: 60_000 }, async () => {
    const token = await tokenFor(server.url, credentials);

    relay.pause();
    const tokenRequest = await postToken(server.url, credentials);
    const boxRequest = await postBox(server.url, token, credentials.id, await newBox('a@x.org'));

    for (const outcome of [tokenRequest, boxRequest]) {
      expectServiceUnavailable(outcome);
      expectAnsweredAfterLimit(outcome);
      expectLoggedOnce(logLines, outcome);
    }
    relay.resume();
    expect((await postToken(server.url, credentials)).status).toBe(200);
    expect((await postBox(server.url, token, credentials.id, await newBox('b@x.org'))).status).toBe(
      201,
    );
  });

  it('fails requests on new connections', { timeout: 60_000 }, async () => {
    expect((await postToken(server.url, credentials)).status).toBe(200);

    relay.pause();
    relay.dropConnections();
    const outcome = await postToken(server.url, credentials);

    expectServiceUnavailable(outcome);
    expectAnsweredAfterLimit(outcome);
    expectLoggedOnce(logLines, outcome);
    relay.resume();
    expect((await postToken(server.url, credentials)).status).toBe(200);
  });
});

describe('the PostgreSQL write lock held by another session', () => {
  it('fails writes after the lock timeout', { timeout: 60_000 }, async () => {
    const credentials = await createOrganization({ dataDir, databaseUrl, name: 'Acme' });
    const server = await startLoggingServer(databaseUrl);
    const token = await tokenFor(server.url, credentials);
    const holder = await openClient();
    await holder.query('BEGIN');
    await holder.query(`SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);

    const outcome = await postBox(server.url, token, credentials.id, await newBox('a@x.org'));

    expectServiceUnavailable(outcome);
    expectAnsweredAfterLimit(outcome);
    expectLoggedOnce(logLines, outcome);
    await holder.query('ROLLBACK');
    expect((await postBox(server.url, token, credentials.id, await newBox('b@x.org'))).status).toBe(
      201,
    );
  });

  it('is freed when the process holding it stalls', { timeout: 120_000 }, async () => {
    const applicationName = `provisions-test-${randomBytes(6).toString('hex')}`;
    const credentials = await createOrganization({ dataDir, databaseUrl, name: 'Acme' });
    const stalled = await startProcess(withApplicationName(databaseUrl, applicationName));
    const other = await startLoggingServer(databaseUrl);
    const stalledToken = await tokenFor(stalled.url, credentials);
    const otherToken = await tokenFor(other.url, credentials);
    const observer = await openClient();
    const holdsWriteLock = async () => {
      const { rows } = await observer.query(
        `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted
           AND a.application_name = $1 AND a.state = 'idle in transaction'`,
        [applicationName],
      );
      return rows.length > 0;
    };

    // Four writers keep the process busy; it is stopped with SIGSTOP until one of its
    // sessions holds the write lock, idle in its transaction.
    const stalledOutcomes: Outcome[] = [];
    const writers = Array.from({ length: 4 }, async (_, writer) => {
      for (let index = 0; index < 40; index += 1) {
        const body = await newBox(`stalled${writer}-${index}@example.com`);
        stalledOutcomes.push(await postBox(stalled.url, stalledToken, credentials.id, body));
      }
    });
    await waitUntil(() => stalledOutcomes.length >= 5, 'the stalled process wrote 5 boxes');
    await waitUntil(async () => {
      stalled.child.kill('SIGSTOP');
      await delay(50);
      if (await holdsWriteLock()) {
        return true;
      }
      stalled.child.kill('SIGCONT');
      await delay(20);
      return false;
    }, 'a session of the stopped process held the write lock');
    const stoppedAt = performance.now();

    // The other process's writes get 503 until the stalled session is cut off.
    const otherOutcomes: Outcome[] = [];
    for (let index = 0; index < 10; index += 1) {
      const body = await newBox(`other${index}@example.com`);
      const outcome = await postBox(other.url, otherToken, credentials.id, body);
      otherOutcomes.push(outcome);
      if (outcome.status === 201) {
        break;
      }
    }
    const freedAfterMs = performance.now() - stoppedAt;

    expect(otherOutcomes.at(-1)?.status).toBe(201);
    for (const outcome of otherOutcomes.slice(0, -1)) {
      expectServiceUnavailable(outcome);
      expectAnsweredAfterLimit(outcome);
    }
    expect(freedAfterMs).toBeLessThan(3 * DATABASE_BUSY_TIMEOUT_MS);
    expect(await holdsWriteLock()).toBe(false);

    stalled.child.kill('SIGCONT');
    await Promise.all(writers);
    expect(stalled.child.exitCode).toBeNull();
    expect(stalledOutcomes.filter((outcome) => ![201, 503].includes(outcome.status))).toEqual([]);
    const body = await newBox('after@example.com');
    expect((await postBox(stalled.url, stalledToken, credentials.id, body)).status).toBe(201);
  });
});
