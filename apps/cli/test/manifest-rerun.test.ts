import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from './support/run-cli.js';
import { startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
let workDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-rerun-'));
  env = {
    PROVISIONS_SERVER: server.url,
    PROVISIONS_ORG_ID: server.organizationId,
    PROVISIONS_CLIENT_SECRET: server.clientSecret,
    PROVISIONS_KEYSTORE_PASSPHRASE: 'rerun test passphrase',
  };
});

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

/** Writes a CSV manifest of `count` recipients named `<name><index>@example.com`, one box each. */
async function writeManifest(name: string, count: number): Promise<string> {
  const path = join(workDir, `${name}.csv`);
  const rows = Array.from({ length: count }, (_, index) => `${name}${index}@example.com,Box,hi`);
  await writeFile(path, `email,title,message\n${rows.join('\n')}\n`);
  return path;
}

function manifestArgs(manifest: string, keystore: string, ...options: string[]): string[] {
  return ['send', '--manifest', manifest, '--keystore', keystore, ...options];
}

/** Returns the lines of stderr that start with `prefix`. */
function linesStarting(stderr: string, prefix: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith(prefix));
}

describe('send --manifest run again after it finished', () => {
  it('counts lost links as failed in progress', async () => {
    const manifest = await writeManifest('lost', 3);
    const first = await runCli(manifestArgs(manifest, join(workDir, 'lost-keystore.json')), {
      env,
    });
    expect(first.code).toBe(0);

    // Another keystore has none of the entries the first run stored.
    const again = await runCli(manifestArgs(manifest, join(workDir, 'empty-keystore.json')), {
      env,
    });

    expect(again.code).toBe(3);
    expect(linesStarting(again.stderr, 'progress: ').at(-1)).toMatch(
      /^progress: 3\/3 recipients, 3 failed, /,
    );
    expect(again.stderr).toMatch(/^recipients: 0 of 3 done, 3 failed \(/m);
    expect(linesStarting(again.stderr, 'failed: ')).toEqual(
      [0, 1, 2].map(
        (index) =>
          `failed: lost${index}@example.com: the keystore entry of this recipient's provision is missing, so the link cannot be rebuilt: restore the keystore from a backup`,
      ),
    );
  });
});
