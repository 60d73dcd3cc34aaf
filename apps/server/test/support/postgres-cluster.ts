import { execFile } from 'node:child_process';
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

/**
 * Global setup of the `postgres` test project: a throwaway PostgreSQL cluster in a
 * temporary directory, listening on 127.0.0.1 and a free port, with trust
 * authentication and no fsync. Its URL is provided to the tests as
 * `postgresAdminUrl`; the teardown stops the cluster and deletes the directory.
 *
 * The binaries come from `PG_BIN_DIR`, else the newest
 * `/usr/lib/postgresql/<version>/bin` (Debian's layout). PostgreSQL refuses to run
 * as root, so as root the commands run as the `postgres` system user through
 * `runuser`, and that user owns the directory.
 */

const run = promisify(execFile);
const DATABASE_USER = 'provisions';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const binDir = await findBinDir();
  const directory = await mkdtemp(join(tmpdir(), 'provisions-postgres-'));
  const dataDir = join(directory, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: group } = await run('id', ['-g', 'postgres']);
    await chown(directory, Number(stdout.trim()), Number(group.trim()));
  }

  const postgres = (command: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(binDir, command), ...args])
      : run(join(binDir, command), args);

  await postgres('initdb', [
    '--pgdata',
    dataDir,
    '--username',
    DATABASE_USER,
    '--auth',
    'trust',
    '--encoding',
    'UTF8',
    '--no-sync',
  ]);
  const port = await freePort();
  const settings = [
    '-c listen_addresses=127.0.0.1',
    `-c port=${port}`,
    `-c unix_socket_directories=${directory}`,
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=300',
  ].join(' ');
  await postgres('pg_ctl', [
    'start',
    '--pgdata',
    dataDir,
    '--wait',
    '--log',
    join(directory, 'postgres.log'),
    '--options',
    settings,
  ]);

  project.provide('postgresAdminUrl', `postgresql://${DATABASE_USER}@127.0.0.1:${port}/postgres`);

  return async () => {
    await postgres('pg_ctl', ['stop', '--pgdata', dataDir, '--mode', 'immediate', '--wait']);
    await rm(directory, { recursive: true, force: true });
  };
}

async function findBinDir(): Promise<string> {
  if (process.env.PG_BIN_DIR !== undefined) {
    return process.env.PG_BIN_DIR;
  }
  const root = '/usr/lib/postgresql';
  const versions = await readdir(root).catch(() => [] as string[]);
  const newest = versions
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a))[0];
  if (newest === undefined) {
    throw new Error(
      `no PostgreSQL in ${root}; install Debian's postgresql package or set PG_BIN_DIR`,
    );
  }
  return join(root, newest, 'bin');
}

/** Finds a free TCP port on 127.0.0.1 by binding port 0 and closing it again. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') {
    throw new Error('could not read the port of a test listener');
  }
  return address.port;
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAdminUrl: string;
  }
}
