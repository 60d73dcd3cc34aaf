import { type ChildProcess, spawn, spawnSync } from 'node:child_process';

import { CLI_PATH, TEST_KDF_COST } from './run-cli.js';

/** True when util-linux `script`, which runs a command in a pseudo-terminal, is installed. */
export const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0;

/** A CLI process attached to a pseudo-terminal, and what it printed there so far. */
export interface TerminalCli {
  child: ChildProcess;
  /** Everything written to the terminal: stdout and stderr together. */
  output: () => string;
  /** Resolves once the terminal shows `text`, or rejects after `timeoutMs`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** Types `line` and Enter. */
  type(line: string): void;
  /** Types Ctrl-C, which a terminal in raw mode passes to the program as the byte 0x03. */
  interrupt(): void;
  /** Resolves with the exit code. */
  exited: Promise<number>;
}

/**
 * Starts `node dist/main.js ...args` in a pseudo-terminal through `script -qfec`, so that
 * stdin and stderr are terminals and the CLI prompts. The environment holds only PATH,
 * the test scrypt cost and `env`.
 */
export function runInTerminal(args: string[], env: Record<string, string>): TerminalCli {
  const command = [process.execPath, CLI_PATH, ...args].map(quoteForShell).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { PATH: process.env.PATH ?? '', PROVISIONS_KEYSTORE_KDF_COST: TEST_KDF_COST, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });

  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const exited = new Promise<number>((resolve) => {
    child.on('close', (code) => resolve(code ?? -1));
  });

  return {
    child,
    output: () => output,
    async waitFor(text, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!output.includes(text)) {
        if (Date.now() > deadline) {
          throw new Error(
            `the terminal did not show ${JSON.stringify(text)}; it shows ${JSON.stringify(output)}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    type(line) {
      child.stdin?.write(`${line}\r`);
    },
    interrupt() {
      child.stdin?.write('\x03');
    },
    exited,
  };
}

function quoteForShell(argument: string): string {
  return `'${argument.replaceAll("'", "'\\''")}'`;
}
