import { connectOrganization, type OrganizationConnection } from '@provisions/core';

import {
  API_CLIENT_TIMEOUT_MS,
  createNodeHttpFetch,
  type NodeHttpFetchOptions,
  type ServerUrlSource,
} from './node-http-fetch.js';
import { printNotice } from './output.js';
import { createRetryingFetch, createWaitReporter, DEFAULT_RETRY_POLICY } from './retry.js';

/** The server and organization a command acts for, with the organization's client secret. */
export interface OrganizationTarget {
  server: string;
  organizationId: string;
  /** A secret: never log it. */
  clientSecret: string;
  /** The source of `server`, which the error of a failed connection names. */
  serverSource?: ServerUrlSource | undefined;
}

/**
 * Signs in as the organization through a new HTTP client of the CLI, runs `action` with the
 * connection, and closes the client's connections afterwards, also when `action` fails. The
 * client retries requests that are safe to repeat after a 429 or a 5xx, honouring Retry-After.
 *
 * @param transportOptions - options of the HTTP client, such as a shorter request timeout in
 *   tests.
 */
export async function withOrganization<T>(
  target: OrganizationTarget,
  transportOptions: NodeHttpFetchOptions,
  action: (organization: OrganizationConnection) => Promise<T>,
): Promise<T> {
  const transport = createNodeHttpFetch({
    ...transportOptions,
    serverSource: target.serverSource,
  });
  // Requests that are safe to repeat, the token request among them, wait and retry after a 429
  // or a 5xx, as in send --manifest. A network error fails at once, so a command run by hand
  // does not spend the retries on a server that cannot be reached.
  const fetchWithRetries = createRetryingFetch({
    policy: DEFAULT_RETRY_POLICY,
    onRetry: createWaitReporter(printNotice),
    fetch: transport.fetch,
    retryNetworkErrors: false,
  });
  try {
    const organization = await connectOrganization({
      baseUrl: target.server,
      clientId: target.organizationId,
      clientSecret: target.clientSecret,
      fetch: fetchWithRetries,
      timeoutMs: API_CLIENT_TIMEOUT_MS,
    });
    return await action(organization);
  } finally {
    transport.close();
  }
}
