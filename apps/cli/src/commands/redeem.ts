import { createApiClient, normalizeEmail } from '@provisions/api';
import { parseInvitationLink, redeemInvitation, requestEmailCode, signIn } from '@provisions/core';

import { CliError, EXIT_FAILURE, usageError } from '../cli-error.js';
import {
  API_CLIENT_TIMEOUT_MS,
  createNodeHttpFetch,
  type NodeHttpFetchOptions,
} from '../node-http-fetch.js';
import { requireHttpUrl, requireValue } from '../option-values.js';
import { checkOutboxPath, markOutbox, waitForSignInCode } from '../outbox.js';
import {
  finishStdout,
  formatCount,
  printJson,
  printLines,
  printNotice,
  requireOpenStdout,
} from '../output.js';
import { checkOutputDirectory } from '../output-path.js';
import { canPrompt, prompt } from '../prompt.js';
import { saveOpenedBoxes, UnsafeOutputPathError } from '../saved-boxes.js';
import { formatOpenedBoxes, type OpenedSummary, summarizeOpened } from '../summary.js';

/** A sign-in code as the server sends it: six decimal digits. */
const SIGN_IN_CODE = /^[0-9]{6}$/;

/** Options of `provisions redeem`, as commander parses them. */
export interface RedeemOptions {
  server?: string;
  email?: string;
  code?: string;
  outbox?: string;
  out?: string;
  json?: boolean;
}

/**
 * Runs `provisions redeem LINK`: signs in as the recipient, opens every box
 * the link gives access to, and prints their messages.
 *
 * The sign-in code comes from `--code`; else a code is requested and read
 * from `--outbox` (development servers) or asked for on the terminal.
 *
 * @param transportOptions - options of the HTTP client for the API server, such as a
 *   shorter request timeout in tests.
 */
export async function runRedeem(
  linkArgument: string,
  options: RedeemOptions,
  transportOptions: NodeHttpFetchOptions = {},
): Promise<void> {
  const link = linkArgument === '-' ? await readLinkFromStdin() : linkArgument;
  const { appUrl } = parseInvitationLink(link);
  const server = requireHttpUrl(options.server ?? new URL(appUrl).origin, '--server');
  const serverSource = options.server === undefined ? 'invitation link' : '--server';
  const email = normalizeEmail(requireValue(options.email, '--email'));

  if (options.code !== undefined && options.outbox !== undefined) {
    throw usageError('give either --code or --outbox, not both');
  }
  if (options.code !== undefined && !SIGN_IN_CODE.test(options.code)) {
    throw usageError('--code: expected the 6 digits from the sign-in email');
  }
  if (options.code === undefined && options.outbox === undefined && !canPrompt()) {
    throw usageError(
      'no sign-in code: give --code, or --outbox FILE for a development server, or run in a terminal',
    );
  }
  // Checked before signing in, which uses up one of the person's sign-in codes.
  if (options.outbox !== undefined) {
    await checkOutboxPath(options.outbox);
  }
  if (options.out !== undefined) {
    await checkOutputDirectory(options.out, '--out');
  }
  requireOpenStdout(
    options.out === undefined ? 'the opened boxes' : 'the paths of the saved files',
  );

  const redeemed = await signInAndRedeem(link, server, email, options, {
    ...transportOptions,
    serverSource,
  });
  const opened = summarizeOpened(email, 'link', redeemed.boxes);

  await writeOpened(opened, redeemed.provisionPublicKey, options);
  // A failed print matters more than the messages it did not show.
  await finishStdout();
  const unreadable = describeUnreadable(opened.boxes);
  if (unreadable !== undefined) {
    throw new CliError(unreadable, EXIT_FAILURE);
  }
}

/** Saves the opened boxes with `--out`, and prints them or the paths saved. */
async function writeOpened(
  opened: OpenedSummary,
  provisionPublicKey: string,
  options: RedeemOptions,
): Promise<void> {
  if (options.out !== undefined) {
    const written = await saveBoxes(options.out, opened.boxes);
    const pathsUnwritten = `the boxes were saved in ${options.out}, but the paths of the files were not printed`;
    if (options.json === true) {
      printJson(
        { ...opened, provision_public_key: provisionPublicKey, files: written },
        pathsUnwritten,
      );
      return;
    }
    printLines(written, pathsUnwritten);
    printNotice(`${formatCount(opened.boxes.length, 'box', 'boxes')} saved to ${options.out}`);
    return;
  }

  const unwritten =
    'the opened boxes were not printed; run the command again with --out DIR to save them in files';
  if (options.json === true) {
    printJson({ ...opened, provision_public_key: provisionPublicKey }, unwritten);
    return;
  }

  if (opened.boxes.length === 0) {
    printLines(['The link is valid, but no box was sent to it yet.'], unwritten);
    return;
  }
  printLines(formatOpenedBoxes(opened.boxes), unwritten);
}

/**
 * Returns the error line for messages that could not be opened, with the first one's box and
 * reason, or `undefined` when every message opened. The output lists each of them already.
 */
function describeUnreadable(boxes: OpenedSummary['boxes']): string | undefined {
  const unreadable = boxes.flatMap((box) =>
    box.unreadable_messages.map((message) => ({ boxId: box.id, reason: message.reason })),
  );
  const [first] = unreadable;
  if (first === undefined) {
    return undefined;
  }

  if (unreadable.length === 1) {
    return `could not open 1 message of box ${first.boxId}: ${first.reason}; ask the sender to send it again`;
  }
  return `could not open ${unreadable.length} messages, the first of box ${first.boxId}: ${first.reason}; ask the sender to send them again`;
}

/** Signs in as `email`, with a code from `options` or the terminal, and opens the boxes of `link`. */
async function signInAndRedeem(
  link: string,
  server: string,
  email: string,
  options: RedeemOptions,
  transportOptions: NodeHttpFetchOptions,
): Promise<Awaited<ReturnType<typeof redeemInvitation>>> {
  const transport = createNodeHttpFetch(transportOptions);
  try {
    let token: string | undefined;
    const client = createApiClient({
      baseUrl: server,
      token: () => token,
      fetch: transport.fetch,
      timeoutMs: API_CLIENT_TIMEOUT_MS,
    });

    let code = options.code;
    if (code === undefined) {
      const mark = options.outbox === undefined ? undefined : await markOutbox(options.outbox);
      await requestEmailCode(client, email);

      if (mark === undefined) {
        printNotice(`A sign-in code was sent to ${email}.`);
        code = await prompt('Sign-in code: ', { hidden: false, missingHint: 'give --code' });
      } else {
        code = await waitForSignInCode(mark, email);
      }
    }

    token = await signIn(client, email, code);
    return await redeemInvitation({ client, link });
  } finally {
    transport.close();
  }
}

async function saveBoxes(directory: string, boxes: OpenedSummary['boxes']): Promise<string[]> {
  try {
    return await saveOpenedBoxes(directory, boxes);
  } catch (error) {
    if (error instanceof UnsafeOutputPathError) {
      throw new CliError(
        `--out: cannot save the boxes in ${directory}: ${error.message}; remove it, or run the command again with another --out`,
        EXIT_FAILURE,
        { cause: error },
      );
    }
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new CliError(
      `--out: cannot save the boxes in ${directory} (${code}); run the command again with another --out, or without it to print them`,
      EXIT_FAILURE,
      { cause: error },
    );
  }
}

/** Reads the first non-empty line of standard input, the link piped to `redeem -`. */
async function readLinkFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
  }

  const line = Buffer.concat(chunks)
    .toString('utf8')
    .split(/\r?\n/)
    .map((text) => text.trim())
    .find((text) => text !== '');
  if (line === undefined) {
    throw usageError(
      'no link on standard input: pipe the invitation link to `provisions redeem -`',
    );
  }
  return line;
}
