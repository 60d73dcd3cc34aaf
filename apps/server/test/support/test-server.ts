import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiClient, createApiClient, type Identity } from '@provisions/api';
import { afterAll, beforeAll } from 'vitest';
import { createOrganization, type ServerLoggerOptions, startServer } from '../../src/index.js';
import { ApiContract } from './api-contract.js';
import { type CountedTable, countRows, newTestDatabaseUrl } from './test-database.js';

/** A clock the test moves by hand; it starts at the real time. */
export class TestClock {
  #now = Date.now();

  /** The current test time. */
  readonly now = (): Date => new Date(this.#now);

  /** Moves the clock forward. */
  advance(seconds: number): void {
    this.#now += seconds * 1000;
  }
}

/** An organization with a valid token and a client that sends it. */
export interface TestOrganization {
  id: string;
  client_secret: string;
  token: string;
  client: ApiClient;
}

/** A signed-in person with a client that sends their token. */
export interface TestPerson {
  token: string;
  identity: Identity;
  client: ApiClient;
}

/** One line of the development outbox. */
export interface OutboxLine {
  to: string;
  subject: string;
  text: string;
  code: string;
  created_at: string;
}

/**
 * A real server on 127.0.0.1 and a free port, with its own temporary data
 * directory and database (the SQLite file in that directory, or a new PostgreSQL
 * schema in the `postgres` test project), a hand-moved clock, and clients whose
 * every response is checked against the API description.
 */
export class TestServer {
  readonly contract = new ApiContract();
  readonly clock = new TestClock();
  url = '';
  dataDir = '';
  /** The PostgreSQL URL the server uses, or undefined on SQLite. */
  databaseUrl: string | undefined;
  #close: (() => Promise<void>) | undefined;
  #nextPerson = 0;

  /** Starts a server; `logger` captures logs when given. */
  static async start(
    options: {
      appUrl?: string;
      logger?: ServerLoggerOptions;
      signInRequestsPerMinute?: number;
      trustedProxies?: string[];
      requestTimeoutMs?: number;
      shutdownGracePeriodMs?: number;
      maxConnections?: number;
    } = {},
  ): Promise<TestServer> {
    const server = new TestServer();
    server.dataDir = await mkdtemp(join(tmpdir(), 'provisions-server-test-'));
    server.databaseUrl = await newTestDatabaseUrl();
    const running = await startServer({
      dataDir: server.dataDir,
      databaseUrl: server.databaseUrl,
      port: 0,
      now: server.clock.now,
      // Suites sign many people in from one address; the limit has its own test.
      signInRequestsPerMinute: 10_000,
      ...options,
    });
    server.url = running.url;
    server.#close = running.close;
    return server;
  }

  /** Stops the server and deletes its data directory. */
  async stop(): Promise<void> {
    await this.#close?.();
    await rm(this.dataDir, { recursive: true, force: true });
  }

  /** Creates a client with the given token (or none) whose responses are checked. */
  client(token?: string): ApiClient {
    return createApiClient({ baseUrl: this.url, token, fetch: this.contract.fetch });
  }

  /** Sends a raw request to a path of the server; the response is checked against the description. */
  fetch(path: string, init?: RequestInit): Promise<Response> {
    return this.contract.fetch(`${this.url}${path}`, init);
  }

  /** Creates an organization and gets it a token. */
  async organization(name = 'Test organization'): Promise<TestOrganization> {
    const credentials = await createOrganization({
      dataDir: this.dataDir,
      databaseUrl: this.databaseUrl,
      name,
    });
    return this.signInOrganization(credentials);
  }

  /** Gets a new token for existing organization credentials. */
  async signInOrganization(credentials: {
    id: string;
    client_secret: string;
  }): Promise<TestOrganization> {
    const { data, error } = await this.client().POST('/oauth/token', {
      body: {
        grant_type: 'client_credentials',
        client_id: credentials.id,
        client_secret: credentials.client_secret,
      },
      bodySerializer: (body) => new URLSearchParams(body).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    if (data === undefined) {
      throw new Error(`token request failed: ${JSON.stringify(error)}`);
    }
    return {
      id: credentials.id,
      client_secret: credentials.client_secret,
      token: data.access_token,
      client: this.client(data.access_token),
    };
  }

  /** Returns a fresh email address for this server. */
  newEmail(): string {
    this.#nextPerson += 1;
    return `person${this.#nextPerson}@example.com`;
  }

  /** Requests a code for the address and returns the outbox line it produced. */
  async requestCode(email: string): Promise<OutboxLine> {
    const before = (await this.outbox()).length;
    const { response } = await this.client().POST('/auth/email-codes', { body: { email } });
    if (response.status !== 202) {
      throw new Error(`email code request failed with ${response.status}`);
    }
    const lines = await this.outbox();
    const line = lines[before];
    if (lines.length !== before + 1 || line === undefined) {
      throw new Error(`expected one new outbox line, found ${lines.length - before}`);
    }
    return line;
  }

  /** Signs a person in with an email code and returns their token and identity. */
  async signIn(email: string = this.newEmail()): Promise<TestPerson> {
    const { code } = await this.requestCode(email);
    const { data, error } = await this.client().POST('/auth/sessions', { body: { email, code } });
    if (data === undefined) {
      throw new Error(`sign-in failed: ${JSON.stringify(error)}`);
    }
    return {
      token: data.access_token,
      identity: data.identity,
      client: this.client(data.access_token),
    };
  }

  /** Reads every line of the outbox. */
  async outbox(): Promise<OutboxLine[]> {
    const text = await readFile(join(this.dataDir, 'outbox.jsonl'), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as OutboxLine);
  }

  /** Counts the rows of a table, reading the database outside the server. */
  countRows(table: CountedTable): Promise<number> {
    return countRows(this, table);
  }
}

/** The server and organization that {@link useTestServer} sets up for a test file. */
export interface TestServerFixture {
  server: TestServer;
  organization: TestOrganization;
}

/**
 * Starts a {@link TestServer} and creates an organization on it before the tests of
 * the calling file, and stops the server after them. The fields are set once
 * `beforeAll` has run. A test may replace `organization`, for example with a new
 * token after moving the clock, and later tests then use the new one.
 */
export function useTestServer(): TestServerFixture {
  const fixture = {} as TestServerFixture;
  beforeAll(async () => {
    fixture.server = await TestServer.start();
    fixture.organization = await fixture.server.organization();
  });
  afterAll(async () => {
    await fixture.server?.stop();
  });
  return fixture;
}
