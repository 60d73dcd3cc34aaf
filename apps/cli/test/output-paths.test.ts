import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  boxOptions,
  type CliResult,
  runCli,
  UNKNOWN_ORGANIZATION_ID,
  UNUSED_SERVER,
} from './support/run-cli.js';
import { countLines, type SpawnedCli, spawnCli } from './support/spawn-cli.js';
import { serverEnv, startTestServer, type TestServer } from './support/test-server.js';

const organizationEnv = {
  PROVISIONS_ORG_ID: UNKNOWN_ORGANIZATION_ID,
  PROVISIONS_CLIENT_SECRET: 'client-secret',
  PROVISIONS_KEYSTORE_PASSPHRASE: 'passphrase',
};

let workDir: string;
let manifest: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-output-'));
  manifest = join(workDir, 'recipients.csv');
  await writeFile(manifest, 'email,title,message\nada@example.com,Box,hello\n');
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** Creates a directory and a symbolic link named `linkName` to it, in the work directory. */
async function linkToNewDirectory(linkName: string): Promise<{ link: string; target: string }> {
  const directory = join(workDir, `${linkName}-target`);
  await mkdir(directory);
  const link = join(workDir, linkName);
  await symlink(directory, link);
  return { link, target: await realpath(directory) };
}

/** Runs `send --manifest` with the test manifest and `options`, against the unused server. */
function sendManifestWith(...options: string[]) {
  return runCli(
    [
      'send',
      '--server',
      UNUSED_SERVER,
      '--keystore',
      join(workDir, 'k.json'),
      '--manifest',
      manifest,
      ...options,
    ],
    { env: organizationEnv },
  );
}

function sendWithLinksOut(linksOut: string) {
  return sendManifestWith('--links-out', linksOut);
}

/** Runs `send --to` with `keystore` and `options`, against the unused server. */
function sendToOneWith(keystore: string, ...options: string[]): Promise<CliResult> {
  return runCli(
    [
      'send',
      '--server',
      UNUSED_SERVER,
      '--keystore',
      keystore,
      ...boxOptions('a@example.com', 'T', 'm'),
      ...options,
    ],
    { env: organizationEnv },
  );
}

describe('send --links-out', () => {
  it('rejects a directory before any request', async () => {
    const result = await sendWithLinksOut(workDir);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --links-out: ${workDir} is a directory; expected the path of a file to write\n`,
    );
  });

  it('rejects a link to a directory before any request', async () => {
    const { link, target } = await linkToNewDirectory('links-link.csv');

    const result = await sendWithLinksOut(link);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --links-out: ${link} is a symbolic link to ${target}, which is a directory, not a file to write; name a file in it, such as ${join(target, 'links-link.csv')}, or remove the link\n`,
    );
  });

  it('rejects a link to a device before any request', async () => {
    const link = join(workDir, 'null-link.csv');
    await symlink('/dev/null', link);

    const result = await sendWithLinksOut(link);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --links-out: ${link} is a symbolic link to /dev/null, which is a device, not a file to write; remove the link or choose another path\n`,
    );
  });

  it('rejects a missing directory before any request', async () => {
    const result = await sendWithLinksOut(join(workDir, 'missing', 'links.csv'));

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --links-out: directory ${join(workDir, 'missing')} does not exist; create it first\n`,
    );
  });

  it.each([
    ['the keystore', () => join(workDir, 'k.json'), 'the keystore (--keystore)'],
    ['the manifest', () => manifest, 'the manifest (--manifest)'],
    ['the journal', () => `${manifest}.journal`, 'the journal of this run (--journal)'],
    [
      'a link to the manifest',
      () => join(workDir, 'manifest-link.csv'),
      'the manifest (--manifest)',
    ],
  ])('rejects %s before any request', async (_case, path, role) => {
    await symlink(manifest, join(workDir, 'manifest-link.csv')).catch(() => undefined);

    const result = await sendWithLinksOut(path());

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --links-out: ${path()} is ${role}, which the output would replace; choose another file\n`,
    );
  });

  it.each([
    ['', 'the path is empty; expected the path of a file to write'],
    ['sub/', 'sub/ ends with "/", which names a directory; expected the path of a file to write'],
  ])('rejects the path %j before any request', async (path, problem) => {
    const result = await sendWithLinksOut(path);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`provisions: --links-out: ${problem}\n`);
  });

  it('rejects a loop of symbolic links before any request', async () => {
    const first = join(workDir, 'loop-a.csv');
    await symlink(join(workDir, 'loop-b.csv'), first);
    await symlink(first, join(workDir, 'loop-b.csv'));

    const result = await sendWithLinksOut(first);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --links-out: ${first} leads through a loop of symbolic links (ELOOP): remove a link of the loop or choose another path\n`,
    );
  });

  it('rejects a path under a file before any request', async () => {
    const result = await sendWithLinksOut(join(manifest, 'links.csv'));

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`provisions: --links-out: ${manifest} is a file, not a directory\n`);
  });

  it('rejects a path that cannot be created before any request', async () => {
    // /proc accepts no new files, not even from root, although root passes a permission check.
    const result = await sendWithLinksOut('/proc/links.csv');

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^provisions: --links-out: cannot (create|write in directory) /);
    expect(result.stderr).toContain('/proc');
    expect(result.stderr.split('\n')).toHaveLength(2);
  });

  it('works only with --manifest', async () => {
    const result = await sendToOneWith(
      'k.json',
      '--links-out',
      join(workDir, 'links.csv'),
      '--journal',
      join(workDir, 'j'),
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('provisions: --journal and --links-out work only with --manifest\n');
  });
});

describe('send --journal', () => {
  it('names the missing directory of the journal', async () => {
    const journal = join(workDir, 'missing', 'run.journal');

    const result = await sendManifestWith('--journal', journal);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --journal: directory ${join(workDir, 'missing')} does not exist; create it first\n`,
    );
  });

  it('names a lock file name that is too long', async () => {
    // 251 characters fit in a file name of at most 255 bytes, but `.lock` makes it 256.
    const journal = join(workDir, `${'j'.repeat(243)}.journal`);

    const result = await sendManifestWith('--journal', journal);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --journal: ${journal}.lock is too long a path (ENAMETOOLONG): choose a shorter path\n`,
    );
  });
});

describe('send --keystore', () => {
  it('names the missing directory with --to', async () => {
    const keystore = join(workDir, 'missing', 'k.json');

    const result = await sendToOneWith(keystore);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --keystore: directory ${join(workDir, 'missing')} does not exist; create it first\n`,
    );
  });

  it('rejects a directory as keystore', async () => {
    const directory = join(workDir, 'keystore-directory');
    await mkdir(directory);

    const result = await sendToOneWith(directory);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --keystore: ${directory} is a directory (EISDIR): give the path of a file\n`,
    );
  });

  it('names the missing directory with --manifest', async () => {
    const keystore = join(workDir, 'missing', 'k.json');

    const result = await runCli(
      ['send', '--server', UNUSED_SERVER, '--keystore', keystore, '--manifest', manifest],
      { env: organizationEnv },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --keystore: directory ${join(workDir, 'missing')} does not exist; create it first\n`,
    );
  });
});

/**
 * Maximum run time of the CLI given a named pipe. Opening a pipe blocks until a writer opens it,
 * so a run past this limit counts as blocked.
 */
const NAMED_PIPE_TIME_LIMIT_MS = 10_000;

/** Creates a named pipe in the work directory and returns its path. */
function makeNamedPipe(name: string): string {
  const path = join(workDir, name);
  execFileSync('mkfifo', [path]);
  return path;
}

/**
 * Runs the CLI with `args` and returns its exit code and stderr, with `'blocked'` as the code
 * past the time limit. A blocked run gets SIGKILL because the SIGTERM handler cannot end it.
 */
async function runUnlessBlocked(
  args: string[],
): Promise<{ code: number | string; stderr: string }> {
  const cli: SpawnedCli = spawnCli(args, organizationEnv);
  let timer: NodeJS.Timeout | undefined;
  const blocked = new Promise<'blocked'>((resolve) => {
    timer = setTimeout(() => resolve('blocked'), NAMED_PIPE_TIME_LIMIT_MS);
  });

  const code = await Promise.race([cli.exited, blocked]);
  clearTimeout(timer);
  if (code === 'blocked') {
    cli.child.kill('SIGKILL');
    await cli.exited;
  }
  return { code, stderr: cli.stderr() };
}

describe('named pipe as input file', () => {
  it.each([
    {
      options: '--manifest',
      pipeName: 'manifest-pipe.csv',
      args: (pipe: string) => [
        '--keystore',
        join(workDir, 'pipe-manifest-k.json'),
        '--manifest',
        pipe,
      ],
      expectedStderr: (pipe: string) =>
        `provisions: --manifest: ${pipe} is a named pipe; expected a regular text file\n`,
    },
    {
      options: '--keystore',
      pipeName: 'keystore-pipe.json',
      args: (pipe: string) => ['--keystore', pipe, ...boxOptions('a@example.com', 'T', 'm')],
      expectedStderr: (pipe: string) =>
        `provisions: --keystore: ${pipe} is a named pipe; expected a regular file\n`,
    },
    {
      options: '--keystore with --manifest',
      pipeName: 'manifest-keystore-pipe.json',
      args: (pipe: string) => [
        '--keystore',
        pipe,
        '--manifest',
        manifest,
        '--journal',
        join(workDir, 'keystore-pipe.journal'),
      ],
      expectedStderr: (pipe: string) =>
        `provisions: --keystore: ${pipe} is a named pipe; expected a regular file\n`,
    },
  ])('rejects a named pipe as $options', async ({ pipeName, args, expectedStderr }) => {
    const pipe = makeNamedPipe(pipeName);

    const result = await runUnlessBlocked(['send', '--server', UNUSED_SERVER, ...args(pipe)]);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(expectedStderr(pipe));
  });
});

describe('send --keystore that is not a keystore', () => {
  it('names the given path under a file', async () => {
    const file = join(workDir, 'plain-file');
    await writeFile(file, 'not a directory\n');
    const keystore = join(file, 'k.json');

    const result = await sendToOneWith(keystore);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --keystore: ${keystore} has a file where a directory is expected (ENOTDIR): check each directory of the path\n`,
    );
  });

  it('explains a keystore that is not JSON', async () => {
    const keystore = join(workDir, 'notes.txt');
    await writeFile(keystore, 'shopping list\n');

    const result = await sendToOneWith(keystore);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: keystore ${keystore} is not valid JSON: check the --keystore path, which must name the JSON keystore file that provisions created\n`,
    );
    expect(await readFile(keystore, 'utf8')).toBe('shopping list\n');
  });

  it('explains an empty keystore', async () => {
    const keystore = join(workDir, 'truncated-keystore.json');
    await writeFile(keystore, '');

    const result = await sendToOneWith(keystore);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: keystore ${keystore} is empty: it has no header line, so another program truncated it or provisions did not write it; restore it from a backup, or check the path\n`,
    );
    expect(await readFile(keystore, 'utf8')).toBe('');
  });
});

describe('send --links-out that fails at the end', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });

  afterAll(async () => {
    await server.close();
  });

  it('prints the summary, then one error line', async () => {
    const bigManifest = join(workDir, 'many.csv');
    const rows = Array.from({ length: 40 }, (_, index) => `r${index}@example.com,Box,hello`);
    await writeFile(bigManifest, `email,title,message\n${rows.join('\n')}\n`);
    const linksDirectory = join(workDir, 'links');
    await mkdir(linksDirectory);
    const linksOut = join(linksDirectory, 'links.csv');

    const cli = spawnCli(
      [
        'send',
        '--manifest',
        bigManifest,
        '--keystore',
        join(workDir, 'many.json'),
        '--concurrency',
        '2',
        '--links-out',
        linksOut,
      ],
      serverEnv(server, 'output test passphrase'),
    );
    while ((await countLines(`${bigManifest}.journal`)) < 1) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await rm(linksDirectory, { recursive: true });
    const code = await cli.exited;

    const lines = cli.stderr().trimEnd().split('\n');
    expect(code).toBe(1);
    expect(lines).toContainEqual(expect.stringMatching(/^recipients: 40 of 40 done, 0 failed \(/));
    expect(lines.at(-1)).toBe(
      `provisions: cannot write the links file (--links-out) ${linksOut} (ENOENT): once the file can be written, run the same command again, which writes it; the links are in the keystore, and "provisions keystore export --out FILE" writes them too`,
    );
    expect(lines.filter((line) => line.startsWith('provisions:'))).toHaveLength(1);
  });
});

describe('redeem --out', () => {
  /** Runs `redeem` with `--out OUT` and a link to a server where nothing listens. */
  function redeemTo(out: string): Promise<CliResult> {
    const link = `${UNUSED_SERVER}/join#provision:${Buffer.alloc(33, 7).toString('base64url')}`;
    return runCli(['redeem', link, '--email', 'a@example.com', '--code', '123456', '--out', out]);
  }

  it('rejects an empty path before signing in', async () => {
    const result = await redeemTo('');

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'provisions: --out: the path is empty; expected a directory, which is created if missing\n',
    );
  });

  it('rejects an existing file before signing in', async () => {
    const result = await redeemTo(manifest);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --out: ${manifest} is a file; expected a directory, which is created if missing\n`,
    );
  });

  it('rejects a link to a file before signing in', async () => {
    const link = join(workDir, 'manifest-out-link');
    await symlink(manifest, link);

    const result = await redeemTo(link);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --out: ${link} is a symbolic link to ${await realpath(manifest)}, which is a file, not a directory; remove the link or choose another path\n`,
    );
  });

  it('rejects a link to a missing target before signing in', async () => {
    const link = join(workDir, 'dangling-out-link');
    await symlink('missing-out-target', link);

    const result = await redeemTo(link);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --out: ${link} is a symbolic link to ${join(workDir, 'missing-out-target')}, which does not exist; remove the link or choose another path\n`,
    );
  });

  it('rejects a missing directory under a dangling link', async () => {
    const link = join(workDir, 'dangling-parent-link');
    await symlink('missing-parent-target', link);

    const result = await redeemTo(join(link, 'boxes'));

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --out: ${link}, in ${join(link, 'boxes')}, is a symbolic link to ${join(workDir, 'missing-parent-target')}, which does not exist; remove the link or choose another path\n`,
    );
  });
});

describe('redeem --outbox', () => {
  /** Runs `redeem` with `--outbox OUTBOX` and a link to a server where nothing listens. */
  function redeemWithOutbox(outbox: string): Promise<CliResult> {
    const link = `${UNUSED_SERVER}/join#provision:${Buffer.alloc(33, 7).toString('base64url')}`;
    return runCli(['redeem', link, '--email', 'a@example.com', '--outbox', outbox]);
  }

  it('rejects a missing directory before the code request', async () => {
    const missing = join(workDir, 'no-server-data');

    const result = await redeemWithOutbox(join(missing, 'outbox.jsonl'));

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --outbox: directory ${missing} does not exist; expected the server's data directory, which contains outbox.jsonl\n`,
    );
  });

  it('rejects a directory before the code request', async () => {
    const result = await redeemWithOutbox(workDir);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --outbox: ${workDir} is a directory; expected the outbox file, such as ${join(workDir, 'outbox.jsonl')}\n`,
    );
  });

  it('rejects a path under a file before the code request', async () => {
    const result = await redeemWithOutbox(join(manifest, 'outbox.jsonl'));

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --outbox: ${manifest} is not a directory; expected the server's data directory, which contains outbox.jsonl\n`,
    );
  });

  it('accepts a missing file in a directory', async () => {
    const result = await redeemWithOutbox(join(workDir, 'outbox.jsonl'));

    // The check passes, so the code request fails on the unused server.
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^provisions: cannot reach the server at \S+ \(connection refused\)/,
    );
  });
});

describe('keystore export --out', () => {
  it('rejects the keystore itself before opening it', async () => {
    const keystore = join(workDir, 'export-keystore.json');
    await writeFile(keystore, 'kept as it is');

    const result = await runCli(
      ['keystore', 'export', '--server', UNUSED_SERVER, '--keystore', keystore, '--out', keystore],
      { env: organizationEnv },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --out: ${keystore} is the keystore (--keystore), which the output would replace; choose another file\n`,
    );
    expect(await readFile(keystore, 'utf8')).toBe('kept as it is');
  });

  it('rejects a directory before opening the keystore', async () => {
    const result = await runCli(
      ['keystore', 'export', '--server', UNUSED_SERVER, '--keystore', 'k.json', '--out', workDir],
      { env: organizationEnv },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --out: ${workDir} is a directory; expected the path of a file to write\n`,
    );
  });

  it('rejects a link to a directory before opening the keystore', async () => {
    const { link, target } = await linkToNewDirectory('export-link.json');

    const result = await runCli(
      ['keystore', 'export', '--server', UNUSED_SERVER, '--keystore', 'k.json', '--out', link],
      { env: organizationEnv },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `provisions: --out: ${link} is a symbolic link to ${target}, which is a directory, not a file to write; name a file in it, such as ${join(target, 'export-link.json')}, or remove the link\n`,
    );
  });
});
