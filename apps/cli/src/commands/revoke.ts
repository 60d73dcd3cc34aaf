import { connectOrganization, revokeProvision } from '@provisions/core';

import { usageError } from '../cli-error.js';
import { createNodeHttpFetch, type NodeHttpFetchOptions } from '../node-http-fetch.js';
import { requireClientSecret, requireOrganizationTarget } from '../option-values.js';
import { printJson, printLines } from '../output.js';

const PUBLIC_KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Options of `provisions revoke`, as commander parses them. */
export interface RevokeOptions {
  server?: string;
  orgId?: string;
  json?: boolean;
}

/**
 * Runs `provisions revoke PUBLIC_KEY`: revokes a provision of the
 * organization, so its link stops working and the next `send` to that
 * address creates a new provision and link.
 *
 * @param transportOptions - options of the HTTP client for the API server, such as a
 *   shorter request timeout in tests.
 */
export async function runRevoke(
  publicKey: string,
  options: RevokeOptions,
  transportOptions: NodeHttpFetchOptions = {},
): Promise<void> {
  const { server, organizationId } = requireOrganizationTarget(options);
  const clientSecret = requireClientSecret();
  if (!PUBLIC_KEY_PATTERN.test(publicKey)) {
    throw usageError(
      'public key: expected 43 base64url characters, as send --json prints in provision_public_key',
    );
  }

  const transport = createNodeHttpFetch(transportOptions);
  try {
    const organization = await connectOrganization({
      baseUrl: server,
      clientId: organizationId,
      clientSecret,
      fetch: transport.fetch,
    });
    await revokeProvision({ organization, publicKey });
  } finally {
    transport.close();
  }

  if (options.json === true) {
    printJson({ revoked: publicKey });
    return;
  }
  printLines([
    `Provision ${publicKey} revoked: its link no longer works, and the next send to that address creates a new link.`,
  ]);
}
