import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startServer } from '@provisions/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from './support/run-cli.js';

/** The server's limit of sign-in codes per address and hour (`EMAIL_CODES_PER_HOUR`). */
const CODES_PER_HOUR = 5;

/** The recipients of the example manifest; the demo signs each of them in once per run. */
const DEMO_RECIPIENTS = ['ada@example.com', 'grace@example.org', 'alan@example.net'];

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'provisions-demo-reruns-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Returns the addresses of the sign-in codes in the demo server's outbox, in order. */
async function outboxRecipients(dataDir: string): Promise<string[]> {
  const text = await readFile(join(dataDir, 'server', 'outbox.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { to: string }).to);
}

describe('provisions demo run again', () => {
  it('runs more often than the hourly code limit', async () => {
    const dataDir = join(directory, 'many-runs');

    for (let run = 1; run <= CODES_PER_HOUR + 1; run += 1) {
      const result = await runCli(['demo', '--data-dir', dataDir, '--json']);

      expect({ run, code: result.code, stderr: result.stderr }).toEqual({
        run,
        code: 0,
        stderr: '',
      });
    }
  }, 180_000);

  it('requests sign-in codes on the first run only', async () => {
    const dataDir = join(directory, 'codes');

    const first = await runCli(['demo', '--data-dir', dataDir]);
    const codesAfterFirst = await outboxRecipients(dataDir);
    const second = await runCli(['demo', '--data-dir', dataDir]);

    expect(first.code).toBe(0);
    expect([...codesAfterFirst].sort()).toEqual([...DEMO_RECIPIENTS].sort());
    expect(second.code).toBe(0);
    expect(await outboxRecipients(dataDir)).toEqual(codesAfterFirst);
    expect(first.stdout).toContain(
      'Signed in with a code from the outbox: ada@example.com, grace@example.org, alan@example.net',
    );
    expect(second.stdout).toContain(
      'Signed in with the saved session of an earlier run: ada@example.com, grace@example.org, alan@example.net',
    );
  }, 120_000);

  it('signs in again when a saved session is rejected', async () => {
    const dataDir = join(directory, 'rejected-sessions');
    const first = await runCli(['demo', '--data-dir', dataDir]);
    const codesAfterFirst = await outboxRecipients(dataDir);
    const sessionsDir = join(dataDir, 'sessions');
    const oneDayLater = new Date(Date.now() + 24 * 60 * 60 * 1000).toISOString();
    // A token the server never issued, and a file that is not JSON.
    await writeFile(
      join(sessionsDir, 'ada@example.com.json'),
      JSON.stringify({ access_token: 'A'.repeat(43), expires_at: oneDayLater }),
    );
    await writeFile(join(sessionsDir, 'grace@example.org.json'), '{"access_tok');

    const second = await runCli(['demo', '--data-dir', dataDir]);

    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    expect(second.stderr).toBe('');
    expect((await outboxRecipients(dataDir)).slice(codesAfterFirst.length)).toEqual([
      'ada@example.com',
      'grace@example.org',
    ]);
    expect(second.stdout).toContain(
      'Signed in with a code from the outbox: ada@example.com, grace@example.org (sessions saved in',
    );
    expect(second.stdout).toContain(
      'Signed in with the saved session of an earlier run: alan@example.net (in',
    );
    const saved = JSON.parse(await readFile(join(sessionsDir, 'ada@example.com.json'), 'utf8'));
    expect(saved.access_token).not.toBe('A'.repeat(43));
  }, 120_000);

  it('says when to try again at the code limit', async () => {
    const dataDir = join(directory, 'code-limit');
    await mkdir(join(dataDir, 'server'), { recursive: true });
    await writeFile(join(dataDir, '.provisions-demo'), 'made by the test\n');
    const server = await startServer({ dataDir: join(dataDir, 'server'), port: 0 });
    try {
      for (let request = 0; request < CODES_PER_HOUR; request += 1) {
        const response = await fetch(`${server.url}/auth/email-codes`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'ada@example.com' }),
        });
        expect(response.status).toBe(202);
      }
    } finally {
      await server.close();
    }

    const result = await runCli(['demo', '--data-dir', dataDir]);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'provisions: the demo server limits sign-in codes per address and hour, and ada@example.com reached the limit: try again in 60 minutes, or run the demo with --fresh\n',
    );
  }, 60_000);
});
