import { isIP } from 'node:net';

import { InvalidOptionError } from '../errors/invalid-option-error.js';

/**
 * Checks a list of reverse-proxy addresses: each an IPv4 or IPv6 address, or a CIDR
 * range such as `10.0.0.0/8` or `fd00::/8`.
 *
 * @param name - the option or flag to name in the error.
 * @throws InvalidOptionError naming `name` and the first invalid entry.
 */
export function checkTrustedProxies(value: unknown, name: string): string[] {
  if (!Array.isArray(value)) {
    throw new InvalidOptionError(`${name} must be an array of IP addresses or CIDR ranges`);
  }

  for (const entry of value) {
    if (typeof entry !== 'string' || !isAddressOrRange(entry)) {
      throw new InvalidOptionError(
        `${name}: invalid entry ${JSON.stringify(entry)}; expected an IP address or a CIDR range such as 10.0.0.0/8`,
      );
    }
  }

  return value as string[];
}

function isAddressOrRange(entry: string): boolean {
  const [address = '', prefix, extra] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) {
    return false;
  }
  if (prefix === undefined) {
    return true;
  }

  const maxPrefix = version === 4 ? 32 : 128;
  return /^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix;
}
