import { isApiError, normalizeEmail } from '@provisions/api';
import {
  formatInvitationLink,
  KeystoreError,
  type ProvisionKeystoreEntry,
  revokeProvision,
} from '@provisions/core';
import type { FileKeystore } from '@provisions/core/keystore';
import { decodeBase64Url, SHARE_LENGTH } from '@provisions/crypto';

import { CliError, EXIT_USAGE, FileWriteError, usageError } from '../cli-error.js';
import { keystorePassphrase, loadKeystoreOwner, openKeystore } from '../keystore-access.js';
import { formatLinksCsv, writeLinksFile } from '../links-file.js';
import type { NodeHttpFetchOptions, ServerUrlSource } from '../node-http-fetch.js';
import {
  requireClientSecret,
  requireHttpUrl,
  requireOrganizationId,
  requireOrganizationTarget,
  requireValue,
} from '../option-values.js';
import { withOrganization } from '../organization-session.js';
import {
  formatCount,
  printJson,
  printLines,
  printNotice,
  printText,
  requireOpenStdout,
} from '../output.js';
import { checkOutputFile } from '../output-path.js';

/** Options shared by the `provisions keystore` subcommands, as commander parses them. */
export interface KeystoreCommandOptions {
  server?: string;
  orgId?: string;
  /** Commander's source of `orgId`: `env` for PROVISIONS_ORG_ID, `cli` for the option. */
  orgIdSource?: string | undefined;
  keystore?: string;
  appUrl?: string;
  out?: string;
  stdout?: boolean;
  json?: boolean;
  /** The source of `server`, as commander read it. */
  serverSource?: ServerUrlSource;
}

/**
 * Returns the keystore's entries sorted by email, so that list and export print the
 * same order on every run: a manifest send stores entries in the order its
 * concurrent recipients finish.
 */
function entriesByEmail(keystore: FileKeystore): ReturnType<FileKeystore['list']> {
  // Emails are the keystore's keys, so no two are equal.
  return keystore.list().sort(([first], [second]) => compareCodeUnits(first, second));
}

/** Compares two strings by UTF-16 code units, the order of `<`, for a stable listing order. */
function compareCodeUnits(first: string, second: string): number {
  if (first === second) {
    return 0;
  }
  return first < second ? -1 : 1;
}

/**
 * Returns whether an entry still contains the server's key share. A `send --manifest` run keeps
 * it from before the request that creates the provision until the recipient is done, so the
 * server may not have such a provision, and its link may never open anything.
 *
 * NOTE: `send --to` stores no server share, so an entry whose `send --to` stopped before its
 * request is not recognized as pending.
 */
function isPending(entry: ProvisionKeystoreEntry): boolean {
  return entry.misakey_key_share !== undefined;
}

/**
 * Runs `provisions keystore list`: one line per entry (email, provision public key, date, and
 * `pending` for an entry whose run has not finished), then one per recorded revocation. It
 * prints no share.
 */
export async function runKeystoreList(options: KeystoreCommandOptions): Promise<void> {
  requireOpenStdout('the keystore entries');
  const target = await targetFromKeystore(options);
  await withKeystore(target, async (keystore) => {
    const entries = entriesByEmail(keystore).map(([email, entry]) => ({
      email,
      provision_public_key: entry.public_key,
      created_at: entry.created_at,
      pending: isPending(entry),
    }));
    const revocations = keystore
      .listRevocations()
      .map((revocation) => ({
        email: revocation.email,
        provision_public_key: revocation.public_key,
        revoked_at: revocation.revoked_at,
      }))
      .sort(
        (first, second) =>
          compareCodeUnits(first.email, second.email) ||
          compareCodeUnits(first.revoked_at, second.revoked_at),
      );

    const unwritten = 'the keystore entries were not listed';
    if (options.json === true) {
      printJson({ entries, revocations }, unwritten);
      return;
    }
    printLines(
      [
        ...entries.map(
          (entry) =>
            `${entry.email}  ${entry.provision_public_key}  ${entry.created_at}${entry.pending ? '  pending' : ''}`,
        ),
        ...revocations.map(
          (revocation) =>
            `${revocation.email}  ${revocation.provision_public_key}  revoked ${revocation.revoked_at}`,
        ),
      ],
      unwritten,
    );
    const pending = entries.filter((entry) => entry.pending).length;
    const countedEntries = `${formatCount(entries.length, 'entry', 'entries')}${pending === 0 ? '' : ` (${pending} pending)`}`;
    const counted =
      revocations.length === 0
        ? countedEntries
        : `${countedEntries} and ${formatCount(revocations.length, 'revocation', 'revocations')}`;
    printNotice(`${counted} in ${keystore.path}`);
  });
}

/**
 * Runs `provisions keystore export`: the links of every entry as `email,link`
 * CSV, to a file with mode 0600 (`--out FILE`) or to stdout (`--stdout`).
 * It refuses to run without one of them, so links never reach a terminal by accident.
 * Pending entries ({@link isPending}) are left out, with a notice that names them.
 */
export async function runKeystoreExport(options: KeystoreCommandOptions): Promise<void> {
  if (options.out === undefined && options.stdout !== true) {
    throw usageError('missing --out FILE (written with mode 0600) or --stdout; give one of them');
  }
  if (options.out !== undefined && options.stdout === true) {
    throw usageError('give either --out FILE (written with mode 0600) or --stdout, not both');
  }
  if (options.out !== undefined) {
    const keystore =
      options.keystore === undefined
        ? []
        : [{ path: options.keystore, role: 'the keystore (--keystore)' }];
    await checkOutputFile(options.out, '--out', keystore);
  } else {
    requireOpenStdout('the links (--stdout)');
  }

  const target = await targetFromKeystore(options);
  const appUrl = linkAddress(options.appUrl, target);
  await withKeystore(target, async (keystore) => {
    const entries = entriesByEmail(keystore);
    const pending = entries.filter(([, entry]) => isPending(entry)).map(([email]) => email);
    const links = entries.flatMap(([email, entry]) => {
      if (isPending(entry)) {
        return [];
      }
      const share = decodeBase64Url(entry.user_key_share, {
        length: SHARE_LENGTH,
        name: 'user_key_share',
      });
      try {
        return [{ email, link: formatInvitationLink(appUrl, share) }];
      } finally {
        share.fill(0);
      }
    });

    if (options.out !== undefined) {
      try {
        await writeLinksFile(options.out, links);
      } catch (error) {
        throw new FileWriteError('the links file (--out)', options.out, error);
      }
      printNotice(
        `${formatCount(links.length, 'link', 'links')} written to ${options.out} (mode 0600)`,
      );
    } else {
      printText(
        formatLinksCsv(links),
        'the links were not written; run the command again with --out FILE to write them to a file',
      );
    }
    if (pending.length > 0) {
      printNotice(`provisions: ${describeLeftOut(pending)}`);
    }
  });
}

/** Largest number of left-out emails that the export notice names. */
const NAMED_PENDING_EMAILS = 3;

/** Returns the sentence that names the pending entries export left out, and what to do. */
function describeLeftOut(emails: readonly string[]): string {
  const single = emails.length === 1;
  const named = emails.slice(0, NAMED_PENDING_EMAILS).join(', ');
  const more = emails.length - NAMED_PENDING_EMAILS;
  const names = more > 0 ? `${named} and ${more} more` : named;
  const provision = single ? 'its provision' : 'their provisions';
  const that = single ? 'that provision' : 'those provisions';

  return `${formatCount(emails.length, 'entry', 'entries')} left out because the send --manifest run that created ${provision} has not finished, so the server may not have ${that}: ${names}. Run that send command again to finish it, then export again; "provisions keystore list" marks such entries as pending`;
}

/**
 * Runs `provisions keystore revoke EMAIL`: revokes the recipient's provision
 * on the server, so the link stops working, then removes the entry. A
 * provision the server no longer has (already revoked) only loses its entry.
 *
 * @param transportOptions - options of the HTTP client for the API server, such as a
 *   shorter request timeout in tests.
 */
export async function runKeystoreRevoke(
  email: string,
  options: KeystoreCommandOptions,
  transportOptions: NodeHttpFetchOptions = {},
): Promise<void> {
  const recipient = normalizeEmail(email);
  const clientSecret = requireClientSecret();
  requireOpenStdout('the result');

  const { server, organizationId } = requireOrganizationTarget(options);
  const path = requireValue(options.keystore, '--keystore or PROVISIONS_KEYSTORE');
  await withKeystore({ path, server, organizationId }, async (keystore) => {
    const entry = await keystore.get(recipient);
    if (entry === undefined) {
      reportEarlierRevocation(keystore, recipient, options.json === true);
      return;
    }

    let alreadyRevoked = false;
    try {
      await withOrganization(
        { server, organizationId, clientSecret, serverSource: options.serverSource },
        transportOptions,
        (organization) => revokeProvision({ organization, publicKey: entry.public_key }),
      );
    } catch (error) {
      if (!isApiError(error) || error.status !== 404) {
        throw error;
      }
      alreadyRevoked = true;
    }
    // Kept as a revocation, so a later run of a manifest reports this recipient as revoked.
    await keystore.recordRevocation(recipient);

    const unwritten = `the provision of ${recipient} was revoked and removed from the keystore, but the result was not printed`;
    if (options.json === true) {
      printJson(
        {
          email: recipient,
          revoked: entry.public_key,
          already_revoked: alreadyRevoked,
          removed_from_keystore: recipient,
        },
        unwritten,
      );
      return;
    }
    printLines(
      [
        alreadyRevoked
          ? `${recipient}: the server had no active provision ${entry.public_key}; the entry was removed from the keystore.`
          : `${recipient}: provision ${entry.public_key} revoked and removed from the keystore; the next send creates a new link.`,
      ],
      unwritten,
    );
  });
}

/**
 * Prints the revocation that the keystore recorded for `email`, which has no entry left, as
 * success (exit code 0), since the provision is revoked as requested.
 *
 * @throws CliError (exit code 1) when the keystore has no revocation for `email` either.
 */
function reportEarlierRevocation(keystore: FileKeystore, email: string, json: boolean): void {
  const revocation = keystore.getLatestRevocationOf(email);
  if (revocation === undefined) {
    throw new CliError(
      `the keystore ${keystore.path} has no entry and no revocation for ${email}; check the address with "provisions keystore list"`,
    );
  }

  const unwritten = `the provision of ${email} was already revoked, but this was not printed`;
  if (json) {
    printJson(
      {
        email,
        revoked: revocation.public_key,
        already_revoked: true,
        removed_from_keystore: null,
      },
      unwritten,
    );
    return;
  }
  printLines(
    [
      `${email}: provision ${revocation.public_key} was already revoked at ${revocation.revoked_at}, and the keystore has no entry to remove; the next send creates a new link.`,
    ],
    unwritten,
  );
}

/** The keystore file, and the organization and server to open it for. */
interface KeystoreTarget {
  path: string;
  server: string;
  organizationId: string;
}

/**
 * Returns the keystore path with the organization and server that its header records, for the
 * commands that only read the keystore. `--server` and `--org-id` (or their environment
 * variables) may still be given, and must then match the header.
 *
 * @throws CliError (exit code 2) for a malformed or missing option, a value that does not match
 *   the header, or a keystore file that does not exist.
 */
async function targetFromKeystore(options: KeystoreCommandOptions): Promise<KeystoreTarget> {
  // The values given are checked before the file is read, so a malformed one is reported as such.
  const givenServer =
    options.server === undefined
      ? undefined
      : requireHttpUrl(requireValue(options.server, '--server or PROVISIONS_SERVER'), '--server');
  const givenOrganizationId =
    options.orgId === undefined ? undefined : requireOrganizationId(options.orgId);
  const path = requireValue(options.keystore, '--keystore or PROVISIONS_KEYSTORE');

  const owner = await withNotFoundAsUsageError(path, () => loadKeystoreOwner(path));
  if (!URL.canParse(owner.serverUrl)) {
    throw new CliError(
      `keystore ${path}: server_url: expected a URL; the file was modified or damaged, restore it from a backup`,
    );
  }
  // Written the way core and requireHttpUrl write server URLs: no trailing slash.
  const server = new URL(owner.serverUrl).href.replace(/\/+$/, '');
  if (givenServer !== undefined && givenServer !== server) {
    const { name, remedy } = describeSource(
      '--server',
      'PROVISIONS_SERVER',
      options.serverSource === 'PROVISIONS_SERVER' ? 'env' : 'cli',
    );
    throw usageError(
      `${name} ${givenServer} does not match keystore ${path}, which belongs to server ${server}: ${remedy} to use the keystore's server, or give the keystore of ${givenServer}`,
    );
  }
  // The server compares organization ids without regard to case, as requireOrganizationId does.
  if (
    givenOrganizationId !== undefined &&
    givenOrganizationId.toLowerCase() !== owner.organizationId.toLowerCase()
  ) {
    const { name, remedy } = describeSource('--org-id', 'PROVISIONS_ORG_ID', options.orgIdSource);
    throw usageError(
      `${name} ${givenOrganizationId} does not match keystore ${path}, which belongs to organization ${owner.organizationId}: ${remedy} to use the keystore's organization, or give the keystore of organization ${givenOrganizationId}`,
    );
  }
  return { path, server, organizationId: owner.organizationId };
}

/**
 * Returns how an error names a value, by the option or by its environment variable after
 * commander's `source`, and how to drop that value.
 */
function describeSource(
  option: string,
  variable: string,
  source: string | undefined,
): { name: string; remedy: string } {
  return source === 'env'
    ? { name: variable, remedy: `unset ${variable}` }
    : { name: option, remedy: `leave out ${option}` };
}

/**
 * Returns the address that `keystore export` starts the links with: `--app-url`, else the
 * keystore's server.
 *
 * @throws CliError (exit code 2) for an `--app-url` that is not an http or https URL, or for a
 *   keystore whose server is not one, such as the demo's, which names its data directory.
 */
function linkAddress(appUrl: string | undefined, target: KeystoreTarget): string {
  if (appUrl !== undefined) {
    return requireHttpUrl(appUrl, '--app-url');
  }
  const { protocol } = new URL(target.server);
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw usageError(
      `keystore ${target.path} belongs to server ${target.server}, which is not an http or https URL, so the links cannot start with it: give their address with --app-url URL`,
    );
  }
  return requireHttpUrl(target.server, '--app-url');
}

async function withKeystore(
  target: KeystoreTarget,
  action: (keystore: FileKeystore) => Promise<void>,
): Promise<void> {
  const { path, server, organizationId } = target;

  // Without mustExist, FileKeystore.open would open a missing file as an empty keystore, as
  // `send` needs, and these commands would list nothing for a mistyped path.
  const keystore = await withNotFoundAsUsageError(path, () =>
    openKeystore({
      path,
      passphrase: keystorePassphrase(),
      organizationId,
      serverUrl: server,
      mustExist: true,
    }),
  );

  try {
    await action(keystore);
  } finally {
    await keystore.close();
  }
}

/**
 * Runs `read`, which reads the keystore at `path`, and reports a missing keystore as a usage
 * error naming the path.
 */
async function withNotFoundAsUsageError<T>(path: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof KeystoreError && error.code === 'ERR_KEYSTORE_NOT_FOUND') {
      throw new CliError(
        `--keystore: keystore ${path} not found; check the path (only send creates a keystore)`,
        EXIT_USAGE,
        { cause: error },
      );
    }
    throw error;
  }
}
