// Options of the benchmark scripts, from the environment, and where they run.
//
// The speed targets are for one core. On Linux, a benchmark script awaits pinToOneCore()
// first, which runs the script again under `taskset`, pinned to one CPU, and exits with
// its status. X25519 through WebCrypto runs on worker threads (libuv's thread pool in
// Node.js, Chromium's own threads in the browser). On one core such a job runs as soon as
// the JavaScript thread waits, instead of waking a thread on another core and then the
// JavaScript thread again. BENCH_CPU picks the CPU (0 unless set), and BENCH_CPU=all runs
// on every CPU. Child processes, such as a browser, inherit the pinning.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

// Set in the pinned run, so that it does not pin itself again.
const PINNED_VARIABLE = 'BENCH_PINNED';

/** Exits with a message naming an environment variable and what it should be. */
export function exitWithUsage(message) {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

/**
 * Reads a whole number from 1 to `max` from the environment variable `name`, or returns
 * `fallback` when it is unset. `unit` completes the message, such as `milliseconds`.
 */
export function wholeNumberFromEnv(name, { fallback, max, unit }) {
  const text = process.env[name];
  if (text === undefined) {
    return fallback;
  }
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > max) {
    exitWithUsage(`${name} must be a whole number of ${unit} from 1 to ${max}, received "${text}"`);
  }
  return value;
}

/** Returns whether BENCH_VERBOSE requests one line per cell: set, and neither empty nor 0. */
export function verboseFromEnv() {
  const text = process.env.BENCH_VERBOSE;
  return text !== undefined && text !== '' && text !== '0';
}

function chosenCpu() {
  const text = process.env.BENCH_CPU ?? '0';
  const count = cpus().length;
  if (!/^\d+$/.test(text) || Number(text) >= count) {
    exitWithUsage(
      `BENCH_CPU must be one CPU number from 0 to ${count - 1}, or "all" to run on every CPU; received "${text}"`,
    );
  }
  return text;
}

/**
 * Runs `script` (the caller's own file) again pinned to one CPU, forwards SIGINT and
 * SIGTERM to that run, and exits with its status. Returns at once when the script already
 * runs pinned, when BENCH_CPU is `all`, or when the system is not Linux. When `taskset`
 * is not installed, it prints a warning on stderr and returns, so the caller runs on every CPU.
 */
export async function pinToOneCore(script) {
  if (
    process.platform !== 'linux' ||
    process.env[PINNED_VARIABLE] !== undefined ||
    process.env.BENCH_CPU === 'all'
  ) {
    return;
  }

  const cpu = chosenCpu();
  const child = spawn(
    'taskset',
    ['--cpu-list', cpu, process.execPath, ...process.execArgv, script, ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, [PINNED_VARIABLE]: '1' } },
  );
  const forward = (signal) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);

  const outcome = await new Promise((resolve) => {
    child.once('error', (error) => resolve({ error }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  if (outcome.error?.code === 'ENOENT') {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
    process.stderr.write(
      'taskset not found, so the benchmark runs on every CPU; install util-linux to pin it\n',
    );
    return;
  }
  if (outcome.error !== undefined) {
    exitWithUsage(
      `failed to run taskset: ${outcome.error.message}; set BENCH_CPU=all to run unpinned`,
    );
  }
  if (outcome.signal !== null && outcome.signal !== undefined) {
    process.stderr.write(`the pinned benchmark was stopped by ${outcome.signal}\n`);
    process.exit(1);
  }
  process.exit(outcome.code ?? 1);
}

/**
 * Describes the CPUs this process may run on, as Linux reports them, such as
 * `pinned to CPU 0` or `CPUs 0-1`; elsewhere `all N CPUs`.
 */
export function coreDescription() {
  let allowed;
  try {
    allowed = readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(\S+)/m)?.[1];
  } catch {
    allowed = undefined;
  }
  if (allowed === undefined) {
    return `all ${cpus().length} CPUs`;
  }
  return /^\d+$/.test(allowed) ? `pinned to CPU ${allowed}` : `CPUs ${allowed}`;
}

/** Exits with a message unless the package has been built into `dist/`. */
export function requireBuild() {
  if (!existsSync(new URL('../dist/index.js', import.meta.url))) {
    exitWithUsage(
      'dist/index.js is missing: build the package first (pnpm --filter @provisions/crypto build)',
    );
  }
}
