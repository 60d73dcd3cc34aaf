import type { Writable } from 'node:stream';

import { createApiClient, requestOrganizationToken } from '@provisions/api';
import { startServer } from '@provisions/server';

import { CliError } from './cli-error.js';
import { loadDemoPort, loadOrganization, saveDemoPort } from './demo-files.js';
import { API_CLIENT_TIMEOUT_MS, createNodeHttpFetch } from './node-http-fetch.js';

/**
 * Time the demo waits for each response of a program already listening on the port of the
 * previous run, in milliseconds, before it takes it for some other program.
 */
const RUNNING_SERVER_TIMEOUT_MS = 5_000;

/** The server that a demo run sends to. */
export interface DemoServer {
  url: string;
  /**
   * True when a server on the demo's data directory was already listening on the port of
   * the previous run, such as one started to keep the links open: the demo uses it and
   * leaves it running.
   */
  alreadyRunning: boolean;
  /** Stops the server if the demo started it. */
  close(): Promise<void>;
}

/**
 * Starts the demo server on the port of the previous run, so links printed then still
 * work, or on a free port the first time. When that port is taken by a provisions server
 * on the demo's data directory, the demo uses that server instead of starting a second
 * one on the same files. When another program has the port, the demo's server gets a free
 * one.
 */
export async function startDemoServer(
  dataDir: string,
  serverDataDir: string,
  serverLog: Writable,
): Promise<DemoServer> {
  const options = {
    dataDir: serverDataDir,
    host: '127.0.0.1',
    logger: { level: 'info', stream: serverLog },
  } as const;

  const previousPort = await loadDemoPort(dataDir);
  if (previousPort !== undefined) {
    try {
      const server = await startServer({ ...options, port: previousPort });
      return { url: server.url, alreadyRunning: false, close: () => server.close() };
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
        throw cause;
      }
    }

    const runningUrl = `http://127.0.0.1:${previousPort}`;
    if (await servesDemoOrganization(runningUrl, dataDir)) {
      return { url: runningUrl, alreadyRunning: true, close: async () => undefined };
    }
    process.stderr.write(
      `port ${previousPort} of the previous run is taken by a program that is not a provisions server of this data directory, so the links of this run start with another address\n`,
    );
  }

  const server = await startServer({ ...options, port: 0 });
  await saveDemoPort(dataDir, Number(new URL(server.url).port));
  return { url: server.url, alreadyRunning: false, close: () => server.close() };
}

/**
 * Returns the address of a provisions server on the demo's data directory that listens on
 * the port of the previous run, such as one started to keep the links open, or undefined
 * when there is none. `--fresh` calls it before it deletes that server's database.
 *
 * NOTE: a server on another port, or one the demo cannot recognize because
 * `server-port` or `organization.json` is missing or invalid, is not found.
 */
export async function findRunningDemoServer(dataDir: string): Promise<string | undefined> {
  let previousPort: number | undefined;
  try {
    previousPort = await loadDemoPort(dataDir);
    // An invalid organization file is also a reason to run --fresh, so it must not stop it.
    await loadOrganization(dataDir);
  } catch (error) {
    if (error instanceof CliError) {
      return undefined;
    }
    throw error;
  }
  if (previousPort === undefined) {
    return undefined;
  }

  const url = `http://127.0.0.1:${previousPort}`;
  return (await servesDemoOrganization(url, dataDir)) ? url : undefined;
}

/**
 * Returns true when the program at `url` is a provisions server on the demo's database: it
 * passes the health check and issues a token to the demo organization, whose credentials
 * only that database accepts.
 *
 * NOTE: this sends the demo organization's client secret to the program that listens on
 * the port of the previous run on 127.0.0.1, once it has passed the health check.
 */
async function servesDemoOrganization(url: string, dataDir: string): Promise<boolean> {
  const organization = await loadOrganization(dataDir);
  if (organization === undefined) {
    return false;
  }

  const transport = createNodeHttpFetch({ timeoutMs: RUNNING_SERVER_TIMEOUT_MS });
  try {
    const client = createApiClient({
      baseUrl: url,
      fetch: transport.fetch,
      timeoutMs: API_CLIENT_TIMEOUT_MS,
    });
    const health = await client.GET('/health');
    if (health.response.status !== 200 || health.data?.status !== 'ok') {
      return false;
    }
    await requestOrganizationToken(client, {
      clientId: organization.id,
      clientSecret: organization.client_secret,
    });
    return true;
  } catch {
    // Whatever failed, a connection, a response that is not the API's or a rejected
    // credential, the program is not the server this run can use.
    return false;
  } finally {
    transport.close();
  }
}
