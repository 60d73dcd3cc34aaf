import { readFileSync } from 'node:fs';

import { usageError } from './cli-error.js';

const REPLACEMENT_CHARACTER = '\ufffd';
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Raises a usage error naming `option` when its command-line value was not valid UTF-8.
 *
 * Node.js decodes each argument as UTF-8 and replaces every invalid sequence with U+FFFD, so
 * the string alone cannot tell such bytes from a U+FFFD the user typed, and re-encoding it
 * with `Buffer.from` only returns the replacement's bytes. A value without U+FFFD was valid.
 * For one with U+FFFD, the raw bytes of the arguments are read from /proc/self/cmdline
 * (Linux) and each argument whose lenient decoding gives the value, alone or as
 * `option=value`, is decoded again strictly. Where those bytes cannot be read, a U+FFFD is
 * rejected, because it most likely stands for bytes that were not UTF-8.
 *
 * @throws CliError (exit code 2) naming `option`.
 */
export function requireUtf8Argument(value: string, option: string): void {
  if (!value.includes(REPLACEMENT_CHARACTER)) {
    return;
  }

  const matching = (readRawArguments() ?? []).filter((raw) => {
    const decoded = raw.toString('utf8');
    return decoded === value || decoded === `${option}=${value}`;
  });
  if (matching.length > 0 && matching.every(isUtf8)) {
    return;
  }

  throw usageError(
    `${option}: the value is not valid UTF-8 text; convert it to UTF-8 (for example with iconv)`,
  );
}

/**
 * Raises a usage error naming the environment variable `name` when its value was not valid
 * UTF-8. Node.js decodes the environment like the arguments (see {@link requireUtf8Argument}),
 * so a value with U+FFFD is checked against the raw bytes of `name=` in /proc/self/environ,
 * and rejected where those cannot be read. Without this, different invalid bytes in a
 * passphrase would all become U+FFFD and open the same keystore.
 *
 * @throws CliError (exit code 2) naming `name`.
 */
export function requireUtf8Environment(value: string, name: string): void {
  if (!value.includes(REPLACEMENT_CHARACTER)) {
    return;
  }

  const prefix = Buffer.from(`${name}=`);
  const raw = splitAtNul(readProcFile('/proc/self/environ') ?? Buffer.alloc(0)).find((entry) =>
    entry.subarray(0, prefix.length).equals(prefix),
  );
  if (raw !== undefined && isUtf8(raw.subarray(prefix.length))) {
    return;
  }

  throw usageError(
    `${name}: the value is not valid UTF-8 text; set it to UTF-8 text (for example with iconv)`,
  );
}

/** Returns the contents of a file of /proc, or `undefined` where it cannot be read. */
function readProcFile(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** Splits NUL-terminated entries, as /proc/self/cmdline and /proc/self/environ hold them. */
function splitAtNul(bytes: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let end = bytes.indexOf(0); end !== -1; end = bytes.indexOf(0, start)) {
    parts.push(bytes.subarray(start, end));
    start = end + 1;
  }
  return parts;
}

/**
 * Returns the bytes of the arguments after the script path, as the kernel received them, or
 * `undefined` where /proc/self/cmdline is missing or does not fit `process.argv`.
 */
function readRawArguments(): Buffer[] | undefined {
  const cmdline = readProcFile('/proc/self/cmdline');
  if (cmdline === undefined) {
    return undefined;
  }

  // Arguments end with a NUL byte each and cannot contain one. Node.js options such as
  // --import come before the script path and are not in process.argv, so the arguments
  // are the last ones.
  const parts = splitAtNul(cmdline);
  const count = process.argv.length - 2;
  if (parts.length < process.argv.length) {
    return undefined;
  }
  return parts.slice(parts.length - count);
}

function isUtf8(bytes: Buffer): boolean {
  try {
    utf8Decoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}
