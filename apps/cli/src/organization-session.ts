import { connectOrganization, type OrganizationConnection } from '@provisions/core';

import {
  API_CLIENT_TIMEOUT_MS,
  createNodeHttpFetch,
  type NodeHttpFetchOptions,
} from './node-http-fetch.js';

/** The server and organization a command acts for, with the organization's client secret. */
export interface OrganizationTarget {
  server: string;
  organizationId: string;
  /** A secret: never log it. */
  clientSecret: string;
}

/**
 * Signs in as the organization through a new HTTP client of the CLI, runs `action` with the
 * connection, and closes the client's connections afterwards, also when `action` fails.
 *
 * @param transportOptions - options of the HTTP client, such as a shorter request timeout in
 *   tests.
 */
export async function withOrganization<T>(
  target: OrganizationTarget,
  transportOptions: NodeHttpFetchOptions,
  action: (organization: OrganizationConnection) => Promise<T>,
): Promise<T> {
  const transport = createNodeHttpFetch(transportOptions);
  try {
    const organization = await connectOrganization({
      baseUrl: target.server,
      clientId: target.organizationId,
      clientSecret: target.clientSecret,
      fetch: transport.fetch,
      timeoutMs: API_CLIENT_TIMEOUT_MS,
    });
    return await action(organization);
  } finally {
    transport.close();
  }
}
