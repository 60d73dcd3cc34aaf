import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { normalizeEmail } from '@provisions/api';
import { connectOrganization } from '@provisions/core';
import {
  acquireLockFile,
  type FileKeystore,
  type LockFile,
  LockFileError,
} from '@provisions/core/keystore';

import {
  type BulkRecipient,
  type BulkSendContext,
  type RecipientOutcome,
  sendRecipient,
  skippedOutcome,
} from '../bulk-send.js';
import {
  CliError,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_PARTIAL_FAILURE,
  EXIT_TERMINATED,
  EXIT_USAGE,
  FileWriteError,
  usageError,
} from '../cli-error.js';
import { formatCsvField } from '../csv.js';
import { asLocalWriteFailure } from '../error-report.js';
import { describeFileError, fileErrorCode, isPathProblem } from '../file-error.js';
import { Journal } from '../journal.js';
import { keystorePassphrase, openKeystore } from '../keystore-access.js';
import { checkKeystoreLoss } from '../keystore-loss.js';
import { createLinkMailer, type SmtpSettings, verifySmtpServer } from '../link-mailer.js';
import { EXPORT_LINKS, writeLinksFile } from '../links-file.js';
import { readManifest } from '../manifest.js';
import { hashManifestContent, hashManifestInOrder } from '../manifest-hash.js';
import {
  API_CLIENT_TIMEOUT_MS,
  createNodeHttpFetch,
  DEFAULT_TIMEOUT_MS,
  type NodeHttpFetchOptions,
} from '../node-http-fetch.js';
import { finishStdout, printJson, printText, StdoutError } from '../output.js';
import { PublicKeyLookups } from '../public-key-lookups.js';
import {
  createRetryingFetch,
  createWaitReporter,
  DEFAULT_RETRY_POLICY,
  type RetryEvent,
} from '../retry.js';
import { replayJournal, SEND_JOURNAL_VERSION, type SendJournalState } from '../send-journal.js';
import { type ProgressReporter, startProgress } from '../send-progress.js';
import { formatRunSummary, type RunSummary, summarizeRun } from '../send-summary.js';

/** Default number of recipients sent at the same time. */
export const DEFAULT_CONCURRENCY = 32;

/** Largest accepted `--concurrency`. */
export const MAX_CONCURRENCY = 64;

/**
 * Time without a response to any request, in milliseconds, after which the first recipient that
 * fails without a response stops the run: the recipients in flight finish, and no new one
 * starts. A restart of the server that takes a few seconds fails a few recipients at most, and
 * does not stop the run.
 * A shorter request timeout (`transportOptions.timeoutMs`) lowers it to half that timeout.
 */
export const MAX_SILENCE_MS = 30_000;

/** Settings of a manifest run, checked by `runSend`. */
export interface ManifestSendSettings {
  server: string;
  organizationId: string;
  clientSecret: string;
  keystorePath: string;
  appUrl: string;
  manifestPath: string;
  journalPath: string;
  /**
   * Whether a new run may send a manifest whose content the keystore records as run before
   * (`--send-again`).
   */
  sendAgain: boolean;
  concurrency: number;
  printLinks: boolean;
  json: boolean;
  linksOut?: string;
  /** The SMTP server and sender for `--email-links`; unset without it. */
  smtp?: SmtpSettings;
  /** Options of the HTTP client for the API server. */
  transportOptions?: NodeHttpFetchOptions;
}

/**
 * Runs `provisions send --manifest FILE`: sends every recipient of the
 * manifest with bounded concurrency, recording each durable step in the
 * journal so that the same command, run again after a crash or a kill,
 * finishes the work without a second box or provision.
 *
 * Links go to stdout only with `--print-links` (CSV lines as recipients
 * finish) or `--json` (one document at the end), and to `--links-out`
 * (CSV, mode 0600). Progress and the summary go to stderr without links.
 * Sets the exit code to 3 when some recipients failed. SIGINT (Ctrl-C) and
 * SIGTERM end the process at once with exit code 130 or 143, after a line saying
 * how to resume.
 */
export async function runManifestSend(settings: ManifestSendSettings): Promise<void> {
  const running: RunningProgress = {};
  const interrupt = (signal: NodeJS.Signals): void => {
    running.progress?.stop();
    process.stderr.write(
      `provisions: interrupted: the run stopped; run the same command again to resume (journal ${settings.journalPath})\n`,
    );
    // The journal and the keystore stay consistent when the process ends at any point
    // (they are tested with SIGKILL), so nothing is awaited here.
    process.exit(signal === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED);
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    await sendManifest(settings, running);
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}

/** The progress report of a run while it is shown, so that a signal can stop it. */
interface RunningProgress {
  progress?: ProgressReporter;
}

async function sendManifest(
  settings: ManifestSendSettings,
  running: RunningProgress,
): Promise<void> {
  const manifest = await readManifest(settings.manifestPath);
  const recipients: BulkRecipient[] = manifest.recipients.map((recipient, index) => ({
    index,
    email: normalizeEmail(recipient.email),
    boxes: recipient.boxes,
  }));
  const manifestHash = hashManifestInOrder(recipients);
  const contentHash = hashManifestContent(recipients);
  const mailer = settings.smtp === undefined ? undefined : createLinkMailer(settings.smtp);

  const journalLock = await lockJournal(settings.journalPath);
  const transport = createNodeHttpFetch(settings.transportOptions);
  let keystore: FileKeystore | undefined;
  let journal: Journal | undefined;
  let journalWasEmpty = false;
  let runId: string | undefined;
  try {
    const opened = await Journal.open(settings.journalPath);
    journal = opened.journal;
    journalWasEmpty = opened.records.length === 0;
    const state = replayJournal(opened.records);
    const resumedRunId = checkResumedRun(state, settings, manifestHash);
    if (settings.smtp !== undefined && hasEmailsToSend(state, recipients)) {
      await verifySmtpServer(settings.smtp);
    }

    keystore = await openKeystore({
      path: settings.keystorePath,
      passphrase: keystorePassphrase(),
      organizationId: settings.organizationId,
      serverUrl: settings.server,
    });
    if (resumedRunId === undefined && !settings.sendAgain) {
      checkEarlierRuns(keystore, settings, { contentHash, manifestHash });
    }
    if (resumedRunId !== undefined) {
      await checkKeystoreLoss(keystore, journal, state);
    }

    // Started before the token request, so that a server that accepts the connection and
    // does not respond still gets a progress line every 5 seconds on a non-terminal stderr.
    const progress = startProgress(
      recipients.length,
      recipients.filter((recipient) => state.recipients.get(recipient.index)?.done === true).length,
    );
    running.progress = progress;

    let retries = 0;
    const reportWait = createWaitReporter((line) => progress.notice(line));
    const onRetry = (event: RetryEvent): void => {
      retries += 1;
      reportWait(event);
    };
    const contact: ServerContact = { lastResponseAt: Date.now() };
    let context: BulkSendContext;
    let result: RunResult;
    // Measured by the progress report, which starts before the token request, so that the
    // summary shows the duration of its last line, waits for the server included.
    let elapsedMs: number;
    try {
      const fetchWithRetries = createRetryingFetch({
        policy: DEFAULT_RETRY_POLICY,
        onRetry,
        fetch: async (input, init) => {
          const response = await transport.fetch(input, init);
          contact.lastResponseAt = Date.now();
          return response;
        },
      });
      const organization = await connectOrganization({
        baseUrl: settings.server,
        clientId: settings.organizationId,
        clientSecret: settings.clientSecret,
        fetch: fetchWithRetries,
        timeoutMs: API_CLIENT_TIMEOUT_MS,
      });

      // The run is recorded only now that the keystore opened and the server
      // accepted the credentials: a run that fails before this point leaves no
      // journal bound to a wrong server or organization.
      runId =
        resumedRunId ??
        (await startRun(journal, keystore, settings, { contentHash, manifestHash }));

      // In the order the run reaches them: finished recipients are checked first, one by one,
      // to confirm that the server still has their provision, then the undecided ones are sent.
      const finishedWithProvision = recipients.filter((recipient) => {
        const recorded = state.recipients.get(recipient.index);
        return recorded?.done === true && recorded.decision?.delivery === 'provision';
      });
      const undecided = recipients.filter(
        (recipient) => state.recipients.get(recipient.index)?.decision === undefined,
      );
      context = {
        organization,
        lookups: new PublicKeyLookups(
          organization.client,
          [...finishedWithProvision, ...undecided].map((recipient) => recipient.email),
        ),
        keystore,
        journal,
        state,
        runId,
        appUrl: settings.appUrl,
        retryPolicy: DEFAULT_RETRY_POLICY,
        resumed: new Set(state.recipients.keys()),
        onRetry,
        background: [],
        mailer,
      };

      result = await sendAll(context, recipients, settings, progress, contact);
    } finally {
      running.progress = undefined;
      elapsedMs = progress.stop();
    }
    const { outcomes, stop } = result;
    const backgroundFailure = await settleBackground(context.background);
    const summary = summarizeRun(outcomes, {
      retries,
      elapsedMs,
      journalPath: settings.journalPath,
      emailLinks: settings.smtp !== undefined,
    });

    // A failed write of the journal or keystore explains the failures of the others.
    const runError = backgroundFailure ?? stop?.error;
    try {
      await writeOutputs(settings, outcomes, summary);
    } catch (error) {
      // Report the error that stopped the run, such as a full disk under the journal, first,
      // because the rerun that it requires writes the outputs again.
      throw runError ?? error;
    }
    if (runError !== undefined) {
      throw runError;
    }
    if (summary.failed > 0) {
      process.exitCode = EXIT_PARTIAL_FAILURE;
    }
  } finally {
    transport.close();
    mailer?.close();
    await keystore?.close();
    await journal?.close();
    if (journalWasEmpty && runId === undefined) {
      await rm(settings.journalPath, { force: true });
    }
    await journalLock.release();
  }
}

/** When the run last received a response from the server, to any request. */
interface ServerContact {
  /** Milliseconds since the epoch, as `Date.now()` returns. */
  lastResponseAt: number;
}

/**
 * The cause of a run stopping before it started every recipient. That is an unreachable server,
 * a server that rejects the organization's credentials, an SMTP server that takes no email, or
 * a failed write of the journal, the keystore or a link to stdout.
 */
interface RunStop {
  /** The error the command ends with, after the summary. */
  error: CliError;
}

/** The outcomes of a run, one per recipient in manifest order, and why it stopped early, if it did. */
interface RunResult {
  outcomes: RecipientOutcome[];
  stop?: RunStop;
}

async function sendAll(
  context: BulkSendContext,
  recipients: readonly BulkRecipient[],
  settings: ManifestSendSettings,
  progress: ProgressReporter,
  contact: ServerContact,
): Promise<RunResult> {
  const outcomes: RecipientOutcome[] = new Array(recipients.length);
  const finishedBefore = recipients.filter(
    (recipient) => context.state.recipients.get(recipient.index)?.done === true,
  );

  const unprinted = describeUnprintedLinks(context.state, recipients, settings.journalPath);
  if (settings.printLinks) {
    printText('email,link\n', unprinted.beforeSending);
    // A stdout that fails at once, such as /dev/full, stops the run before it sends anything.
    await finishStdout();
  }
  let stop: RunStop | undefined;
  const linksStopped = unprinted.whileSending;
  let stdoutError: StdoutError | undefined;
  const emit = (outcome: RecipientOutcome): void => {
    outcomes[outcome.index] = outcome;
    if (settings.printLinks && outcome.link !== undefined && stdoutError === undefined) {
      try {
        printText(
          `${formatCsvField(outcome.email)},${formatCsvField(outcome.link)}\n`,
          linksStopped,
        );
      } catch (error) {
        if (!(error instanceof StdoutError)) {
          throw error;
        }
        stdoutError = error;
        stop ??= { error };
      }
    }
  };

  for (const recipient of finishedBefore) {
    const outcome = await sendRecipient(context, recipient);
    emit(outcome);
    if (outcome.status === 'failed' || outcome.status === 'revoked') {
      progress.countEarlier(outcome.status);
    }
  }

  const queue = recipients.filter((recipient) => outcomes[recipient.index] === undefined);
  let next = 0;
  // Half the request timeout, so that the first request to time out on a silent server
  // stops the run even when a response to another request arrived just after it was sent.
  const timeoutMs = settings.transportOptions?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxSilenceMs = Math.min(MAX_SILENCE_MS, timeoutMs / 2);

  // Workers take no new recipient once the run stops; those in flight finish.
  const worker = async (): Promise<void> => {
    while (next < queue.length && stop === undefined) {
      const recipient = queue[next] as BulkRecipient;
      next += 1;
      const outcome = await sendRecipient(context, recipient);
      emit(outcome);
      progress.tick(outcome.status);

      if (outcome.writeFailure !== undefined) {
        stop ??= { error: outcome.writeFailure };
      }
      if (outcome.smtpFailure !== undefined) {
        stop ??= {
          error: new CliError(
            `stopped the run: ${outcome.smtpFailure}; run the same command again to resume, which emails the links not sent yet (journal ${settings.journalPath})`,
          ),
        };
      }
      if (outcome.credentialsRejected === true) {
        stop ??= {
          error: new CliError(
            `stopped the run: the server ${settings.server} rejected the organization's credentials (401 invalid_client) when the run renewed its token, although it accepted them at the start, as when another server responds at that URL; once the server or the credentials are fixed, run the same command again to resume (journal ${settings.journalPath})`,
          ),
        };
      }
      const silentMs = Date.now() - contact.lastResponseAt;
      if (outcome.unreachable !== undefined && silentMs >= maxSilenceMs) {
        stop ??= {
          error: new CliError(
            `stopped the run: the server at ${new URL(settings.server).origin} is unreachable (${outcome.unreachable}): no request has received a response for ${Math.floor(silentMs / 1000)} s; run the same command again to resume once the server is back (journal ${settings.journalPath})`,
          ),
        };
      }
    }
  };

  const workers = Math.min(settings.concurrency, Math.max(queue.length, 1));
  await Promise.all(Array.from({ length: workers }, worker));

  if (settings.printLinks && stdoutError === undefined) {
    // The write of the last link may fail after it returned.
    await finishStdout().catch((error: unknown) => {
      if (!(error instanceof StdoutError)) {
        throw error;
      }
      stop ??= { error };
    });
  }
  for (const recipient of queue.slice(next)) {
    emit(skippedOutcome(context, recipient));
  }
  return { outcomes, stop };
}

/**
 * Describes what a failed write of `--print-links` lost and how to recover it, for a failure of
 * the header line (before this run sends anything) and for a failure of a link line. When
 * earlier runs finished every recipient, everything was sent and only the links are missing.
 */
function describeUnprintedLinks(
  state: SendJournalState,
  recipients: readonly BulkRecipient[],
  journalPath: string,
): { beforeSending: string; whileSending: string } {
  const journal = `(journal ${journalPath})`;
  const finishedEarlier = recipients.every(
    (recipient) => state.recipients.get(recipient.index)?.done === true,
  );
  if (finishedEarlier) {
    const linksMissing = `an earlier run sent every recipient, but the links were not printed; ${EXPORT_LINKS}, and running the same command again prints them ${journal}`;
    return { beforeSending: linksMissing, whileSending: linksMissing };
  }

  return {
    beforeSending:
      state.recipients.size === 0
        ? 'nothing was sent'
        : `this run sent nothing more; running the same command again finishes the run ${journal}`,
    whileSending: `the run stopped; ${EXPORT_LINKS}, and running the same command again finishes the run ${journal}`,
  };
}

/**
 * Waits for the writes that the run did not wait for, and returns the first failed write of
 * the journal or keystore, so that the summary is printed before the error.
 *
 * @throws any other error of those writes.
 */
async function settleBackground(writes: readonly Promise<void>[]): Promise<CliError | undefined> {
  for (const result of await Promise.allSettled(writes)) {
    if (result.status === 'rejected') {
      const failure = asLocalWriteFailure(result.reason);
      if (failure === undefined) {
        throw result.reason;
      }
      return failure;
    }
  }
  return undefined;
}

/**
 * Returns whether a recipient may still need their link emailed: one that the journal does not
 * record as done, or done with a provision whose link was not emailed yet.
 */
function hasEmailsToSend(state: SendJournalState, recipients: readonly BulkRecipient[]): boolean {
  return recipients.some((recipient) => {
    const recorded = state.recipients.get(recipient.index);
    if (recorded?.done !== true) {
      return true;
    }
    return recorded.decision?.delivery === 'provision' && !recorded.linkEmailed;
  });
}

/**
 * Checks that the run recorded in the journal matches this command and
 * returns its id, or `undefined` for a journal without a run yet.
 */
function checkResumedRun(
  state: SendJournalState,
  settings: ManifestSendSettings,
  manifestHash: string,
): string | undefined {
  const run = state.run;
  if (run === undefined) {
    return undefined;
  }

  const moveAway = `move ${settings.journalPath} away to start a new run`;
  if (run.version !== SEND_JOURNAL_VERSION) {
    throw usageError(
      `journal ${settings.journalPath}: version ${run.version} is not supported (expected ${SEND_JOURNAL_VERSION}): ${moveAway}`,
    );
  }
  if (run.manifest_sha256 !== manifestHash) {
    throw usageError(
      `the manifest changed since journal ${settings.journalPath} was started: restore it to finish that run, or put only the new or corrected lines in a new manifest and send that one, which reuses each recipient's link from the keystore. ${describeJournalMoveRisk(state, settings.journalPath)}`,
    );
  }
  if (run.organization_id !== settings.organizationId || run.server_url !== settings.server) {
    throw usageError(
      `journal ${settings.journalPath} belongs to organization ${run.organization_id} on ${run.server_url}: use those, or ${moveAway}`,
    );
  }
  return run.run_id;
}

/**
 * Returns the sentence that explains what moving the journal away would do. The next run would
 * send the whole manifest again, so every recipient this run sent a box to (or started to)
 * would get the boxes a second time.
 */
function describeJournalMoveRisk(state: SendJournalState, journalPath: string): string {
  const served = [...state.recipients.values()].filter(
    (recipient) =>
      recipient.done || [...recipient.boxes.values()].some((box) => box.prepared !== undefined),
  ).length;
  if (served === 0) {
    return `This run has sent no box yet, so moving ${journalPath} away to start over sends nothing twice.`;
  }

  const recipients = served === 1 ? '1 recipient' : `${served} recipients`;
  return `Do not move ${journalPath} away to send this manifest again: without the journal, the ${recipients} this run has sent boxes to would get them a second time.`;
}

/**
 * The two hashes of a manifest: `manifestHash` from {@link hashManifestInOrder} for the journal,
 * and `contentHash` from {@link hashManifestContent} for the keystore's record of runs.
 */
interface ManifestHashes {
  manifestHash: string;
  contentHash: string;
}

/**
 * Rejects a new run of a manifest whose content the keystore records as run before for this
 * organization and server, under any file name and in any order of recipients and boxes.
 * Such a run would give every recipient a second set of boxes. The message names the latest
 * earlier run and how to go on.
 *
 * @throws CliError (exit code 2) when such a run exists.
 */
function checkEarlierRuns(
  keystore: FileKeystore,
  settings: ManifestSendSettings,
  hashes: ManifestHashes,
): void {
  // Keystores written before the content hash record the in-order hash, which still matches
  // a copy of the same file, though not a reordered one.
  const earlier = keystore
    .listManifestRuns()
    .filter(
      (run) =>
        run.manifest_sha256 === hashes.contentHash || run.manifest_sha256 === hashes.manifestHash,
    )
    .at(-1);
  if (earlier === undefined) {
    return;
  }

  const sendAgain = 'or add --send-again to send the same boxes to every recipient once more';
  const started = `a run of the same content was started on ${earlier.started_at} for this organization`;
  if (earlier.journal === resolve(settings.journalPath)) {
    throw usageError(
      `manifest ${settings.manifestPath}: ${started} with journal ${earlier.journal}, which no longer records it: restore that journal to finish the run, ${sendAgain}`,
    );
  }
  throw usageError(
    `manifest ${settings.manifestPath}: ${started} with journal ${earlier.journal}: to finish that run, run this command with --journal ${earlier.journal}, ${sendAgain}`,
  );
}

/**
 * Records a new run in the journal, then in the keystore for {@link checkEarlierRuns}, and
 * returns its id. The journal comes first: a crash between the two leaves a journal that
 * resumes the run, where the other order would leave a keystore record that rejects the same
 * command run again.
 */
async function startRun(
  journal: Journal,
  keystore: FileKeystore,
  settings: ManifestSendSettings,
  hashes: ManifestHashes,
): Promise<string> {
  const runId = randomUUID();
  await journal.append({
    type: 'run',
    version: SEND_JOURNAL_VERSION,
    run_id: runId,
    manifest_sha256: hashes.manifestHash,
    organization_id: settings.organizationId,
    server_url: settings.server,
    created_at: new Date().toISOString(),
  });
  await keystore.recordManifestRun({
    manifestSha256: hashes.contentHash,
    journal: resolve(settings.journalPath),
  });
  return runId;
}

async function lockJournal(journalPath: string): Promise<LockFile> {
  try {
    return await acquireLockFile(`${journalPath}.lock`, `journal ${journalPath}`);
  } catch (error) {
    // Another run holds the lock. The command is valid and works once that run ends, so this
    // is a failure (exit code 1) like a keystore in use, not a usage error.
    if (error instanceof LockFileError && error.code === 'ERR_LOCKED') {
      throw new CliError(error.message, EXIT_FAILURE, { cause: error });
    }
    // The lock file goes beside the journal, so ENOENT means that the directory is missing.
    const cause = (error as Error).cause;
    if (fileErrorCode(cause) === 'ENOENT') {
      throw new CliError(
        `--journal: directory ${dirname(resolve(journalPath))} does not exist; create it first`,
        EXIT_USAGE,
        { cause: error },
      );
    }
    if (isPathProblem(cause)) {
      throw new CliError(
        `--journal: ${describeFileError(`${journalPath}.lock`, cause)}`,
        EXIT_USAGE,
        { cause: error },
      );
    }
    throw new CliError((error as Error).message, EXIT_USAGE, { cause: error });
  }
}

/**
 * Prints the summary, then the JSON document with `--json`, then writes `--links-out`, so a
 * failed write still leaves the summary on the terminal.
 *
 * @throws CliError (exit code 1) when the links file cannot be written.
 */
async function writeOutputs(
  settings: ManifestSendSettings,
  outcomes: readonly RecipientOutcome[],
  summary: RunSummary,
): Promise<void> {
  process.stderr.write(`${formatRunSummary(summary).join('\n')}\n`);

  // A failed print of the JSON summary is raised after the links file is written.
  let stdoutError: StdoutError | undefined;
  if (settings.json) {
    try {
      printJsonSummary(settings, outcomes, summary);
      await finishStdout();
    } catch (error) {
      if (!(error instanceof StdoutError)) {
        throw error;
      }
      stdoutError = error;
    }
  }

  if (settings.linksOut !== undefined) {
    const links = outcomes.flatMap((outcome) =>
      outcome.link === undefined ? [] : [{ email: outcome.email, link: outcome.link }],
    );
    try {
      await writeLinksFile(settings.linksOut, links);
    } catch (error) {
      throw new FileWriteError(
        'the links file (--links-out)',
        settings.linksOut,
        error,
        `run the same command again, which writes it; ${EXPORT_LINKS} too`,
      );
    }
  }
  if (stdoutError !== undefined) {
    throw stdoutError;
  }
}

function printJsonSummary(
  settings: ManifestSendSettings,
  outcomes: readonly RecipientOutcome[],
  summary: RunSummary,
): void {
  printJson(
    {
      server: settings.server,
      organization_id: settings.organizationId,
      summary,
      recipients: outcomes.map((outcome) => ({
        email: outcome.email,
        status: outcome.status,
        delivery: outcome.delivery ?? null,
        link: outcome.link ?? null,
        link_reused: outcome.link === undefined ? null : outcome.newProvision === false,
        provision_public_key: outcome.provisionPublicKey ?? null,
        boxes: outcome.boxes.map((box) => ({ id: box.id ?? null, title: box.title })),
        ...(outcome.error === undefined ? {} : { error: outcome.error }),
        ...(outcome.revokedAt === undefined ? {} : { revoked_at: outcome.revokedAt }),
      })),
    },
    `the JSON summary was not printed; ${EXPORT_LINKS}, and running the same command again prints the summary`,
  );
}
