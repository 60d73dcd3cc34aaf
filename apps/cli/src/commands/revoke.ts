import { isApiError } from '@provisions/api';
import { KeystoreError, revokeProvision } from '@provisions/core';
import type { FileKeystore } from '@provisions/core/keystore';

import { CliError, EXIT_USAGE, usageError } from '../cli-error.js';
import { keystorePassphrase, openKeystore } from '../keystore-access.js';
import type { NodeHttpFetchOptions, ServerUrlSource } from '../node-http-fetch.js';
import { requireClientSecret, requireOrganizationTarget } from '../option-values.js';
import { withOrganization } from '../organization-session.js';
import { printJson, printLines, printNotice } from '../output.js';

// The API's PublicKey pattern: 43 base64url characters of 32 bytes, so the last one carries
// 4 bits and the 2 unused bits are zero.
const PUBLIC_KEY_PATTERN = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/** Options of `provisions revoke`, as commander parses them. */
export interface RevokeOptions {
  server?: string;
  orgId?: string;
  keystore?: string;
  json?: boolean;
  /** The source of `server`, as commander read it. */
  serverSource?: ServerUrlSource;
}

/**
 * Runs `provisions revoke PUBLIC_KEY`: revokes a provision of the
 * organization, so its link stops working and the next `send` to that
 * address creates a new provision and link.
 *
 * With a keystore (`--keystore` or `PROVISIONS_KEYSTORE`), it also removes the
 * keystore entry of that provision, so `keystore list` and `keystore export` no
 * longer show the dead link. As in `keystore revoke`, a provision the server no
 * longer has then only loses its entry. Without a keystore, it prints a notice on
 * stderr that a keystore may still hold the link.
 *
 * @param transportOptions - options of the HTTP client for the API server, such as a
 *   shorter request timeout in tests.
 */
export async function runRevoke(
  publicKey: string,
  options: RevokeOptions,
  transportOptions: NodeHttpFetchOptions = {},
): Promise<void> {
  const { server, organizationId, serverSource } = requireOrganizationTarget(options);
  const clientSecret = requireClientSecret();
  if (!PUBLIC_KEY_PATTERN.test(publicKey)) {
    throw usageError(
      'public key: expected 43 base64url characters of 32 bytes (the last one of AEIMQUYcgkosw048), as send --json prints in provision_public_key',
    );
  }

  // Opened before the request, so a wrong passphrase or path changes nothing on the server.
  const keystore =
    options.keystore === undefined || options.keystore.trim() === ''
      ? undefined
      : await openExistingKeystore(options.keystore.trim(), server, organizationId);
  try {
    const email = keystore === undefined ? undefined : findEmail(keystore, publicKey);

    let alreadyRevoked = false;
    try {
      await withOrganization(
        { server, organizationId, clientSecret, serverSource },
        transportOptions,
        (organization) => revokeProvision({ organization, publicKey }),
      );
    } catch (error) {
      if (email === undefined || !isApiError(error) || error.status !== 404) {
        throw error;
      }
      alreadyRevoked = true;
    }

    // Kept as a revocation, so a later run of a manifest reports this recipient as revoked.
    if (email !== undefined) {
      await keystore?.recordRevocation(email);
    }
    report(publicKey, options.json === true, { keystore, email, alreadyRevoked });
  } finally {
    await keystore?.close();
  }
}

/** Prints the outcome of a revocation: one JSON document, or lines on stdout and stderr. */
function report(
  publicKey: string,
  json: boolean,
  outcome: { keystore?: FileKeystore; email?: string; alreadyRevoked: boolean },
): void {
  const { keystore, email, alreadyRevoked } = outcome;
  const done = alreadyRevoked
    ? 'the server had no active provision with this key'
    : 'the provision was revoked';
  const removed =
    email === undefined ? '' : `, the entry of ${email} was removed from the keystore`;
  const unwritten = `${done}${removed}, but this was not printed`;
  if (keystore === undefined) {
    printNotice(
      'provisions: no keystore given (--keystore or PROVISIONS_KEYSTORE), so a keystore that holds this provision still lists its link: remove the entry with "provisions keystore revoke EMAIL"',
    );
  }

  if (json) {
    printJson(
      {
        revoked: publicKey,
        already_revoked: alreadyRevoked,
        removed_from_keystore: email ?? null,
      },
      unwritten,
    );
    return;
  }

  const lines = [
    alreadyRevoked
      ? `The server had no active provision ${publicKey}.`
      : `Provision ${publicKey} revoked: its link no longer works, and the next send to that address creates a new link.`,
  ];
  if (keystore !== undefined) {
    lines.push(
      email === undefined
        ? `The keystore ${keystore.path} has no entry for it.`
        : `The entry of ${email} was removed from the keystore ${keystore.path}.`,
    );
  }
  printLines(lines, unwritten);
}

/** Returns the email of the keystore entry whose provision has `publicKey`, if there is one. */
function findEmail(keystore: FileKeystore, publicKey: string): string | undefined {
  return keystore.list().find(([, entry]) => entry.public_key === publicKey)?.[0];
}

/**
 * Opens the keystore for revoking one of its provisions. Unlike `send`, it does not create a
 * missing file, so a mistyped path is reported before anything is revoked.
 */
async function openExistingKeystore(
  path: string,
  server: string,
  organizationId: string,
): Promise<FileKeystore> {
  const settings = {
    path,
    passphrase: keystorePassphrase(),
    organizationId,
    serverUrl: server,
    mustExist: true,
  };
  try {
    return await openKeystore(settings);
  } catch (error) {
    if (!(error instanceof KeystoreError) || error.code !== 'ERR_KEYSTORE_NOT_FOUND') {
      throw error;
    }
    throw new CliError(
      `--keystore: keystore ${path} not found; give the keystore that send used, or leave --keystore and PROVISIONS_KEYSTORE unset to revoke on the server only`,
      EXIT_USAGE,
      { cause: error },
    );
  }
}
