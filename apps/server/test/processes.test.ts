import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  type ApiClient,
  type BoxCreation,
  createApiClient,
  type Problem,
  requestOrganizationToken,
} from '@provisions/api';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOrganization, DATABASE_FILE_NAME, OUTBOX_FILE_NAME } from '../src/index.js';
import { newBoxKeys, newProvision, sealInvitation } from './support/box-material.js';
import { countRows, newTestDatabaseUrl, queryRows, testBackend } from './support/test-database.js';

/**
 * Runs the built `provisions-server` as separate processes on one database (the
 * SQLite file of one data directory, or one PostgreSQL schema in the `postgres`
 * project): two at once, one killed with SIGKILL, one stopped with SIGTERM.
 */

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const OPEN_DATABASE = new URL('../dist/database/open-database.js', import.meta.url).href;

/** A server process and the URL it listens on. */
interface ServerProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

let dataDir: string;
let databaseUrl: string | undefined;
const running: ServerProcess[] = [];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'provisions-processes-'));
  databaseUrl = await newTestDatabaseUrl();
});

afterEach(async () => {
  for (const server of running.splice(0)) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
  await rm(dataDir, { recursive: true, force: true });
});

/**
 * Starts `provisions-server start` on a free port and waits for its listening line.
 * On PostgreSQL the URL goes in `--database-url`, or in `DATABASE_URL` when
 * `urlFrom` is `env`.
 */
async function startProcess(urlFrom: 'flag' | 'env' = 'flag'): Promise<ServerProcess> {
  const args = [MAIN, 'start', '--data-dir', dataDir, '--port', '0', '--log-level', 'info'];
  const env = { ...process.env };
  delete env.DATABASE_URL;
  if (databaseUrl !== undefined && urlFrom === 'flag') {
    args.push('--database-url', databaseUrl);
  } else if (databaseUrl !== undefined) {
    env.DATABASE_URL = databaseUrl;
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1] !== undefined) {
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening`)));
  });

  const server = { child, url, exited };
  running.push(server);
  return server;
}

/** Creates an organization in the data directory and a client with its token. */
async function organizationClient(url: string, credentials?: OrganizationCredentials) {
  const organization =
    credentials ?? (await createOrganization({ dataDir, databaseUrl, name: 'Processes' }));
  const anonymous = createApiClient({ baseUrl: url });
  const token = await requestOrganizationToken(anonymous, {
    clientId: organization.id,
    clientSecret: organization.client_secret,
  });
  return { organization, client: createApiClient({ baseUrl: url, token: token.access_token }) };
}

type OrganizationCredentials = Awaited<ReturnType<typeof createOrganization>>;

/** Posts one box; returns the status and the box id on success. */
async function createBox(
  client: ApiClient,
  organizationId: string,
  idempotencyKey?: string,
): Promise<{ status: number; id?: string }> {
  const { publicKey } = await newBoxKeys();
  const { data, response } = await client.POST('/organizations/{oid}/boxes', {
    params: {
      path: { oid: organizationId },
      header: idempotencyKey === undefined ? {} : { 'Idempotency-Key': idempotencyKey },
    },
    body: { title: 'Process box', public_key: publicKey },
  });
  return { status: response.status, id: data?.id };
}

function countBoxes(): Promise<number> {
  return countRows({ dataDir, databaseUrl }, 'boxes');
}

/** Requests a sign-in code through a server and reads it from the shared outbox. */
async function requestSignInCode(url: string, email: string): Promise<string> {
  const response = await fetch(`${url}/auth/email-codes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email }),
  });
  if (response.status !== 202) {
    throw new Error(`email code request failed with ${response.status}`);
  }
  const lines = (await readFile(join(dataDir, OUTBOX_FILE_NAME), 'utf8')).trim().split('\n');
  const message = JSON.parse(lines.at(-1) as string) as { to: string; code: string };
  if (message.to !== email) {
    throw new Error(`the last outbox message is for another address`);
  }
  return message.code;
}

/** Posts a sign-in code and returns the status. */
async function createSession(url: string, email: string, code: string): Promise<number> {
  const response = await fetch(`${url}/auth/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, code }),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Builds a box creation body with one new provision per address, each invited. */
async function boxWithProvisions(emails: string[]): Promise<BoxCreation> {
  const box = await newBoxKeys();
  const provisions: Record<string, Awaited<ReturnType<typeof newProvision>>['payload']> = {};
  const invitations: Record<string, string> = {};
  for (const email of emails) {
    const { payload } = await newProvision();
    provisions[email] = payload;
    invitations[payload.public_key] = await sealInvitation(box, payload.public_key);
  }
  return {
    title: 'Raced box',
    public_key: box.publicKey,
    crypto: { provisions, invitation_data: invitations },
  };
}

/** Runs `count` tasks with at most `concurrency` at a time. */
async function runBounded<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
) {
  const results: T[] = [];
  let next = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  });
  await Promise.all(workers);
  return results;
}

describe(`server processes on ${testBackend()}`, () => {
  it('two processes share one database', { timeout: 120_000 }, async () => {
    const [first, second] = await Promise.all([startProcess(), startProcess('env')]);
    const a = await organizationClient(first.url);
    const b = await organizationClient(second.url, a.organization);

    const results = await runBounded(200, 16, (index) =>
      createBox(index % 2 === 0 ? a.client : b.client, a.organization.id),
    );

    const statuses = new Set(results.map((result) => result.status));
    expect([...statuses]).toEqual([201]);
    const ids = new Set(results.map((result) => result.id));
    expect(ids.size).toBe(200);
    expect(await countBoxes()).toBe(200);
  });

  it('one idempotency key makes one box across processes', { timeout: 120_000 }, async () => {
    const [first, second] = await Promise.all([startProcess(), startProcess()]);
    const a = await organizationClient(first.url);
    const b = await organizationClient(second.url, a.organization);
    const { publicKey } = await newBoxKeys();
    const key = randomUUID();

    const send = (client: ApiClient) =>
      client.POST('/organizations/{oid}/boxes', {
        params: { path: { oid: a.organization.id }, header: { 'Idempotency-Key': key } },
        body: { title: 'Once', public_key: publicKey },
      });
    const responses = await Promise.all([send(a.client), send(b.client), send(a.client)]);

    const ids = new Set(responses.map((response) => response.data?.id));
    expect(responses.map((response) => response.response.status)).toEqual([201, 201, 201]);
    expect(ids.size).toBe(1);
    expect(await countBoxes()).toBe(1);
  });

  it('two processes keep one active provision per email', { timeout: 240_000 }, async () => {
    const [first, second] = await Promise.all([startProcess(), startProcess('env')]);
    const a = await organizationClient(first.url);
    const b = await organizationClient(second.url, a.organization);
    const sharedEmails = Array.from({ length: 10 }, (_, index) => `shared${index}@example.com`);

    // Even requests provision a new address only; odd ones also provision one of
    // ten shared addresses, which ten requests from both processes race for.
    const requests = await Promise.all(
      Array.from({ length: 200 }, (_, index) => {
        const emails = [`person${index}@example.com`];
        const shared = index % 2 === 1 ? sharedEmails[(index >> 1) % 10] : undefined;
        if (shared !== undefined) {
          emails.push(shared);
        }
        return boxWithProvisions(emails).then((body) => ({ body, shared }));
      }),
    );
    const results = await runBounded(requests.length, 16, async (index) => {
      const { body, shared } = requests[index] as (typeof requests)[number];
      const client = index % 2 === 0 ? a.client : b.client;
      const { data, error, response } = await client.POST('/organizations/{oid}/boxes', {
        params: { path: { oid: a.organization.id } },
        body,
      });
      return { status: response.status, box: data, problem: error as Problem | undefined, shared };
    });

    expect(results.filter((result) => result.status >= 500)).toEqual([]);
    expect(new Set(results.map((result) => result.status))).toEqual(new Set([201, 409]));
    const created = results.filter((result) => result.status === 201);
    const createdShared = created.filter((result) => result.shared !== undefined);
    expect(created.length).toBe(100 + sharedEmails.length);
    expect(new Set(createdShared.map((result) => result.shared)).size).toBe(sharedEmails.length);
    expect(new Set(created.map((result) => result.box?.id)).size).toBe(created.length);

    const where = { dataDir, databaseUrl };
    expect(await countRows(where, 'boxes')).toBe(created.length);
    expect(await countRows(where, 'provisions')).toBe(created.length + createdShared.length);
    expect(await countRows(where, 'crypto_actions')).toBe(created.length + createdShared.length);
    const active = await queryRows<{ email: string; public_key: string }>(
      where,
      'SELECT email, public_key FROM provisions WHERE revoked_at IS NULL',
    );
    const activeKeyByEmail = new Map(active.map((row) => [row.email, row.public_key]));
    expect(activeKeyByEmail.size).toBe(active.length);

    for (const result of results.filter((candidate) => candidate.status === 409)) {
      expect(result.problem?.type).toBe('urn:provisions:problem:provision-exists');
      expect(result.shared).toBeDefined();
      expect(result.problem?.existing_public_key).toBe(
        activeKeyByEmail.get(result.shared as string),
      );
    }
  });

  it('two processes never reuse a provision key', { timeout: 120_000 }, async () => {
    const [first, second] = await Promise.all([startProcess(), startProcess()]);
    const a = await organizationClient(first.url);
    const b = await organizationClient(second.url, a.organization);
    const provision = await newProvision();

    const responses = await Promise.all(
      Array.from({ length: 20 }, async (_, index) => {
        const { publicKey } = await newBoxKeys();
        const client = index % 2 === 0 ? a.client : b.client;
        return client.POST('/organizations/{oid}/boxes', {
          params: { path: { oid: a.organization.id } },
          body: {
            title: 'Same key',
            public_key: publicKey,
            crypto: { provisions: { [`key${index}@example.com`]: { ...provision.payload } } },
          },
        });
      }),
    );

    const statuses = responses.map((response) => response.response.status).sort();
    expect(statuses).toEqual([201, ...Array.from({ length: 19 }, () => 409)]);
    for (const { error } of responses.filter((response) => response.response.status === 409)) {
      expect((error as Problem).type).toBe('urn:provisions:problem:key-in-use');
    }
    expect(await countRows({ dataDir, databaseUrl }, 'provisions')).toBe(1);
  });

  it('two processes count every wrong sign-in code', { timeout: 120_000 }, async () => {
    const [first, second] = await Promise.all([startProcess(), startProcess()]);
    const email = 'guesser@example.com';
    const code = await requestSignInCode(first.url, email);
    const wrong = code === '000000' ? '111111' : '000000';

    const guesses = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        createSession(index % 2 === 0 ? first.url : second.url, email, wrong),
      ),
    );
    const afterGuesses = await createSession(second.url, email, code);

    expect(guesses.every((status) => status === 401)).toBe(true);
    expect(afterGuesses).toBe(401);
    const rows = await queryRows<{ failed_attempts: number }>(
      { dataDir, databaseUrl },
      `SELECT failed_attempts FROM email_codes WHERE email = '${email}'`,
    );
    expect(rows).toEqual([{ failed_attempts: 5 }]);
  });

  it('two processes accept a sign-in code once', { timeout: 120_000 }, async () => {
    const [first, second] = await Promise.all([startProcess(), startProcess()]);
    const email = 'once@example.com';
    const code = await requestSignInCode(first.url, email);

    const statuses = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        createSession(index % 2 === 0 ? first.url : second.url, email, code),
      ),
    );

    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 401)).toHaveLength(9);
    const identities = await queryRows<{ email: string }>(
      { dataDir, databaseUrl },
      'SELECT email FROM identities',
    );
    expect(identities).toEqual([{ email }]);
  });

  it("two processes accept each other's cursors", { timeout: 120_000 }, async () => {
    const [first, second] = await Promise.all([startProcess(), startProcess()]);
    const a = await organizationClient(first.url);
    const b = await organizationClient(second.url, a.organization);
    const { id } = await createBox(a.client, a.organization.id);
    const box = id as string;
    const sealed = 'x'.repeat(100);
    const { data: boxData } = await a.client.GET('/boxes/{id}', { params: { path: { id: box } } });
    for (let index = 0; index < 3; index += 1) {
      await a.client.POST('/boxes/{id}/events', {
        params: { path: { id: box } },
        body: {
          type: 'msg.text',
          content: { encrypted: sealed, public_key: boxData?.public_key as string },
        },
      });
    }

    const page = await a.client.GET('/boxes/{id}/events', {
      params: { path: { id: box }, query: { limit: 1 } },
    });
    const cursor = page.data?.next_cursor as string;
    const next = await b.client.GET('/boxes/{id}/events', {
      params: { path: { id: box }, query: { limit: 1, cursor } },
    });

    expect(next.response.status).toBe(200);
    expect(next.data?.items).toHaveLength(1);
    expect(next.data?.items[0]?.id).not.toBe(page.data?.items[0]?.id);
  });

  it('keeps every acknowledged box after SIGKILL', { timeout: 120_000 }, async () => {
    const server = await startProcess();
    const { organization, client } = await organizationClient(server.url);
    const acknowledged: string[] = [];

    const stream = runBounded(400, 4, async () => {
      try {
        const result = await createBox(client, organization.id);
        if (result.status === 201 && result.id !== undefined) {
          acknowledged.push(result.id);
        }
      } catch {
        // Requests cut off by the kill get no response, so nothing was acknowledged.
      }
    });
    while (acknowledged.length < 50) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    server.child.kill('SIGKILL');
    await server.exited;
    await stream;

    const restarted = await startProcess();
    const after = await organizationClient(restarted.url, organization);
    for (const id of acknowledged) {
      const { response } = await after.client.GET('/boxes/{id}', { params: { path: { id } } });
      expect(response.status, id).toBe(200);
    }
    expect(await countBoxes()).toBeGreaterThanOrEqual(acknowledged.length);
  });

  it('finishes in-flight requests on SIGTERM', { timeout: 120_000 }, async () => {
    const server = await startProcess();
    const { organization, client } = await organizationClient(server.url);

    const requests = Array.from({ length: 20 }, () =>
      createBox(client, organization.id).catch(() => ({ status: 0 })),
    );
    await Promise.race(requests);
    server.child.kill('SIGTERM');
    const results = await Promise.all(requests);
    const code = await server.exited;

    expect(code).toBe(0);
    const created = results.filter((result) => result.status === 201).length;
    for (const result of results) {
      expect([0, 201, 503]).toContain(result.status);
    }
    expect(created).toBeGreaterThan(0);
    expect(await countBoxes()).toBe(created);
  });
});

describe.runIf(testBackend() === 'sqlite')('a SQLite file locked by another process', () => {
  // Switching a new file to WAL fails at once with SQLITE_BUSY in one of two processes that
  // open it together, in about one round in ten before the switch was retried.
  it('opens a new file from two processes at once', { timeout: 120_000 }, async () => {
    const openOnce = (directory: string) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const script = `import { openDatabase } from ${JSON.stringify(OPEN_DATABASE)};\nopenDatabase(${JSON.stringify(directory)}).close();`;
        const child = spawn(process.execPath, ['--input-type=module', '--eval', script], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr?.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        child.once('exit', (code) => resolve({ code, stderr }));
      });

    const failures: string[] = [];
    for (let round = 0; round < 30; round += 1) {
      const directory = join(dataDir, `round-${round}`);
      const results = await Promise.all([openOnce(directory), openOnce(directory)]);
      failures.push(
        ...results.filter((result) => result.code !== 0).map((result) => result.stderr),
      );
    }

    expect(failures).toEqual([]);
  });

  it('serves other requests while a write waits', { timeout: 30_000 }, async () => {
    const server = await startProcess();
    const { organization, client } = await organizationClient(server.url);
    const { publicKey } = await newBoxKeys();
    const locker = new Database(join(dataDir, DATABASE_FILE_NAME));
    try {
      locker.exec('BEGIN IMMEDIATE');
      const writeStarted = performance.now();
      const write = client
        .POST('/organizations/{oid}/boxes', {
          params: { path: { oid: organization.id } },
          body: { title: 'Waits for the lock', public_key: publicKey },
        })
        .then(({ response }) => ({
          status: response.status,
          ms: performance.now() - writeStarted,
        }));
      await delay(300);

      const documentStarted = performance.now();
      const document = await fetch(`${server.url}/openapi.json`);
      const documentMs = performance.now() - documentStarted;
      // The token look-up reads the database whose write lock the box creation waits for.
      const readStarted = performance.now();
      const read = await client.GET('/boxes/{id}', { params: { path: { id: randomUUID() } } });
      const readMs = performance.now() - readStarted;
      await delay(1000);
      locker.exec('ROLLBACK');
      const written = await write;

      expect(document.status).toBe(200);
      expect(documentMs).toBeLessThan(2000);
      expect(read.response.status).toBe(404);
      expect(readMs).toBeLessThan(2000);
      expect(written.status).toBe(201);
      expect(written.ms).toBeGreaterThanOrEqual(1300);
      expect(written.ms).toBeLessThan(4000);
    } finally {
      locker.close();
    }
  });
});
