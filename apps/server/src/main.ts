#!/usr/bin/env node
import { createRequire } from 'node:module';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Level } from 'pino';
import {
  createOrganization,
  ORGANIZATION_NAME_RULE,
  trimOrganizationName,
} from './create-organization.js';
import { checkDatabaseUrl } from './database/database-url.js';
import { InvalidOptionError } from './errors/invalid-option-error.js';
import { APP_URL_EXAMPLE, isAppUrl } from './http/app-url.js';
import { checkTrustedProxies } from './http/trusted-proxies.js';
import { FILE_DESCRIPTOR_RESERVE, MAX_CONNECTIONS } from './limits.js';
import { startServer } from './server.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const LOG_LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** Exit code of a command that failed, such as a database that cannot be opened. */
const EXIT_FAILURE = 1;

/**
 * Exit code of bad usage: no command, an unknown command or option, an option given twice,
 * or a missing or invalid option value.
 */
const EXIT_USAGE = 2;

/**
 * Formats a usage error that commander reports as one line starting with `provisions-server:`,
 * like every other error of the command. Commander's message, such as
 * "error: unknown option '--prot'", may continue with a suggestion line.
 */
function formatUsageError(message: string): string {
  const text = message
    .replace(/^error: /, '')
    .trim()
    .replace(/\s*\n\s*/g, ' ');
  return `provisions-server: ${text}\n`;
}

/**
 * Wraps the value parser of an option that takes one value, so that giving the option twice
 * is a usage error (exit code 2). Commander alone would keep the last value. The error does
 * not repeat the values, because a `--database-url` may contain a password.
 */
function singleValue<T>(
  flag: string,
  parse: (value: string) => T,
  hint = 'give it once',
): (value: string) => T {
  let hasValue = false;
  return (value) => {
    if (hasValue) {
      program.error(`${flag} was given more than once; ${hint}`, {
        exitCode: EXIT_USAGE,
        code: 'provisions-server.repeatedOption',
      });
    }
    hasValue = true;
    return parse(value);
  };
}

function parseText(value: string): string {
  return value;
}

function parseOrganizationName(value: string): string {
  if (trimOrganizationName(value) === undefined) {
    throw new InvalidArgumentError(`expected ${ORGANIZATION_NAME_RULE}`);
  }
  return value;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^[0-9]+$/.test(value) || port > 65535) {
    throw new InvalidArgumentError('expected an integer from 0 to 65535');
  }
  return port;
}

function parseDataDir(value: string): string {
  if (value === '') {
    throw new InvalidArgumentError('expected a non-empty directory path');
  }
  return value;
}

function parseAppUrl(value: string): string {
  if (!isAppUrl(value)) {
    throw new InvalidArgumentError(`expected an http or https URL such as ${APP_URL_EXAMPLE}`);
  }
  return value;
}

function parseTrustedProxies(value: string): string[] {
  const entries = value.split(',').map((entry) => entry.trim());
  try {
    return checkTrustedProxies(entries, 'entry');
  } catch {
    throw new InvalidArgumentError(
      'expected comma-separated IP addresses or CIDR ranges, such as 127.0.0.1,10.0.0.0/8',
    );
  }
}

function parseMaxConnections(value: string): number {
  const count = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(count) || count < 1) {
    throw new InvalidArgumentError('expected a positive integer');
  }
  return count;
}

function parseLogLevel(value: string): Level {
  const level = LOG_LEVELS.find((candidate) => candidate === value);
  if (level === undefined) {
    throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(', ')}`);
  }
  return level;
}

/**
 * Creates the `--database-url` option, which falls back to the `DATABASE_URL`
 * variable. The URL is checked after parsing, because commander's own message would
 * print it, password included.
 */
function databaseUrlOption(): Option {
  return new Option(
    '--database-url <url>',
    'postgresql:// URL of a PostgreSQL database to use instead of the SQLite file',
  )
    .env('DATABASE_URL')
    .argParser(singleValue('--database-url', parseText));
}

/**
 * Checks the database URL, naming the flag or the variable it came from. An invalid URL
 * is a usage error, reported like commander's own. An empty `DATABASE_URL` counts as unset.
 */
function checkedDatabaseUrl(command: Command): string | undefined {
  const value = command.opts<{ databaseUrl?: string }>().databaseUrl;
  const fromVariable = command.getOptionValueSource('databaseUrl') === 'env';
  // Compose files and shells often set DATABASE_URL= to mean no PostgreSQL.
  if (value === undefined || (fromVariable && value === '')) {
    return undefined;
  }
  const setting = fromVariable ? 'DATABASE_URL' : '--database-url';
  try {
    return checkDatabaseUrl(value, setting);
  } catch (error) {
    if (error instanceof InvalidOptionError) {
      command.error(error.message, { exitCode: EXIT_USAGE, code: error.code });
    }
    throw error;
  }
}

/**
 * Returns an error whose message names the address and the port when `error` is the failure
 * of `listen` on a port that another process uses, and `error` itself otherwise. Node's
 * own message, `listen EADDRINUSE: address already in use …`, names neither option.
 */
function describeListenError(error: unknown, host: string, port: number): unknown {
  const failure = error as NodeJS.ErrnoException | null;
  if (failure?.code !== 'EADDRINUSE' || failure.syscall !== 'listen') {
    return error;
  }
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Error(
    `cannot listen on ${address}: another process already uses this port; stop it, or choose another port with --port`,
    { cause: error },
  );
}

// Commander errors are thrown (exitOverride) so that the last handler below picks the
// exit code. Subcommands copy both settings when they are added, so they come first.
const program = new Command()
  .name('provisions-server')
  .description('Run the crypto provisions API server and manage its organizations.')
  .version(version)
  .exitOverride()
  .configureOutput({ outputError: (message, write) => write(formatUsageError(message)) });

program
  .command('start')
  .description('Start the HTTP API server; JSON logs go to standard output. Stop it with Ctrl-C.')
  .requiredOption(
    '--data-dir <dir>',
    'directory for outbox.jsonl, and for provisions.sqlite without --database-url',
    singleValue('--data-dir', parseDataDir),
  )
  .addOption(databaseUrlOption())
  .option('--host <host>', 'address to listen on', singleValue('--host', parseText), '127.0.0.1')
  .option('--port <port>', 'TCP port; 0 picks a free port', singleValue('--port', parsePort), 8080)
  .option(
    '--app-url <url>',
    'URL of the web app, allowed to call the API from browsers',
    singleValue('--app-url', parseAppUrl),
  )
  .option(
    '--trust-proxy <addresses>',
    'comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For gives the client address',
    singleValue(
      '--trust-proxy',
      parseTrustedProxies,
      'give it once, with the addresses separated by commas',
    ),
  )
  .option(
    '--max-connections <count>',
    `connections kept open at most; default ${MAX_CONNECTIONS}, or the open-file limit minus ${FILE_DESCRIPTOR_RESERVE} if smaller`,
    singleValue('--max-connections', parseMaxConnections),
  )
  .option(
    '--log-level <level>',
    `log level: ${LOG_LEVELS.join(', ')}`,
    singleValue('--log-level', parseLogLevel),
    'info',
  )
  .action(
    async (
      options: {
        dataDir: string;
        host: string;
        port: number;
        appUrl?: string;
        trustProxy?: string[];
        maxConnections?: number;
        logLevel: Level;
      },
      command: Command,
    ) => {
      const server = await startServer({
        dataDir: options.dataDir,
        databaseUrl: checkedDatabaseUrl(command),
        host: options.host,
        port: options.port,
        appUrl: options.appUrl,
        trustedProxies: options.trustProxy,
        maxConnections: options.maxConnections,
        logger: { level: options.logLevel },
      }).catch((error: unknown) => {
        throw describeListenError(error, options.host, options.port);
      });

      const stop = () => {
        server.close().then(
          () => process.exit(0),
          (error: unknown) => {
            process.stderr.write(`provisions-server: failed to stop: ${String(error)}\n`);
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
  );

program
  .command('create-organization')
  .description('Create an organization and print its client credentials as JSON (shown only once).')
  .requiredOption(
    '--data-dir <dir>',
    'data directory of the server',
    singleValue('--data-dir', parseDataDir),
  )
  .requiredOption(
    '--name <name>',
    'display name of the organization',
    singleValue('--name', parseOrganizationName),
  )
  .addOption(databaseUrlOption())
  .action(async (options: { dataDir: string; name: string }, command: Command) => {
    const credentials = await createOrganization({
      dataDir: options.dataDir,
      name: options.name,
      databaseUrl: checkedDatabaseUrl(command),
    });
    process.stdout.write(`${JSON.stringify(credentials, null, 2)}\n`);
  });

/**
 * Parses the arguments and runs the command. With no arguments at all, commander would print
 * the whole help to stderr, so that case gets a one-line usage error like the others.
 */
async function run(args: string[]): Promise<void> {
  if (args.length === 0) {
    program.error(
      'missing command; give start or create-organization, or see provisions-server --help',
      { exitCode: EXIT_USAGE, code: 'provisions-server.missingCommand' },
    );
  }
  await program.parseAsync(args, { from: 'user' });
}

run(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // Help and version end with exit code 0 after writing to stdout. Any other
    // CommanderError is a usage error that commander has already written to stderr.
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`provisions-server: ${message}\n`);
  process.exitCode = EXIT_FAILURE;
});
