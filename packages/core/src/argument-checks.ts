import type { ApiClient, CryptoAction } from '@provisions/api';
import { decodeBase64Url, PUBLIC_KEY_LENGTH } from '@provisions/crypto';

import type { OrganizationConnection } from './organization.js';
import type { ProvisionKeystore } from './provision-keystore.js';
import { ProvisionsError } from './provisions-error.js';

/**
 * Creates the error for an argument of the wrong type or form: a {@link ProvisionsError} with
 * code `ERR_INVALID_ARGUMENT` whose message names the argument, what was expected and the type
 * received, never the value.
 */
export function invalidArgument(name: string, expected: string, value: unknown): ProvisionsError {
  return new ProvisionsError(
    'ERR_INVALID_ARGUMENT',
    `${name}: expected ${expected}, received ${describeType(value)}`,
  );
}

/** Describes a value's type for an error message, such as `null`, `an array` or `number`. */
export function describeType(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  if (value === '') {
    return 'an empty string';
  }

  return typeof value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Checks the options object of a function, naming the members it needs in the message. */
export function checkOptions(value: unknown, members: string): asserts value is object {
  if (!isObject(value) || Array.isArray(value)) {
    throw invalidArgument('options', `an object with ${members}`, value);
  }
}

/** Checks that `value` looks like a client of `createApiClient()`. */
export function checkApiClient(value: unknown, name: string): asserts value is ApiClient {
  if (!isObject(value) || typeof value.GET !== 'function' || typeof value.POST !== 'function') {
    throw invalidArgument(name, 'a client from createApiClient() of @provisions/api', value);
  }
}

/** Checks that `value` looks like the result of `connectOrganization()`. */
export function checkOrganization(
  value: unknown,
  name: string,
): asserts value is OrganizationConnection {
  const expected = 'the connection that connectOrganization() returns';
  if (!isObject(value)) {
    throw invalidArgument(name, expected, value);
  }

  checkApiClient(value.client, `${name}.client`);
  if (typeof value.organizationId !== 'string' || value.organizationId === '') {
    throw invalidArgument(`${name}.organizationId`, 'a non-empty string', value.organizationId);
  }
}

/** Checks that `value` has the `get` and `put` methods of a {@link ProvisionKeystore}. */
export function checkKeystore(value: unknown, name: string): asserts value is ProvisionKeystore {
  if (!isObject(value) || typeof value.get !== 'function' || typeof value.put !== 'function') {
    throw invalidArgument(
      name,
      'a ProvisionKeystore, an object with get(email) and put(email, entry) methods such as MemoryKeystore or FileKeystore',
      value,
    );
  }
}

/** Checks that an email address argument is a string; `normalizeEmail` checks the rest. */
export function checkEmailArgument(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') {
    throw invalidArgument(name, 'an email address as a string', value);
  }
}

/**
 * Checks the arguments of `listCryptoActions`.
 *
 * @throws CryptoError `ERR_INVALID_TYPE`, `ERR_INVALID_LENGTH` or `ERR_INVALID_BASE64URL` for
 *   a key that is not 43 base64url characters.
 */
export function checkCryptoActionListing(client: unknown, encryptionPublicKey: unknown): void {
  checkApiClient(client, 'client');
  decodeBase64Url(encryptionPublicKey as string, {
    length: PUBLIC_KEY_LENGTH,
    name: 'encryptionPublicKey',
  });
}

/** Checks the client and crypto actions given to `readInvitedBoxes`. */
export function checkInvitedBoxReading(client: unknown, actions: unknown): void {
  checkApiClient(client, 'client');
  if (!Array.isArray(actions)) {
    throw invalidArgument(
      'actions',
      'an array of crypto actions from listCryptoActions()',
      actions,
    );
  }

  for (const [index, action] of (actions as unknown[]).entries()) {
    const fields = ['id', 'box_id', 'encrypted'] as const satisfies (keyof CryptoAction)[];
    if (!isObject(action)) {
      throw invalidArgument(`actions[${index}]`, 'a crypto action object', action);
    }
    for (const field of fields) {
      if (typeof action[field] !== 'string') {
        throw invalidArgument(`actions[${index}].${field}`, 'a string', action[field]);
      }
    }
  }
}
