import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DATABASE_FILE_NAME } from '../src/index.js';
import { openPartialCodeRequest } from './support/raw-http.js';

// The CLI tests run the compiled entry point, so `build` must run before `test`
// (turbo's test task depends on build).
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const run = promisify(execFile);
const { version: PACKAGE_VERSION } = JSON.parse(
  await readFile(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string };

/**
 * Prefix that runs a command as a user who lacks root's right to write anywhere: none for
 * a user other than root, and `runuser -u nobody --` for root. It is undefined when root
 * cannot run the CLI as `nobody`, such as when `nobody` may not read the built files.
 */
const UNPRIVILEGED_PREFIX = await findUnprivilegedPrefix();

let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'provisions-cli-test-'));
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('provisions-server', () => {
  it('prints help naming both commands', async () => {
    const { stdout } = await run(process.execPath, [MAIN, '--help']);

    expect(stdout).toContain('start');
    expect(stdout).toContain('create-organization');
  });

  it('prints new organization credentials as JSON', async () => {
    const { stdout } = await run(process.execPath, [
      MAIN,
      'create-organization',
      '--data-dir',
      dataDir,
      '--name',
      'CLI Org',
    ]);
    const credentials = JSON.parse(stdout) as { id: string; client_secret: string; name: string };

    expect(credentials.name).toBe('CLI Org');
    expect(credentials.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(credentials.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('prints the package version', async () => {
    const { stdout } = await run(process.execPath, [MAIN, '--version']);

    expect(stdout).toBe(`${PACKAGE_VERSION}\n`);
  });

  it.each([
    [
      'a missing required option',
      ['create-organization', '--name', 'x'],
      "required option '--data-dir <dir>' not specified",
    ],
    [
      'a port out of range',
      ['start', '--data-dir', '.', '--port', '99999'],
      "option '--port <port>' argument '99999' is invalid. expected an integer from 0 to 65535",
    ],
    [
      'a missing command',
      [],
      'missing command; give start or create-organization, or see provisions-server --help',
    ],
    ['an unknown command', ['bogus'], "unknown command 'bogus'"],
    ['a misspelt command', ['strat'], "unknown command 'strat' (Did you mean start?)"],
    [
      'an unknown option',
      ['start', '--data-dir', '.', '--prot', '1'],
      "unknown option '--prot' (Did you mean --port?)",
    ],
  ])('reports %s in one line with exit code 2', async (_case, args, message) => {
    const failure = await runFailing(args);

    expect(failure).toMatchObject({ code: 2 });
    expect(failure.stderr).toBe(`provisions-server: ${message}\n`);
  });

  it.each([
    ['--port', 'start', ['--port', '1', '--port', '2'], 'give it once'],
    [
      '--trust-proxy',
      'start',
      ['--trust-proxy', '127.0.0.1', '--trust-proxy=::1'],
      'give it once, with the addresses separated by commas',
    ],
    [
      '--database-url',
      'start',
      [
        '--database-url',
        'postgresql://provisions:hunter2@127.0.0.1:1/a',
        '--database-url',
        'postgresql://provisions:hunter2@127.0.0.1:1/b',
      ],
      'give it once',
    ],
    ['--name', 'create-organization', ['--name', 'A', '--name', 'B'], 'give it once'],
  ])('rejects %s given twice', async (flag, command, args, hint) => {
    const failure = await runFailing([command, '--data-dir', dataDir, ...args]);

    expect(failure).toMatchObject({ code: 2 });
    expect(failure.stderr).toBe(`provisions-server: ${flag} was given more than once; ${hint}\n`);
  });

  it('rejects a database URL of another scheme', async () => {
    const failure = await runFailing([
      'start',
      '--data-dir',
      dataDir,
      '--database-url',
      'mysql://admin:hunter2@db.example/provisions',
    ]);
    const { stderr } = failure;

    expect(failure).toMatchObject({ code: 2 });
    expect(stderr).toBe(
      'provisions-server: --database-url must use the postgres:// or postgresql:// scheme, received mysql://\n',
    );
  });

  it.each([
    ['--app-url', ['--app-url', 'notaurl'], 'expected an http or https URL'],
    ['--port', ['--port', 'eighty'], 'expected an integer from 0 to 65535'],
    ['--data-dir', ['--data-dir', ''], 'expected a non-empty directory path'],
    ['--trust-proxy', ['--trust-proxy', '127.0.0.1,10.0.0.0/33'], 'expected comma-separated IP'],
    ['--max-connections', ['--max-connections', '0'], 'expected a positive integer'],
  ])('names the %s flag when its value is invalid', async (flag, args, expected) => {
    // The invalid value comes first, so for --data-dir it fails before the option repeats.
    const failure = await runFailing(['start', ...args, '--data-dir', dataDir]);
    const { stderr } = failure;

    expect(failure).toMatchObject({ code: 2 });
    expect(stderr.split('\n')).toHaveLength(2);
    expect(stderr).toContain(`'${flag} <`);
    expect(stderr).toContain(expected);
    expect(stderr).not.toMatch(/appUrl|dataDir/);
  });

  it.each([
    ['is a file', (file: string) => file, 'it is a file, not a directory; choose another path'],
    [
      'is below a file',
      (file: string) => join(file, 'data'),
      'a part of the path is a file, not a directory; choose another path',
    ],
  ])('rejects a data directory that %s', async (_case, pathOf, reason) => {
    const file = join(dataDir, 'not-a-directory');
    await writeFile(file, 'x');

    const failure = await runFailing(['start', '--data-dir', pathOf(file)]);

    expect(failure).toMatchObject({ code: 1 });
    expect(failure.stderr).toBe(
      `provisions-server: data directory ${pathOf(file)} cannot be created: ${reason}\n`,
    );
  });

  it.each([
    ['is a link to nothing', (link: string) => link],
    ['is below a link to nothing', (link: string) => join(link, 'data')],
  ])('rejects a data directory that %s', async (_case, pathOf) => {
    const link = join(dataDir, 'dangling');
    await symlink(join(dataDir, 'nowhere'), link);

    const failure = await runFailing(['start', '--data-dir', pathOf(link)]);

    expect(failure).toMatchObject({ code: 1 });
    expect(failure.stderr).toBe(
      `provisions-server: data directory ${pathOf(link)} cannot be created: a part of the path is a symbolic link to nothing; choose another path\n`,
    );
  });

  // Node's recursive mkdir never returns there: mkdir gives ENOENT although /proc exists.
  it.runIf(process.platform === 'linux')(
    'rejects a data directory where the file system allows none, such as under /proc',
    async () => {
      const path = '/proc/provisions-data/data';

      const failure = await runFailing(['start', '--data-dir', path]);

      expect(failure).toMatchObject({ code: 1 });
      expect(failure.stderr).toBe(
        `provisions-server: data directory ${path} cannot be created: the file system does not allow a directory there; choose another path\n`,
      );
    },
  );

  it('rejects a database file that is a directory', async () => {
    const nested = join(dataDir, 'data');
    await mkdir(join(nested, DATABASE_FILE_NAME), { recursive: true });

    const failure = await runFailing(['start', '--data-dir', nested]);

    expect(failure).toMatchObject({ code: 1 });
    expect(failure.stderr).toBe(
      `provisions-server: database file ${join(nested, DATABASE_FILE_NAME)} cannot be opened: it is a directory; move it away or choose another data directory\n`,
    );
  });

  it.each([
    ['start', []],
    ['create-organization', ['--name', 'Deep']],
  ])('%s rejects a database path too long for SQLite', async (command, args) => {
    // Without symbolic links in it, the path as given is the one SQLite would resolve.
    const root = await realpath(dataDir);
    const deep = join(root, 'deep', ...Array.from({ length: 1500 }, () => 'd'));
    const file = join(deep, DATABASE_FILE_NAME);
    const bytes = Buffer.byteLength(file);

    const failure = await runFailing([command, '--data-dir', deep, ...args]);

    expect(failure).toMatchObject({ code: 1 });
    expect(failure.stderr).toBe(
      `provisions-server: database file ${file} cannot be opened: its absolute path is ${bytes} bytes long, and SQLite accepts at most 504; choose a data directory with a shorter path\n`,
    );
    await expect(stat(join(root, 'deep'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('names an unreachable PostgreSQL without its password', async () => {
    const failure = await runFailing([
      'start',
      '--data-dir',
      dataDir,
      '--database-url',
      'postgresql://provisions:hunter2@127.0.0.1:1/provisions',
    ]);

    expect(failure).toMatchObject({ code: 1 });
    expect(failure.stderr).toBe(
      "provisions-server: failed to open the PostgreSQL database 127.0.0.1:1/provisions: connect ECONNREFUSED 127.0.0.1:1; check that PostgreSQL is running there and that the URL's user, password and database are right\n",
    );
  });

  it.each([
    ['start', []],
    ['create-organization', ['--name', 'Damaged']],
  ])('%s names a database file that is not SQLite', async (command, args) => {
    const file = join(dataDir, DATABASE_FILE_NAME);
    await writeFile(file, 'junk\n');

    const failure = await runFailing([command, '--data-dir', dataDir, ...args]);

    expect(failure).toMatchObject({ code: 1 });
    expect(failure.stderr).toBe(
      `provisions-server: database file ${file} is not a SQLite database or is damaged; restore it from a backup or choose another data directory\n`,
    );
  });

  it('creates a missing data directory', async () => {
    const nested = join(dataDir, 'missing', 'data');
    await run(process.execPath, [
      MAIN,
      'create-organization',
      '--data-dir',
      nested,
      '--name',
      'Nested',
    ]);

    expect((await stat(nested)).mode & 0o777).toBe(0o700);
  });

  it('names DATABASE_URL when the variable is invalid', async () => {
    const failure = await runFailing(
      ['create-organization', '--data-dir', dataDir, '--name', 'Env'],
      { ...process.env, DATABASE_URL: 'not a url with secret' },
    );
    const { stderr } = failure;

    expect(failure).toMatchObject({ code: 2 });
    expect(stderr).toMatch(/^provisions-server: DATABASE_URL is not a valid URL; expected /);
    expect(stderr).not.toContain('secret');
    expect(stderr.split('\n')).toHaveLength(2);
  });

  it.each([
    ['an empty --name', ''],
    ['a blank --name', '   '],
    ['a --name with a control character', 'Acme\u0007'],
  ])('rejects %s with exit code 2', async (_case, name) => {
    const failure = await runFailing([
      'create-organization',
      '--data-dir',
      dataDir,
      '--name',
      name,
    ]);

    expect(failure).toMatchObject({ code: 2 });
    expect(failure.stderr).toBe(
      `provisions-server: option '--name <name>' argument '${name}' is invalid. expected 1 to 200 characters after trimming white space, without control characters\n`,
    );
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('uses SQLite when DATABASE_URL is empty', async () => {
    const { stdout } = await run(
      process.execPath,
      [MAIN, 'create-organization', '--data-dir', dataDir, '--name', 'Compose'],
      { env: { ...process.env, DATABASE_URL: '' } },
    );

    expect(JSON.parse(stdout)).toMatchObject({ name: 'Compose' });
    expect((await stat(join(dataDir, DATABASE_FILE_NAME))).size).toBeGreaterThan(0);
  });

  it('rejects an empty --database-url', async () => {
    const failure = await runFailing([
      'create-organization',
      '--data-dir',
      dataDir,
      '--name',
      'Flag',
      '--database-url',
      '',
    ]);

    expect(failure).toMatchObject({ code: 2 });
    expect(failure.stderr).toMatch(/^provisions-server: --database-url must be a PostgreSQL URL/);
  });

  it('rejects a cursor.key that is a directory', async () => {
    const key = join(dataDir, 'cursor.key');
    await mkdir(key);

    const failure = await runFailing(['start', '--data-dir', dataDir, '--port', '0']);

    expect(failure).toMatchObject({ code: 1 });
    expect(failure.stderr).toBe(
      `provisions-server: cursor key file ${key} cannot be read: it is a directory; remove it so that the server creates a new key, or replace it with the cursor.key file of the other servers behind the same load balancer\n`,
    );
  });

  describe.skipIf(UNPRIVILEGED_PREFIX === undefined)('as a user who may not write', () => {
    let readOnlyDir: string;

    beforeEach(async () => {
      readOnlyDir = join(dataDir, 'data');
      await run(process.execPath, [
        MAIN,
        'create-organization',
        '--data-dir',
        readOnlyDir,
        '--name',
        'Acme',
      ]);
      if (process.getuid?.() === 0) {
        const { uid, gid } = await nobodyIds();
        await chmod(dataDir, 0o755);
        await chown(readOnlyDir, uid, gid);
        await chown(join(readOnlyDir, DATABASE_FILE_NAME), uid, gid);
      }
      await chmod(readOnlyDir, 0o500);
    });

    afterEach(async () => {
      await chmod(readOnlyDir, 0o700);
    });

    it.each([
      ['start', ['--port', '0']],
      ['create-organization', ['--name', 'Other']],
    ])('%s names the read-only data directory', async (command, args) => {
      const failure = await runFailingUnprivileged([command, '--data-dir', readOnlyDir, ...args]);

      expect(failure).toMatchObject({ code: 1 });
      expect(failure.stderr).toBe(
        `provisions-server: database file ${join(readOnlyDir, DATABASE_FILE_NAME)} cannot be written: this user may not write to its directory, where SQLite creates the -wal and -shm files; run the server as a user who may write to the data directory, such as its owner\n`,
      );
    });
  });

  it('names a port in use in one line', async () => {
    const occupant = createServer();
    await new Promise<void>((resolve) => occupant.listen(0, '127.0.0.1', resolve));
    const { port } = occupant.address() as AddressInfo;
    try {
      const failure = await runFailing(['start', '--data-dir', dataDir, '--port', String(port)]);

      expect(failure).toMatchObject({ code: 1 });
      expect(failure.stderr).toBe(
        `provisions-server: cannot listen on 127.0.0.1:${port}: another process already uses this port; stop it, or choose another port with --port\n`,
      );
    } finally {
      await new Promise<void>((resolve) => occupant.close(() => resolve()));
    }
  });

  it('starts a server that logs its address and stops on SIGTERM', async () => {
    const { child, url, output } = await startServerProcess();

    const response = await fetch(`${url}/identities/me`);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');

    expect(response.status).toBe(401);
    expect(await exited).toBe(0);
    expect(output()).toContain('"msg":"server stopping"');
    expect(output()).toContain('"msg":"server stopped"');
  });

  it('closes a stalled request 8 seconds after SIGTERM', async () => {
    const { child, url, output } = await startServerProcess();
    const written = await fetch(`${url}/auth/email-codes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'stalled@example.com' }),
    });
    const stalled = await openPartialCodeRequest(url, '{"em', 100);
    // Until the server has read the request line, it would close the connection as idle.
    await delay(200);
    const walBefore = await stat(join(dataDir, `${DATABASE_FILE_NAME}-wal`));

    const started = performance.now();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await waitFor(() => output().includes('"msg":"server stopping"'), 1000);
    const stoppingLoggedMs = performance.now() - started;
    const exitCode = await exited;
    const exitedMs = performance.now() - started;
    const exchange = await stalled.closedByServer(100);

    expect(written.status).toBe(202);
    expect(walBefore.size).toBeGreaterThan(0);
    expect(stoppingLoggedMs).toBeLessThan(1000);
    expect(exitCode).toBe(0);
    expect(exitedMs).toBeGreaterThanOrEqual(7900);
    expect(exitedMs).toBeLessThan(11_000);
    expect(exchange.status).toBeUndefined();
    expect(output()).toContain('"grace_period_ms":8000');
    expect(output()).toContain('"msg":"server stopped"');
    // Closing the last connection checkpoints the WAL into the database file and deletes it.
    await expect(stat(join(dataDir, `${DATABASE_FILE_NAME}-wal`))).rejects.toThrow(/ENOENT/);
    const database = new Database(join(dataDir, DATABASE_FILE_NAME), { readonly: true });
    try {
      expect(database.prepare('SELECT count(*) AS count FROM email_codes').get()).toEqual({
        count: 1,
      });
    } finally {
      database.close();
    }
  }, 20_000);
});

/** Time after which {@link runFailing} stops a run that hangs, which then has no `code`. */
const RUN_TIMEOUT_MS = 8_000;

/**
 * Runs the CLI with `args`, expecting it to fail, and returns the error of the run: its exit
 * code and stderr. A run that succeeds is returned as it is, without `code`.
 */
function runFailing(
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ code?: number; stderr: string }> {
  return run(process.execPath, [MAIN, ...args], { env, timeout: RUN_TIMEOUT_MS }).catch(
    (error: { code: number; stderr: string }) => error,
  );
}

/** Runs the CLI like {@link runFailing}, as a user who may not write everywhere. */
function runFailingUnprivileged(args: string[]): Promise<{ code?: number; stderr: string }> {
  const [command, ...prefixArgs] = [...(UNPRIVILEGED_PREFIX ?? []), process.execPath];
  return run(command as string, [...prefixArgs, MAIN, ...args], {
    timeout: RUN_TIMEOUT_MS,
  }).catch((error: { code: number; stderr: string }) => error);
}

/** Returns the user and group ids of `nobody`. */
async function nobodyIds(): Promise<{ uid: number; gid: number }> {
  const { stdout: uid } = await run('id', ['-u', 'nobody']);
  const { stdout: gid } = await run('id', ['-g', 'nobody']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/**
 * Finds the prefix of {@link UNPRIVILEGED_PREFIX}: as root, checks that `runuser` can run
 * the CLI as `nobody`.
 */
async function findUnprivilegedPrefix(): Promise<string[] | undefined> {
  if (process.getuid?.() !== 0) {
    return [];
  }
  const prefix = ['runuser', '-u', 'nobody', '--'];
  try {
    await run(prefix[0] as string, [...prefix.slice(1), process.execPath, MAIN, '--version']);
    return prefix;
  } catch {
    return undefined;
  }
}

/** Runs `start` on the test's data directory and waits until it logs its URL. */
async function startServerProcess(): Promise<{
  child: ChildProcessWithoutNullStreams;
  url: string;
  output: () => string;
}> {
  const child = spawn(process.execPath, [MAIN, 'start', '--data-dir', dataDir, '--port', '0']);
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(output);
      if (match?.[1] !== undefined) {
        resolve(match[1]);
      }
    });
    child.once('exit', () => reject(new Error(`server exited early: ${output}`)));
  });
  return { child, url, output: () => output };
}

async function waitFor(condition: () => boolean, limitMs: number): Promise<void> {
  const started = performance.now();
  while (!condition() && performance.now() - started < limitMs) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
