import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DATABASE_FILE_NAME } from '@provisions/server';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type Fault,
  type FaultProxy,
  requestKind,
  startFaultProxy,
} from './support/fault-proxy.js';
import { runCli } from './support/run-cli.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const RECIPIENTS = 12;

let server: TestServer;
let proxy: FaultProxy;
let workDir: string;
const counts = new Map<string, number>();

/** Fails some requests of each kind in a fixed pattern, counting them by kind. */
function chooseFault(method: string, path: string): Fault {
  const kind = requestKind(method, path);
  const seen = (counts.get(kind) ?? 0) + 1;
  counts.set(kind, seen);

  if (kind === 'POST /organizations/{oid}/boxes' && seen % 3 === 1) {
    return 'drop-response';
  }
  if (kind === 'POST /boxes/{id}/events' && seen % 4 === 2) {
    return 'drop-response';
  }
  if (kind === 'POST /boxes/{id}/events' && seen % 5 === 3) {
    return { status: 503 };
  }
  if (kind === 'GET /identities/public-keys' && seen % 4 === 1) {
    return { status: 429 };
  }
  if (kind === 'POST /identities/public-keys/lookups' && seen === 1) {
    return 'drop-response';
  }
  return 'pass';
}

beforeAll(async () => {
  server = await startTestServer();
  proxy = await startFaultProxy(server.url, chooseFault);
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-retry-'));
});

afterAll(async () => {
  await proxy.close();
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('send --manifest through failing requests', () => {
  it('retries without creating a second box or message', async () => {
    const manifest = join(workDir, 'recipients.json');
    await writeFile(
      manifest,
      JSON.stringify({
        recipients: Array.from({ length: RECIPIENTS }, (_, index) => ({
          email: `retry${index}@example.com`,
          boxes: [{ title: 'Box', messages: ['one', 'two', 'three'] }],
        })),
      }),
    );

    const result = await runCli(
      ['send', '--manifest', manifest, '--keystore', join(workDir, 'keystore.json'), '--json'],
      {
        env: {
          PROVISIONS_SERVER: proxy.url,
          PROVISIONS_ORG_ID: server.organizationId,
          PROVISIONS_CLIENT_SECRET: server.clientSecret,
          PROVISIONS_KEYSTORE_PASSPHRASE: 'retry test passphrase',
        },
      },
    );

    expect(result.stderr).not.toContain('#provision:');
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as { summary: { retries: number; done: number } };
    expect(output.summary.done).toBe(RECIPIENTS);
    expect(output.summary.retries).toBeGreaterThanOrEqual(RECIPIENTS / 3);
    expect(counts.get('POST /organizations/{oid}/boxes')).toBeGreaterThan(RECIPIENTS);
    // One batch look-up, dropped once and repeated, covers every recipient.
    expect(counts.get('POST /identities/public-keys/lookups')).toBe(2);
    expect(counts.get('GET /identities/public-keys')).toBeUndefined();

    const database = new Database(join(server.dataDir, DATABASE_FILE_NAME), { readonly: true });
    try {
      const boxes = database.prepare('SELECT count(*) AS count FROM boxes').get() as {
        count: number;
      };
      expect(boxes.count).toBe(RECIPIENTS);
      const messages = database
        .prepare(
          "SELECT box_id, count(*) AS count FROM box_events WHERE type = 'msg.text' GROUP BY box_id",
        )
        .all() as { box_id: string; count: number }[];
      expect(messages).toHaveLength(RECIPIENTS);
      expect(messages.filter((row) => row.count !== 3)).toEqual([]);
    } finally {
      database.close();
    }
  });
});
