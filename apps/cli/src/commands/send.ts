import { type BoxContent, findMessageProblem, sendBoxes } from '@provisions/core';

import { requireUtf8Argument } from '../argument-text.js';
import { usageError } from '../cli-error.js';
import { keystorePassphrase, openKeystore } from '../keystore-access.js';
import { checkSmtpUtf8ForSender, readSmtpSettings } from '../link-mailer.js';
import { EXPORT_LINKS } from '../links-file.js';
import type { NodeHttpFetchOptions, ServerUrlSource } from '../node-http-fetch.js';
import {
  requireClientSecret,
  requireHttpUrl,
  requireOrganizationTarget,
  requireValue,
} from '../option-values.js';
import { withOrganization } from '../organization-session.js';
import { printJson, printLines, requireOpenStdout } from '../output.js';
import { checkOutputFile } from '../output-path.js';
import { type DeliverySummary, formatDelivery, summarizeDelivery } from '../summary.js';
import { DEFAULT_CONCURRENCY, MAX_CONCURRENCY, runManifestSend } from './send-manifest.js';

/** Options of `provisions send`, as commander parses them. */
export interface SendOptions {
  server?: string;
  orgId?: string;
  keystore?: string;
  appUrl?: string;
  to?: string;
  title?: string;
  message?: string[];
  manifest?: string;
  concurrency?: string;
  journal?: string;
  sendAgain?: boolean;
  printLinks?: boolean;
  linksOut?: string;
  emailLinks?: boolean;
  json?: boolean;
  /** The source of `server`, as commander read it. */
  serverSource?: ServerUrlSource;
}

/**
 * Runs `provisions send`: creates boxes for each recipient, sealed to their
 * identity key or to a provision whose link is printed.
 *
 * Human output prints each recipient as soon as it is done, with its link
 * only when `--print-links` is given, so a link never lands on a terminal or
 * in a log unasked. With `--json`, one summary is printed at the end, including on failure, where it
 * lists the recipients done so far and the one that failed.
 *
 * @param transportOptions - options of the HTTP client for the API server, such as a
 *   shorter request timeout in tests.
 */
export async function runSend(
  options: SendOptions,
  transportOptions: NodeHttpFetchOptions = {},
): Promise<void> {
  const { server, organizationId, serverSource } = requireOrganizationTarget(options);
  const clientSecret = requireClientSecret();
  const keystorePath = requireValue(options.keystore, '--keystore or PROVISIONS_KEYSTORE');
  const appUrl = requireHttpUrl(options.appUrl ?? server, '--app-url');
  if (options.printLinks === true && options.json === true) {
    throw usageError(
      'give either --print-links or --json, not both: the JSON document already includes the links',
    );
  }

  if (options.manifest === undefined) {
    const manifestOnly = manifestOnlyOptions(options);
    const last = manifestOnly.pop();
    if (last !== undefined) {
      const names = manifestOnly.length === 0 ? last : `${manifestOnly.join(', ')} and ${last}`;
      const verb = manifestOnly.length === 0 ? 'works' : 'work';
      throw usageError(`${names} ${verb} only with --manifest`);
    }
  }
  if (options.json === true) {
    requireOpenStdout('the JSON summary with the links (--json)');
  } else if (options.printLinks === true) {
    requireOpenStdout('the links (--print-links)');
  } else if (options.manifest === undefined) {
    requireOpenStdout("the recipient's boxes");
  }
  const smtp = options.emailLinks === true ? readSmtpSettings() : undefined;
  if (options.linksOut !== undefined) {
    await checkOutputFile(options.linksOut, '--links-out', [
      { path: keystorePath, role: 'the keystore (--keystore)' },
      ...(options.manifest === undefined
        ? []
        : [
            { path: options.manifest, role: 'the manifest (--manifest)' },
            {
              path: options.journal ?? `${options.manifest}.journal`,
              role: 'the journal of this run (--journal)',
            },
          ]),
    ]);
  }

  if (options.manifest !== undefined) {
    if (options.to !== undefined || options.title !== undefined || options.message !== undefined) {
      throw usageError('give either --manifest or --to/--title/--message, not both');
    }
    if (smtp !== undefined) {
      await checkSmtpUtf8ForSender(smtp);
    }
    await runManifestSend({
      server,
      organizationId,
      clientSecret,
      keystorePath,
      appUrl,
      manifestPath: options.manifest,
      journalPath: options.journal ?? `${options.manifest}.journal`,
      sendAgain: options.sendAgain === true,
      concurrency: parseConcurrency(options.concurrency),
      printLinks: options.printLinks === true,
      json: options.json === true,
      linksOut: options.linksOut,
      smtp,
      transportOptions: { ...transportOptions, serverSource },
    });
    return;
  }

  const recipients = readRecipients(options);

  const keystore = await openKeystore({
    path: keystorePath,
    passphrase: keystorePassphrase(),
    organizationId,
    serverUrl: server,
  });
  try {
    const target = { server, organizationId, clientSecret, serverSource };
    await withOrganization(target, transportOptions, async (organization) => {
      const summaries: DeliverySummary[] = [];
      for (const recipient of recipients) {
        let summary: DeliverySummary;
        try {
          const result = await sendBoxes({
            organization,
            keystore,
            appUrl,
            recipient: recipient.email,
            boxes: recipient.boxes,
          });
          summary = summarizeDelivery(result);
        } catch (error) {
          if (options.json === true) {
            const failed = { email: recipient.email, error: (error as Error).message };
            try {
              printJson({ server, organization_id: organizationId, recipients: summaries, failed });
            } catch {
              // The error of the send, raised below, matters more than a failed print.
            }
          }
          throw error;
        }

        summaries.push(summary);
        if (options.json !== true) {
          printLines(
            formatDelivery(summary, '', options.printLinks === true),
            `the boxes for ${summary.email} were sent, but not printed; ${EXPORT_LINKS}`,
          );
        }
      }

      if (options.json === true) {
        printJson(
          { server, organization_id: organizationId, recipients: summaries },
          `the boxes were sent, but the JSON summary was not printed; ${EXPORT_LINKS}`,
        );
      }
    });
  } finally {
    await keystore.close();
  }
}

function readRecipients(options: SendOptions): { email: string; boxes: BoxContent[] }[] {
  const inline =
    options.to !== undefined || options.title !== undefined || options.message !== undefined;
  if (!inline) {
    throw usageError('nothing to send: give --to, --title and --message, or --manifest FILE');
  }

  if (options.to !== undefined) {
    requireUtf8Argument(options.to, '--to');
  }
  if (options.title !== undefined) {
    requireUtf8Argument(options.title, '--title');
  }
  for (const message of options.message ?? []) {
    requireUtf8Argument(message, '--message');
  }

  const email = requireValue(options.to, '--to');
  const title = requireValue(options.title, '--title');
  const messages = options.message ?? [];
  if (messages.length === 0 || messages.some((message) => message === '')) {
    throw usageError('--message: expected at least one non-empty message');
  }
  for (const message of messages) {
    const problem = findMessageProblem(message);
    if (problem !== undefined) {
      throw usageError(`--message: ${problem}`);
    }
  }

  const box: BoxContent = { title, messages };
  return [{ email, boxes: [box] }];
}

/** Returns the options given that only a manifest run uses. */
function manifestOnlyOptions(options: SendOptions): string[] {
  const manifestOptions: [string, unknown][] = [
    ['--concurrency', options.concurrency],
    ['--journal', options.journal],
    ['--send-again', options.sendAgain],
    ['--links-out', options.linksOut],
    ['--email-links', options.emailLinks],
  ];
  return manifestOptions.filter(([, value]) => value !== undefined).map(([name]) => name);
}

function parseConcurrency(text: string | undefined): number {
  if (text === undefined) {
    return DEFAULT_CONCURRENCY;
  }

  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value < 1 || value > MAX_CONCURRENCY) {
    throw usageError(
      `--concurrency: expected an integer from 1 to ${MAX_CONCURRENCY}, received "${text}"`,
    );
  }
  return value;
}
