import { Option } from 'commander';

import { usageError } from './cli-error.js';

/**
 * Rejects `--` as an option value. Commander gives an option that requires a value the next
 * argument whatever it is, so in `--message -- --json` the message would be `--` and `--json`
 * would still apply. No command of the CLI takes arguments after `--`.
 */
function rejectEndOfOptions(flag: string, value: string): void {
  if (value === '--') {
    throw usageError(
      `${flag}: received "--" as its value; this command takes no arguments after "--", so give the value itself after ${flag}`,
    );
  }
}

/**
 * Creates an option that takes one value and rejects a second one with a usage error (exit
 * code 2), where commander would keep only the last value.
 *
 * @param hint - what to do instead, appended to the error, such as using a manifest for `--to`.
 *   The error never repeats the values, since `--code` is a secret.
 */
export function singleValueOption(flags: string, description: string, hint?: string): Option {
  const option = new Option(flags, description);
  const flag = option.long ?? flags;
  return option.argParser((value: string, previous: string | undefined) => {
    rejectEndOfOptions(flag, value);
    if (previous !== undefined) {
      throw usageError(`${flag} was given more than once; ${hint ?? 'give it once'}`);
    }
    return value;
  });
}

/**
 * Creates a variadic option whose values accumulate over repeats: `--message a b --message c`
 * gives `['a', 'b', 'c']`, as commander does for a variadic option without a parser.
 */
export function repeatableListOption(flags: string, description: string): Option {
  const option = new Option(flags, description);
  const flag = option.long ?? flags;
  return option.argParser((value: string, previous: string[] | undefined) => {
    rejectEndOfOptions(flag, value);
    return [...(previous ?? []), value];
  });
}
