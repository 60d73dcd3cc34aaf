import { createRequire } from 'node:module';

import { Command } from 'commander';
import { repeatableListOption, singleValueOption } from './command-options.js';
import {
  type KeystoreCommandOptions,
  runKeystoreExport,
  runKeystoreList,
  runKeystoreRevoke,
} from './commands/keystore.js';
import { runRedeem } from './commands/redeem.js';
import { runRevoke } from './commands/revoke.js';
import { runSend } from './commands/send.js';
import { DEFAULT_CONCURRENCY } from './commands/send-manifest.js';
import { KDF_COST_ENV, PASSPHRASE_ENV } from './keystore-access.js';
import type { ServerUrlSource } from './node-http-fetch.js';
import { CLIENT_SECRET_ENV } from './option-values.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const SEND_HELP = `
Environment:
  ${CLIENT_SECRET_ENV}        the organization's client secret (required; there is no flag)
  ${PASSPHRASE_ENV}  the keystore passphrase (else it is asked for on the terminal)
  ${KDF_COST_ENV}    scrypt cost of the keystore as log2 N, 14 to 20 (default 17)

Manifest (--manifest FILE), JSON:
  { "recipients": [ { "email": "ada@example.com",
                      "boxes": [ { "title": "Contract",
                                   "messages": ["...", { "file": "contract.txt" }] } ] } ] }
or CSV (a name ending in .csv), one line per message, grouped into boxes by email and title:
  email,title,message,file
  ada@example.com,Contract,Your contract is ready.,
  ada@example.com,Contract,,contract.txt
Files are read relative to the manifest, as UTF-8 text of at most 262,452 bytes.
A manifest run records its progress in <manifest>.journal: run the same command
again after a failure or a kill and it finishes the work without sending twice.
A new run of content the keystore records as run before, under any file name,
stops with exit code 2 unless --send-again is given.

Exit codes: 0 all sent, 1 error, 2 bad usage or invalid manifest, 3 some recipients failed.

Examples:
  $ provisions send --server https://api.example.com --org-id ORG --keystore keystore.json \\
      --to ada@example.com --title "Contract" --message "Your contract is ready."
  $ provisions send --keystore keystore.json --manifest recipients.json --json`;

/**
 * Default of `demo --data-dir`. It is applied after parsing, not as commander's default, so
 * that the option's parser receives no earlier value unless the option was repeated.
 */
const DEFAULT_DEMO_DATA_DIR = '.demo';

const REDEEM_HELP = `
Any member of a box may post to it. A message that a member posted, rather than the
organization, is printed under "From a member of this box, not from the sender:", with
"|" before each of its lines. In --json, each message has its "sender" as {"type", "id"},
and --out saves a member's message as member-message-NNN.txt, not message-NNN.txt.

Examples:
  $ provisions redeem 'https://app.example.com/join#provision:…' --email ada@example.com
  $ provisions redeem "$LINK" --email ada@example.com --outbox .demo/server/outbox.jsonl --json`;

const DEMO_HELP = `
The demo starts a server in this process, sends the boxes of examples/manifest.json,
and opens them as each recipient. Run it twice: the second run's boxes reuse each
recipient's link, and opening the link shows the boxes of both runs. Each person's
session is saved in <data-dir>/sessions, so later runs need no new sign-in codes.`;

const KEYSTORE_READ_HELP = `
The keystore file records its server and organization, and they are used when
--server and --org-id (or PROVISIONS_SERVER and PROVISIONS_ORG_ID) are not set.
A value that is set must match the keystore's, or the command stops with exit code 2.`;

/**
 * Adds to the options of a keystore command whether `--server` and `--org-id` came from the
 * command line or from their environment variables, so that an error can name the one to
 * change.
 */
function withOptionSources(options: KeystoreCommandOptions, command: Command) {
  return {
    ...withServerSource(options, command),
    orgIdSource: command.getOptionValueSource('orgId'),
  };
}

/**
 * Formats a usage error that commander reports, such as "error: unknown option '--jsn'"
 * followed by a suggestion line, as one line starting with `provisions:` like every other
 * error of the CLI.
 */
function formatUsageError(message: string): string {
  const text = message
    .replace(/^error: /, '')
    .trim()
    .replace(/\s*\n\s*/g, ' ');
  return `provisions: ${text}\n`;
}

/**
 * Returns the options of a command with `serverSource`: whether commander took the `--server`
 * value from the option or from its environment variable, for the errors that name it.
 */
function withServerSource<T extends object>(
  options: T,
  command: Command,
): T & { serverSource: ServerUrlSource } {
  const fromVariable = command.getOptionValueSource('server') === 'env';
  return { ...options, serverSource: fromVariable ? 'PROVISIONS_SERVER' : '--server' };
}

/**
 * Builds the `provisions` command with its `send`, `redeem` and `demo`
 * subcommands. Commander errors are thrown (exitOverride) so the caller
 * chooses the exit code.
 */
export function createProgram(): Command {
  const program = new Command('provisions')
    .description(
      'Send end-to-end encrypted boxes to people without an account, and open them with an invitation link.',
    )
    .version(version)
    .exitOverride()
    .showSuggestionAfterError()
    // Subcommands copy this setting when they are added, so it comes before them.
    .configureOutput({ outputError: (message, write) => write(formatUsageError(message)) });

  program
    .command('send')
    .description(
      'Create boxes for recipients and record each invitation link in the keystore (print them with --print-links).',
    )
    .addOption(singleValueOption('--server <url>', 'API server URL').env('PROVISIONS_SERVER'))
    .addOption(
      singleValueOption('--org-id <id>', 'organization id (the OAuth client id)').env(
        'PROVISIONS_ORG_ID',
      ),
    )
    .addOption(
      singleValueOption(
        '--keystore <path>',
        "file of the organization's key shares, created if missing",
      ).env('PROVISIONS_KEYSTORE'),
    )
    .addOption(
      singleValueOption(
        '--app-url <url>',
        'URL of the app the links point to (default: the server URL)',
      ),
    )
    .addOption(
      singleValueOption(
        '--to <email>',
        'recipient email address, for a single box',
        'send --to sends one box to one person, so use --manifest FILE for several people',
      ),
    )
    .addOption(singleValueOption('--title <title>', 'title of the box sent with --to'))
    .addOption(
      repeatableListOption(
        '--message <text...>',
        'messages of the box sent with --to, one per text; may be repeated',
      ),
    )
    .addOption(
      singleValueOption(
        '--manifest <file>',
        'CSV or JSON file of recipients, boxes and messages (format below)',
      ),
    )
    .addOption(
      singleValueOption(
        '--concurrency <n>',
        `recipients sent at the same time with --manifest, 1 to 64 (default ${DEFAULT_CONCURRENCY})`,
      ),
    )
    .addOption(
      singleValueOption(
        '--journal <file>',
        'journal of a --manifest run (default: <manifest>.journal)',
      ),
    )
    .option(
      '--send-again',
      'start a new --manifest run even if the keystore records a run of the same content, which sends every recipient new boxes',
    )
    .option(
      '--print-links',
      'print the links on stdout ("email,link" CSV lines with --manifest, as recipients finish)',
    )
    .addOption(
      singleValueOption(
        '--links-out <file>',
        'write "email,link" CSV to this file (mode 0600) at the end',
      ),
    )
    .option(
      '--email-links',
      'email each recipient their link over SMTP (SMTP_URL or SMTP_HOST/PORT/USER/PASS, SMTP_FROM)',
    )
    .option('--json', 'print one JSON summary on stdout, links included')
    .addHelpText('after', SEND_HELP)
    .action((options, command: Command) => runSend(withServerSource(options, command)));

  program
    .command('redeem')
    .description('Sign in as the recipient of an invitation link and print the boxes it opens.')
    .argument(
      '<link>',
      'the invitation link, {app URL}/join#provision:{key share}, or - to read it from standard input, which keeps it out of the process list and shell history',
    )
    .addOption(singleValueOption('--email <email>', 'the email address the link was sent to'))
    .addOption(
      singleValueOption('--server <url>', 'API server URL (default: the origin of the link)'),
    )
    .addOption(
      singleValueOption(
        '--code <digits>',
        'the sign-in code from the email (else it is requested)',
      ),
    )
    .addOption(
      singleValueOption(
        '--outbox <file>',
        "development only: read the code from the server's outbox.jsonl",
      ),
    )
    .addOption(
      singleValueOption(
        '--out <dir>',
        "save each box in <dir>/<box id>/ (title.txt, message-001.txt, …, a member's messages as member-message-NNN.txt; mode 0600)",
      ),
    )
    .option('--json', 'print one JSON summary on stdout')
    .addHelpText('after', REDEEM_HELP)
    .action((link, options) => runRedeem(link, options));

  program
    .command('revoke')
    .description('Revoke a provision so its invitation link stops working.')
    .argument('<public-key>', 'the provision public key (43 base64url characters)')
    .addOption(singleValueOption('--server <url>', 'API server URL').env('PROVISIONS_SERVER'))
    .addOption(
      singleValueOption('--org-id <id>', 'organization id (the OAuth client id)').env(
        'PROVISIONS_ORG_ID',
      ),
    )
    .addOption(
      singleValueOption(
        '--keystore <path>',
        "file of the organization's key shares; its entry of this provision is removed",
      ).env('PROVISIONS_KEYSTORE'),
    )
    .option('--json', 'print one JSON summary on stdout')
    // A base64url public key can start with "-". Commander would take it for an unknown
    // option, so unknown options are passed on as the argument, which runRevoke checks.
    .allowUnknownOption()
    .action((publicKey, options, command: Command) =>
      runRevoke(publicKey, withServerSource(options, command)),
    );

  const keystoreCommand = program
    .command('keystore')
    .description("List, export or revoke the organization's provisions kept in the keystore.");
  // `list` and `export` only read the keystore, so they take the server and organization from
  // its header when none is given. `revoke` sends the client secret, so it needs both given.
  const keystoreOptions = (command: Command, defaults: 'from-keystore' | 'none'): Command => {
    const fromKeystore = defaults === 'from-keystore' ? ' (default: from the keystore)' : '';
    return command
      .addOption(
        singleValueOption('--server <url>', `API server URL${fromKeystore}`).env(
          'PROVISIONS_SERVER',
        ),
      )
      .addOption(
        singleValueOption(
          '--org-id <id>',
          `organization id (the OAuth client id)${fromKeystore}`,
        ).env('PROVISIONS_ORG_ID'),
      )
      .addOption(
        singleValueOption('--keystore <path>', "file of the organization's key shares").env(
          'PROVISIONS_KEYSTORE',
        ),
      );
  };
  keystoreOptions(
    keystoreCommand
      .command('list')
      .description('List the recipients, provision public keys and dates; no link or share.')
      .option('--json', 'print one JSON document on stdout')
      .addHelpText('after', KEYSTORE_READ_HELP),
    'from-keystore',
  ).action((options, command: Command) => runKeystoreList(withOptionSources(options, command)));
  keystoreOptions(
    keystoreCommand
      .command('export')
      .description('Write every link as "email,link" CSV, to a file (mode 0600) or stdout.')
      .addOption(singleValueOption('--out <file>', 'write the CSV to this file, mode 0600'))
      .option('--stdout', 'print the CSV on stdout')
      .addOption(
        singleValueOption(
          '--app-url <url>',
          'URL of the app the links point to (default: the server URL)',
        ),
      )
      .addHelpText('after', KEYSTORE_READ_HELP),
    'from-keystore',
  ).action((options, command: Command) => runKeystoreExport(withOptionSources(options, command)));
  keystoreOptions(
    keystoreCommand
      .command('revoke')
      .description("Revoke a recipient's provision on the server and remove it from the keystore.")
      .argument('<email>', 'the recipient email address')
      .option('--json', 'print one JSON summary on stdout'),
    'none',
  ).action((email, options, command: Command) =>
    runKeystoreRevoke(email, withServerSource(options, command)),
  );

  program
    .command('demo')
    .description('Run the whole flow against a local server: send, then open as each recipient.')
    .addOption(
      singleValueOption(
        '--data-dir <dir>',
        `directory for the server and the demo state (default: ${DEFAULT_DEMO_DATA_DIR})`,
      ),
    )
    .option('--fresh', 'delete the contents of the data directory first')
    .option('--json', 'print one JSON summary on stdout')
    .addHelpText('after', DEMO_HELP)
    .action(async (options) => {
      // Loaded on use: the demo pulls in the whole server (Fastify, SQLite),
      // which the other commands do not need.
      const { runDemo } = await import('./commands/demo.js');
      await runDemo({ ...options, dataDir: options.dataDir ?? DEFAULT_DEMO_DATA_DIR });
    });

  return program;
}
