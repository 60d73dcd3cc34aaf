import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** A `provisions-server start` process, with the JSON log lines it printed so far. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Resolves with the exit code, or null when a signal ended the process. */
  exited: Promise<number | null>;
  /** Returns the log lines printed so far, parsed. */
  logLines(): Record<string, unknown>[];
  /** Returns everything printed on standard error so far. */
  stderr(): string;
}

/**
 * Starts the built `provisions-server start` on a free port, logging at info level,
 * and waits for its listening line.
 */
export async function startServerProcess(options: {
  dataDir: string;
  databaseUrl: string | undefined;
}): Promise<ServerProcess> {
  const args = [MAIN, 'start', '--data-dir', options.dataDir, '--port', '0', '--log-level', 'info'];
  if (options.databaseUrl !== undefined) {
    args.push('--database-url', options.databaseUrl);
  }
  const env = { ...process.env };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (match?.[1] !== undefined) {
        resolve(match[1]);
      }
    });
    child.once('exit', (code) =>
      reject(new Error(`server exited with ${code} before listening: ${stderr}`)),
    );
  });

  return {
    child,
    url,
    exited,
    logLines: () =>
      stdout
        .split('\n')
        // The last element is empty or a line still being written.
        .slice(0, -1)
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    stderr: () => stderr,
  };
}
