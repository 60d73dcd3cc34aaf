#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Level } from 'pino';
import { createOrganization } from './create-organization.js';
import { checkDatabaseUrl } from './database/database-url.js';
import { APP_URL_EXAMPLE, isAppUrl } from './http/app-url.js';
import { checkTrustedProxies } from './http/trusted-proxies.js';
import { startServer } from './server.js';

const LOG_LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

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
  ).env('DATABASE_URL');
}

/** Checks the database URL, naming the flag or the variable it came from. */
function checkedDatabaseUrl(command: Command): string | undefined {
  const value = command.opts<{ databaseUrl?: string }>().databaseUrl;
  if (value === undefined) {
    return undefined;
  }
  const setting =
    command.getOptionValueSource('databaseUrl') === 'env' ? 'DATABASE_URL' : '--database-url';
  return checkDatabaseUrl(value, setting);
}

const program = new Command()
  .name('provisions-server')
  .description('Run the crypto provisions API server and manage its organizations.')
  .showHelpAfterError();

program
  .command('start')
  .description('Start the HTTP API server; JSON logs go to standard output. Stop it with Ctrl-C.')
  .requiredOption(
    '--data-dir <dir>',
    'directory for outbox.jsonl, and for provisions.sqlite without --database-url',
    parseDataDir,
  )
  .addOption(databaseUrlOption())
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--port <port>', 'TCP port; 0 picks a free port', parsePort, 8080)
  .option(
    '--app-url <url>',
    'URL of the web app, allowed to call the API from browsers',
    parseAppUrl,
  )
  .option(
    '--trust-proxy <addresses>',
    'comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For gives the client address',
    parseTrustedProxies,
  )
  .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, parseLogLevel, 'info')
  .action(
    async (
      options: {
        dataDir: string;
        host: string;
        port: number;
        appUrl?: string;
        trustProxy?: string[];
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
        logger: { level: options.logLevel },
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
  .requiredOption('--data-dir <dir>', 'data directory of the server', parseDataDir)
  .requiredOption('--name <name>', 'display name of the organization')
  .addOption(databaseUrlOption())
  .action(async (options: { dataDir: string; name: string }, command: Command) => {
    const credentials = await createOrganization({
      dataDir: options.dataDir,
      name: options.name,
      databaseUrl: checkedDatabaseUrl(command),
    });
    process.stdout.write(`${JSON.stringify(credentials, null, 2)}\n`);
  });

program.parseAsync().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`provisions-server: ${message}\n`);
  process.exitCode = 1;
});
