import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ApiClient, createApiClient, requestOrganizationToken } from '@provisions/api';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOrganization, DATABASE_FILE_NAME } from '../src/index.js';
import { newBoxKeys } from './support/box-material.js';

/**
 * Runs the built `provisions-server` as separate processes on one data
 * directory: two at once, one killed with SIGKILL, one stopped with SIGTERM.
 */

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** A server process and the URL it listens on. */
interface ServerProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

let dataDir: string;
const running: ServerProcess[] = [];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'provisions-processes-'));
});

afterEach(async () => {
  for (const server of running.splice(0)) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
  await rm(dataDir, { recursive: true, force: true });
});

/** Starts `provisions-server start` on a free port and waits for its listening line. */
async function startProcess(): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [MAIN, 'start', '--data-dir', dataDir, '--port', '0', '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
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
  const organization = credentials ?? (await createOrganization({ dataDir, name: 'Processes' }));
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

function countBoxes(): number {
  const db = new Database(join(dataDir, DATABASE_FILE_NAME), { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM boxes').pluck().get() as number;
  } finally {
    db.close();
  }
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

describe('server processes', () => {
  it('two processes share one database', { timeout: 120_000 }, async () => {
    const [first, second] = await Promise.all([startProcess(), startProcess()]);
    const a = await organizationClient(first.url);
    const b = await organizationClient(second.url, a.organization);

    const results = await runBounded(200, 16, (index) =>
      createBox(index % 2 === 0 ? a.client : b.client, a.organization.id),
    );

    const statuses = new Set(results.map((result) => result.status));
    expect([...statuses]).toEqual([201]);
    const ids = new Set(results.map((result) => result.id));
    expect(ids.size).toBe(200);
    expect(countBoxes()).toBe(200);
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
    expect(countBoxes()).toBe(1);
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
    expect(countBoxes()).toBeGreaterThanOrEqual(acknowledged.length);
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
    expect(countBoxes()).toBe(created);
  });
});
