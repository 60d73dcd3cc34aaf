import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

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

/** Writes the demo's lock file in `dataDir`, owned by process `pid` of this host. */
async function writeDemoLock(dataDir: string, pid: number): Promise<string> {
  const path = join(dataDir, 'demo.lock');
  const owner = { pid, hostname: hostname(), created_at: new Date().toISOString() };
  await writeFile(path, `${JSON.stringify(owner)}\n`, { mode: 0o600 });
  return path;
}

describe('provisions demo on a data directory in use', () => {
  it('stops while another demo uses it', async () => {
    const dataDir = join(directory, 'in-use');
    const first = await runCli(['demo', '--data-dir', dataDir]);
    expect(first.code).toBe(0);
    const filesBefore = (await readdir(dataDir)).sort();
    const portBefore = await readFile(join(dataDir, 'server-port'), 'utf8');
    const codesBefore = await outboxRecipients(dataDir);
    // This test process is alive, so the demo takes the lock for that of a running demo.
    const lock = await writeDemoLock(dataDir, process.pid);

    for (const extra of [[], ['--fresh']]) {
      const result = await runCli(['demo', '--data-dir', dataDir, ...extra]);

      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `provisions: demo data directory ${dataDir} is in use by process ${process.pid} on ${hostname()} (lock file ${lock}): wait for it to finish, or delete the lock file if no such process runs; to run another demo at the same time, give it its own --data-dir\n`,
      );
      expect(result.stdout).toBe('');
    }
    expect((await readdir(dataDir)).sort()).toEqual([...filesBefore, 'demo.lock'].sort());
    expect(await readFile(join(dataDir, 'server-port'), 'utf8')).toBe(portBefore);
    expect(await outboxRecipients(dataDir)).toEqual(codesBefore);
  }, 60_000);

  it('takes over the lock of a demo that is gone', async () => {
    const dataDir = join(directory, 'abandoned-lock');
    await mkdir(dataDir);
    await writeFile(join(dataDir, '.provisions-demo'), 'made by the test\n');
    const exitedPid = spawnSync(process.execPath, ['-e', '']).pid as number;
    await writeDemoLock(dataDir, exitedPid);

    const result = await runCli(['demo', '--data-dir', dataDir, '--json']);

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(await readdir(dataDir)).not.toContain('demo.lock');
  }, 60_000);

  it('releases its lock after --fresh', async () => {
    const dataDir = join(directory, 'fresh-lock');
    const first = await runCli(['demo', '--data-dir', dataDir, '--json']);
    const again = await runCli(['demo', '--data-dir', dataDir, '--fresh', '--json']);

    expect(first.code).toBe(0);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).organization_id).not.toBe(
      JSON.parse(first.stdout).organization_id,
    );
    expect(await readdir(dataDir)).not.toContain('demo.lock');
    expect(await readdir(dataDir)).toContain('.provisions-demo');
  }, 60_000);
});

interface DemoSummary {
  server: string;
  organization_id: string;
  recipients: { email: string; link: string | null }[];
}

/** The server's command, `node apps/server/dist/main.js`, as the root README runs it. */
const SERVER_MAIN_PATH = join(
  dirname(createRequire(import.meta.url).resolve('@provisions/server/package.json')),
  'dist',
  'main.js',
);

/**
 * Starts `provisions-server start` in its own process on `serverDataDir` and `port`, and
 * resolves once its health check passes. `stop()` sends SIGTERM and waits for the exit.
 */
async function startServerProcess(
  serverDataDir: string,
  port: number,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [SERVER_MAIN_PATH, 'start', '--data-dir', serverDataDir, '--port', String(port)],
    { stdio: 'ignore' },
  );
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(
        `the server process exited with code ${child.exitCode} before its health check passed`,
      );
    }
    const healthy = await fetch(`${url}/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) {
      return { url, stop };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`the server process did not pass its health check at ${url} within 20 s`);
}

describe('provisions demo beside a running server', () => {
  it('uses a server already running on its data directory', async () => {
    const dataDir = join(directory, 'running-server');
    const first = await runCli(['demo', '--data-dir', dataDir, '--json']);
    expect(first.code).toBe(0);
    const firstSummary = JSON.parse(first.stdout) as DemoSummary;
    // The server that the README starts to keep the links open: same data, same port.
    const server = await startServer({
      dataDir: join(dataDir, 'server'),
      port: Number(new URL(firstSummary.server).port),
    });
    try {
      const json = await runCli(['demo', '--data-dir', dataDir, '--json']);
      const human = await runCli(['demo', '--data-dir', dataDir]);

      expect(json.code).toBe(0);
      expect(json.stderr).toBe('');
      const summary = JSON.parse(json.stdout) as DemoSummary;
      expect(summary.server).toBe(server.url);
      expect(summary.recipients.map((recipient) => recipient.link)).toEqual(
        firstSummary.recipients.map((recipient) => recipient.link),
      );
      expect(human.code).toBe(0);
      expect(human.stdout).toContain(
        `Demo server: ${server.url}, already running on this data directory, which the demo leaves running`,
      );
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    } finally {
      await server.close();
    }
  }, 120_000);

  it('rejects --fresh while the server runs', async () => {
    const dataDir = join(directory, 'fresh-beside-server');
    const first = await runCli(['demo', '--data-dir', dataDir, '--json']);
    expect(first.code).toBe(0);
    const firstSummary = JSON.parse(first.stdout) as DemoSummary;
    const databasePath = join(dataDir, 'server', 'provisions.sqlite');
    // The server that the README starts to keep the links open, in a process of its own.
    const server = await startServerProcess(
      join(dataDir, 'server'),
      Number(new URL(firstSummary.server).port),
    );
    try {
      const databaseBefore = await stat(databasePath);
      const filesBefore = (await readdir(dataDir)).sort();

      const result = await runCli(['demo', '--data-dir', dataDir, '--fresh', '--json']);

      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `provisions: a provisions server at ${server.url} is running on ${join(dataDir, 'server')}, and --fresh would delete its database: stop that server first, then run the demo with --fresh again\n`,
      );
      expect(result.stdout).toBe('');
      expect((await stat(databasePath)).ino).toBe(databaseBefore.ino);
      expect((await readdir(dataDir)).sort()).toEqual(filesBefore);

      const again = await runCli(['demo', '--data-dir', dataDir, '--json']);
      expect(again.code).toBe(0);
      expect((JSON.parse(again.stdout) as DemoSummary).organization_id).toBe(
        firstSummary.organization_id,
      );
    } finally {
      await server.stop();
    }

    const afterStop = await runCli(['demo', '--data-dir', dataDir, '--fresh', '--json']);
    expect(afterStop.code).toBe(0);
    expect((JSON.parse(afterStop.stdout) as DemoSummary).organization_id).not.toBe(
      firstSummary.organization_id,
    );
  }, 120_000);

  it('starts over with --fresh after invalid files', async () => {
    for (const file of ['server-port', 'organization.json']) {
      const dataDir = join(directory, `fresh-invalid-${file}`);
      const first = await runCli(['demo', '--data-dir', dataDir, '--json']);
      expect(first.code).toBe(0);
      await writeFile(join(dataDir, file), 'not valid\n');

      const result = await runCli(['demo', '--data-dir', dataDir, '--fresh', '--json']);

      expect({ file, code: result.code, stderr: result.stderr }).toEqual({
        file,
        code: 0,
        stderr: '',
      });
    }
  }, 120_000);

  it('starts its own server when another program has its port', async () => {
    const dataDir = join(directory, 'port-taken');
    const first = await runCli(['demo', '--data-dir', dataDir, '--json']);
    expect(first.code).toBe(0);
    const port = Number(new URL((JSON.parse(first.stdout) as DemoSummary).server).port);
    const other = createServer((_request, response) => response.writeHead(404).end());
    await new Promise<void>((resolve) => other.listen(port, '127.0.0.1', resolve));
    try {
      const result = await runCli(['demo', '--data-dir', dataDir, '--json']);

      expect(result.code).toBe(0);
      expect(result.stderr).toBe(
        `port ${port} of the previous run is taken by a program that is not a provisions server of this data directory, so the links of this run start with another address\n`,
      );
      expect(new URL((JSON.parse(result.stdout) as DemoSummary).server).port).not.toBe(
        String(port),
      );
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  }, 120_000);
});
