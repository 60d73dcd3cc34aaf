import { createHash } from 'node:crypto';

import { type ApiClient, isApiError, unwrap } from '@provisions/api';
import {
  type BoxContent,
  formatInvitationLink,
  isCredentialsRejection,
  type OrganizationConnection,
  type ProvisionKeystoreEntry,
  sealInvitation,
  sealTextMessage,
} from '@provisions/core';
import type { FileKeystore } from '@provisions/core/keystore';
import {
  createProvision,
  decodeBase64Url,
  encodeBase64Url,
  generateKeyPair,
  hashShare,
  type ProvisionPayload,
  PUBLIC_KEY_LENGTH,
  SHARE_LENGTH,
} from '@provisions/crypto';

import type { CliError } from './cli-error.js';
import { asLocalWriteFailure, describeConnectionFailure, reportError } from './error-report.js';
import type { Journal } from './journal.js';
import { type LinkMailer, UnsupportedAddressError } from './link-mailer.js';
import type { PublicKeyLookups } from './public-key-lookups.js';
import {
  isRetryableNetworkError,
  isRetryableStatus,
  isWaitStatus,
  networkRetryDelay,
  problemDetailOf,
  type RetryEvent,
  type RetryPolicy,
  retryDelay,
  sleep,
} from './retry.js';
import {
  type BoxRecord,
  boxState,
  type RecipientRecord,
  type RecipientState,
  recipientState,
  type SendJournalState,
} from './send-journal.js';
import { SmtpServerError } from './smtp-server-error.js';

/**
 * Age after which a box prepared but never confirmed is not sent again, in
 * milliseconds: the server keeps an Idempotency-Key for 24 hours, so a later
 * retry could create a second box. One hour of margin is left.
 */
export const IDEMPOTENCY_WINDOW_MS = 23 * 60 * 60 * 1000;

/** Page size when counting a box's messages. */
const EVENTS_PAGE_LIMIT = 100;

/** One recipient of a manifest run. */
export interface BulkRecipient {
  /** Index in the manifest; journal records refer to it. */
  index: number;
  /** Normalized email address. */
  email: string;
  boxes: BoxContent[];
}

/** The outcome for one recipient, over this run and the earlier runs of the journal. */
export interface RecipientOutcome {
  index: number;
  email: string;
  /**
   * `skipped` when the run stopped before it started this recipient, `revoked` when the
   * recipient's provision was revoked with `provisions revoke` or `keystore revoke`.
   */
  status: 'done' | 'failed' | 'skipped' | 'revoked';
  delivery?: 'identity' | 'provision';
  /** Whether the provision was created for this manifest (else an earlier one was reused). */
  newProvision?: boolean;
  provisionPublicKey?: string;
  /** The invitation link, for provision delivery. A secret. */
  link?: string;
  boxes: { title: string; id?: string }[];
  /** Boxes this process created (the others were created by an earlier run). */
  boxesCreatedNow: number;
  /** Whether the journal records the link as emailed, by this run or an earlier one. */
  linkEmailed?: boolean;
  /** Whether this process emailed the link. */
  linkEmailedNow?: boolean;
  /** The reason the recipient failed, without any secret. */
  error?: string;
  /**
   * Whether `error` names a step to take first, such as a revoke, because the same command run
   * again would fail the recipient the same way.
   */
  needsStep?: boolean;
  /** RFC 3339 time the keystore recorded the revocation of the provision, for `revoked`. */
  revokedAt?: string;
  /**
   * The network failure, such as `connection refused`, when the recipient failed because a
   * request got no response after its retries.
   */
  unreachable?: string;
  /** The failed write of the journal or keystore that failed the recipient; it stops the run. */
  writeFailure?: CliError;
  /** The reason the SMTP server could not take the recipient's email. It stops the run. */
  smtpFailure?: string;
  /**
   * Whether the recipient failed because the server rejected the organization's credentials
   * when the run renewed its token (401 `invalid_client`). It stops the run.
   */
  credentialsRejected?: boolean;
}

/** The outcome of a recipient that the run started: never `skipped`. */
export type FinishedOutcome = RecipientOutcome & { status: 'done' | 'failed' | 'revoked' };

/** Everything a recipient's sending needs, shared by all workers of a run. */
export interface BulkSendContext {
  organization: OrganizationConnection;
  /** Key look-ups of the recipients, fetched in batches. */
  lookups: PublicKeyLookups;
  keystore: FileKeystore;
  journal: Journal;
  state: SendJournalState;
  runId: string;
  appUrl: string;
  retryPolicy: RetryPolicy;
  /** Recipients whose records came from an earlier process; their boxes are checked before posting. */
  resumed: ReadonlySet<number>;
  /** Called before each retry of a message post. */
  onRetry?: (event: RetryEvent) => void;
  /**
   * Writes that the next steps do not wait for; the run awaits them all before
   * it reports, and a failed one fails the run.
   */
  background: Promise<void>[];
  /** Emails each link once (recorded in the journal), with `--email-links`. */
  mailer?: LinkMailer;
}

/** A failure that ends one recipient with a reason; the run goes on with the others. */
class RecipientFailure extends Error {}

/**
 * A recipient failure whose message names a step to take, because a plain re-run would fail the
 * recipient the same way.
 */
class StepFirstFailure extends RecipientFailure {}

/**
 * Sends all boxes of one recipient, resuming from what the journal records,
 * and returns the outcome; it never throws for a failure of this recipient.
 *
 * Order of durable steps, which makes a run safe to kill at any point:
 * 1. a new provision's user key share (and, until the server confirms it,
 *    its server share) is stored in the keystore;
 * 2. the recipient record, then each box record (with the sealed box key)
 *    is synced to the journal before its creation request, which carries an
 *    Idempotency-Key derived from that record, so a repeat returns the first box;
 * 3. each message post is recorded after the server stored it; a box whose
 *    messages may have been posted by a killed process is checked by
 *    counting its messages on the server first.
 */
export async function sendRecipient(
  context: BulkSendContext,
  recipient: BulkRecipient,
): Promise<FinishedOutcome> {
  const state = recipientState(context.state, recipient.index);
  const boxesCreatedBefore = [...state.boxes.values()].filter((box) => box.id !== undefined).length;

  const revoked = revokedOutcome(context, recipient, state);
  if (revoked !== undefined) {
    return revoked;
  }

  try {
    if (state.done) {
      await checkServerProvision(context, recipient, state);
      dropLeftoverServerShare(context, recipient, state);
    } else {
      await deliver(context, recipient, state);
    }
    const outcome = await describeDone(context, recipient, state, boxesCreatedBefore);
    if (context.mailer !== undefined && outcome.link !== undefined && !state.linkEmailed) {
      await emailLink(context, context.mailer, recipient, state, outcome.link);
      outcome.linkEmailedNow = true;
    }
    outcome.linkEmailed = state.linkEmailed;
    return outcome;
  } catch (error) {
    const reason = error instanceof RecipientFailure ? error.message : reportError(error).message;
    const unreachable = describeConnectionFailure(error);
    const writeFailure = asLocalWriteFailure(error);
    const smtpFailure = error instanceof RecipientFailure ? error.cause : undefined;
    return {
      index: recipient.index,
      email: recipient.email,
      status: 'failed',
      ...describeDecision(state.decision),
      boxes: recipient.boxes.map((box, b) => ({ title: box.title, id: state.boxes.get(b)?.id })),
      boxesCreatedNow: countCreated(state) - boxesCreatedBefore,
      linkEmailed: state.linkEmailed,
      error: reason,
      ...(error instanceof StepFirstFailure ? { needsStep: true } : {}),
      ...(unreachable === undefined ? {} : { unreachable }),
      ...(writeFailure === undefined ? {} : { writeFailure }),
      ...(smtpFailure instanceof SmtpServerError ? { smtpFailure: smtpFailure.message } : {}),
      ...(isCredentialsRejection(error) ? { credentialsRejected: true } : {}),
    };
  }
}

/** Returns the delivery fields of an outcome from the journal's decision, if there is one. */
function describeDecision(
  decision: RecipientRecord | undefined,
): Pick<RecipientOutcome, 'delivery' | 'newProvision' | 'provisionPublicKey'> {
  if (decision === undefined) {
    return {};
  }
  if (decision.delivery === 'identity') {
    return { delivery: 'identity' };
  }
  return {
    delivery: 'provision',
    newProvision: decision.new_provision,
    provisionPublicKey: decision.public_key,
  };
}

/**
 * Returns the outcome of a recipient whose provision the keystore records as revoked, or
 * `undefined`. Such a recipient gets no more boxes and no link: the boxes already sent are
 * sealed to the revoked provision, which a new link cannot open.
 */
function revokedOutcome(
  context: BulkSendContext,
  recipient: BulkRecipient,
  state: RecipientState,
): FinishedOutcome | undefined {
  const decision = state.decision;
  if (decision?.delivery !== 'provision') {
    return undefined;
  }
  const revocation = context.keystore.getRevocation(decision.public_key);
  if (revocation === undefined) {
    return undefined;
  }

  return {
    index: recipient.index,
    email: recipient.email,
    status: 'revoked',
    ...describeDecision(decision),
    boxes: recipient.boxes.map((box, b) => ({ title: box.title, id: state.boxes.get(b)?.id })),
    boxesCreatedNow: 0,
    linkEmailed: state.linkEmailed,
    revokedAt: revocation.revoked_at,
  };
}

/** Returns the outcome of a recipient that the run did not start, with what the journal records. */
export function skippedOutcome(
  context: BulkSendContext,
  recipient: BulkRecipient,
): RecipientOutcome {
  const state = context.state.recipients.get(recipient.index);
  return {
    index: recipient.index,
    email: recipient.email,
    status: 'skipped',
    ...describeDecision(state?.decision),
    boxes: recipient.boxes.map((box, b) => ({ title: box.title, id: state?.boxes.get(b)?.id })),
    boxesCreatedNow: 0,
  };
}

async function emailLink(
  context: BulkSendContext,
  mailer: LinkMailer,
  recipient: BulkRecipient,
  state: RecipientState,
  link: string,
): Promise<void> {
  try {
    await mailer.send(recipient.email, link);
  } catch (error) {
    if (error instanceof UnsupportedAddressError) {
      throw new StepFirstFailure(
        `the boxes were sent, but the link was not emailed: ${error.message}`,
        { cause: error },
      );
    }
    if (error instanceof SmtpServerError) {
      throw new RecipientFailure(
        `the boxes were sent, but the link was not emailed: ${error.message}`,
        { cause: error },
      );
    }
    throw new RecipientFailure(
      `the boxes were sent, but emailing the link failed (${(error as Error).message}); run again to retry the email`,
    );
  }

  // NOTE: a process that ends between the send and this line emails the same link again on the
  // next run (at-least-once delivery).
  await context.journal.append({ type: 'link_emailed', r: recipient.index });
  state.linkEmailed = true;
}

async function deliver(
  context: BulkSendContext,
  recipient: BulkRecipient,
  state: RecipientState,
): Promise<void> {
  const decision = state.decision ?? (await decide(context, recipient, state));
  const recipientKey = decodeBase64Url(decision.public_key, {
    length: PUBLIC_KEY_LENGTH,
    name: 'recipient public key',
  });

  for (const [b, box] of recipient.boxes.entries()) {
    await sendBox(context, recipient, state, decision, recipientKey, b, box);
  }

  await context.journal.append({ type: 'recipient_done', r: recipient.index });
  state.done = true;

  // Only after the box creation is on record, so a resumed run never needs the share.
  if (decision.new_provision) {
    inBackground(context, dropServerShare(context.keystore, recipient.email, decision.public_key));
  }
}

/**
 * Drops the server's key share from the keystore entry of a recipient that an earlier process
 * finished. That process drops it after the recipient's last step, so the share stays when the
 * process ended, or its keystore write failed, in between. The keystore would otherwise keep both
 * shares of the provision for good, and `keystore export` would leave the link out as pending.
 */
function dropLeftoverServerShare(
  context: BulkSendContext,
  recipient: BulkRecipient,
  state: RecipientState,
): void {
  if (state.decision?.delivery !== 'provision') {
    return;
  }
  inBackground(
    context,
    dropServerShare(context.keystore, recipient.email, state.decision.public_key),
  );
}

async function decide(
  context: BulkSendContext,
  recipient: BulkRecipient,
  state: RecipientState,
): Promise<RecipientRecord> {
  const lookup = await context.lookups.lookUp(recipient.email);

  let decision: RecipientRecord;
  if (lookup.identity_public_key !== null) {
    decision = record(recipient, 'identity', lookup.identity_public_key, false);
  } else {
    const entry = await context.keystore.get(recipient.email);
    const active = lookup.provisions;

    if (entry !== undefined && active.some((item) => item.public_key === entry.public_key)) {
      if (entry.misakey_key_share !== undefined) {
        await dropServerShare(context.keystore, recipient.email, entry.public_key);
      }
      decision = record(recipient, 'provision', entry.public_key, false);
    } else if (active[0] !== undefined) {
      throw new StepFirstFailure(
        `has an active provision (public key ${active[0].public_key}) whose key share is not in this keystore, so its link cannot be rebuilt: revoke it with "provisions revoke ${active[0].public_key}" and run again`,
      );
    } else if (entry !== undefined && entry.misakey_key_share === undefined) {
      // The entry's link may have been given to the person, so a new provision would change
      // their link without a word. A pending entry's run never gave its link, and is replaced.
      throw unknownProvisionFailure(recipient.email, entry.public_key);
    } else {
      const publicKey = await createAndStoreProvision(context.keystore, recipient.email);
      decision = record(recipient, 'provision', publicKey, true);
    }
  }

  // Not awaited: the box record appended next is, and the journal writes lines in order.
  inBackground(context, context.journal.append({ ...decision }));
  state.decision = decision;
  return decision;
}

function record(
  recipient: BulkRecipient,
  delivery: RecipientRecord['delivery'],
  publicKey: string,
  newProvision: boolean,
): RecipientRecord {
  return {
    type: 'recipient',
    r: recipient.index,
    email: recipient.email,
    delivery,
    public_key: publicKey,
    new_provision: newProvision,
  };
}

async function createAndStoreProvision(keystore: FileKeystore, email: string): Promise<string> {
  const provision = await createProvision();
  const entry: ProvisionKeystoreEntry = {
    public_key: provision.payload.public_key,
    user_key_share: encodeBase64Url(provision.userKeyShare),
    created_at: new Date().toISOString(),
    misakey_key_share: provision.payload.misakey_key_share,
  };
  provision.secretKey.fill(0);
  provision.userKeyShare.fill(0);

  // Durable before the server can learn of the provision, so its link is never lost.
  await keystore.put(email, entry);
  return entry.public_key;
}

/**
 * Removes the server's key share from the keystore entry of `email`, once the server has the
 * provision with `publicKey`. An entry of another provision is left as it is.
 */
async function dropServerShare(
  keystore: FileKeystore,
  email: string,
  publicKey: string,
): Promise<void> {
  const entry = await keystore.get(email);
  if (entry?.misakey_key_share === undefined || entry.public_key !== publicKey) {
    return;
  }
  const { misakey_key_share: _serverShare, ...rest } = entry;
  await keystore.put(email, rest);
}

async function sendBox(
  context: BulkSendContext,
  recipient: BulkRecipient,
  state: RecipientState,
  decision: RecipientRecord,
  recipientKey: Uint8Array,
  b: number,
  box: BoxContent,
): Promise<void> {
  const current = boxState(state, b);
  if (current.id !== undefined && current.postedMessages >= box.messages.length) {
    return;
  }

  const prepared =
    current.prepared ?? (await prepareBox(context, recipient, decision, recipientKey, b));
  current.prepared = prepared;

  let boxId = current.id;
  if (boxId === undefined) {
    boxId = await createBox(context, recipient, decision, box, prepared);
    // Not awaited: if this line is lost, a resumed run repeats the idempotent request.
    inBackground(
      context,
      context.journal.append({ type: 'box_created', r: recipient.index, b, id: boxId }),
    );
    current.id = boxId;
  }

  const boxPublicKey = decodeBase64Url(prepared.public_key, {
    length: PUBLIC_KEY_LENGTH,
    name: 'box public key',
  });

  // A killed process may have posted messages it did not record.
  if (context.resumed.has(recipient.index) && current.postedMessages < box.messages.length) {
    const onServer = await countOrganizationMessages(context.organization.client, boxId);
    current.postedMessages = Math.max(current.postedMessages, onServer);
  }

  // Message lines are not awaited: a resumed run counts the messages on the server.
  for (let m = current.postedMessages; m < box.messages.length; m += 1) {
    await postMessage(context, boxId, boxPublicKey, box.messages[m] as string, m);
    current.postedMessages = m + 1;
    inBackground(context, context.journal.append({ type: 'message', r: recipient.index, b, m }));
  }
}

async function prepareBox(
  context: BulkSendContext,
  recipient: BulkRecipient,
  decision: RecipientRecord,
  recipientKey: Uint8Array,
  b: number,
): Promise<BoxRecord> {
  const keyPair = await generateKeyPair();
  let invitation: string;
  try {
    invitation = await sealInvitation(keyPair.secretKey, recipientKey);
  } finally {
    keyPair.secretKey.fill(0);
  }

  const prepared: BoxRecord = {
    type: 'box',
    r: recipient.index,
    b,
    public_key: encodeBase64Url(keyPair.publicKey),
    invitation,
    with_provision: b === 0 && decision.new_provision,
    prepared_at: new Date().toISOString(),
  };
  await context.journal.append({ ...prepared });
  return prepared;
}

async function createBox(
  context: BulkSendContext,
  recipient: BulkRecipient,
  decision: RecipientRecord,
  box: BoxContent,
  prepared: BoxRecord,
): Promise<string> {
  if (Date.now() - Date.parse(prepared.prepared_at) > IDEMPOTENCY_WINDOW_MS) {
    throw new StepFirstFailure(
      `box "${box.title}" was prepared more than 23 hours ago and its creation was never confirmed; the server forgets Idempotency-Keys after 24 hours, so sending it again could create a second box: check the recipient's boxes, then move the journal away to send again`,
    );
  }

  const provisions = prepared.with_provision
    ? { [recipient.email]: await provisionPayload(context.keystore, recipient.email, decision) }
    : undefined;

  const body = {
    title: box.title,
    public_key: prepared.public_key,
    crypto: {
      invitation_data: { [decision.public_key]: prepared.invitation },
      ...(provisions === undefined ? {} : { provisions }),
    },
  };

  try {
    const created = unwrap(
      await context.organization.client.POST('/organizations/{oid}/boxes', {
        params: {
          path: { oid: context.organization.organizationId },
          header: { 'Idempotency-Key': idempotencyKey(context.runId, prepared) },
        },
        body,
      }),
    );
    return created.id;
  } catch (error) {
    if (decision.delivery === 'provision' && isUnknownInvitationKey(error, decision.public_key)) {
      throw unknownProvisionFailure(recipient.email, decision.public_key);
    }
    throw error;
  }
}

/** Problem type of the server's 422 for an `invitation_data` key it has no active provision for. */
const UNKNOWN_INVITATION_KEY = 'urn:provisions:problem:unknown-invitation-key';

/** Tells whether `error` is the server's 422 that names `publicKey` as an unknown invitation key. */
function isUnknownInvitationKey(error: unknown, publicKey: string): boolean {
  return (
    isApiError(error) &&
    error.status === 422 &&
    error.problem.type === UNKNOWN_INVITATION_KEY &&
    (error.problem.errors ?? []).some(
      (item) => item.pointer === `/crypto/invitation_data/${publicKey}`,
    )
  );
}

/**
 * Returns the failure of a recipient whose keystore entry records provision `publicKey`,
 * which the server does not have as an active provision, so the entry's link opens nothing.
 */
function unknownProvisionFailure(email: string, publicKey: string): StepFirstFailure {
  return new StepFirstFailure(
    `the server has no active provision ${publicKey} for the link recorded in the keystore, so that link no longer opens anything (the server was restored from a backup made before the provision was created, or the provision was revoked without this keystore): run "provisions keystore revoke ${email}" to drop the entry, then send to this person again, which creates a new link that they must receive`,
  );
}

/**
 * Checks that the server still has the provision of a recipient that an earlier process
 * finished, whose link the run gives again. A server restored from an older backup lost it.
 * A keystore entry of another provision is left to {@link describeDone}.
 */
async function checkServerProvision(
  context: BulkSendContext,
  recipient: BulkRecipient,
  state: RecipientState,
): Promise<void> {
  const decision = state.decision;
  if (decision?.delivery !== 'provision') {
    return;
  }
  const entry = await context.keystore.get(recipient.email);
  if (entry?.public_key !== decision.public_key) {
    return;
  }

  const lookup = await context.lookups.lookUp(recipient.email);
  if (!lookup.provisions.some((provision) => provision.public_key === decision.public_key)) {
    throw unknownProvisionFailure(recipient.email, decision.public_key);
  }
}

/**
 * Derives the Idempotency-Key of a box creation from its journal record: the
 * run id, the recipient and box indices and the box public key, hashed with
 * SHA-256 (base64url, 43 characters after the `box-` prefix).
 */
export function idempotencyKey(runId: string, prepared: BoxRecord): string {
  const digest = createHash('sha256')
    .update(`${runId}:${prepared.r}:${prepared.b}:${prepared.public_key}`)
    .digest('base64url');
  return `box-${digest}`;
}

async function provisionPayload(
  keystore: FileKeystore,
  email: string,
  decision: RecipientRecord,
): Promise<ProvisionPayload> {
  const entry = await keystore.get(email);
  if (entry === undefined || entry.public_key !== decision.public_key) {
    throw new StepFirstFailure(
      'the keystore entry of this recipient is missing or was replaced since this run created the provision: restore the keystore, or revoke the provision and move the journal away',
    );
  }
  if (entry.misakey_key_share === undefined) {
    throw new StepFirstFailure(
      "the keystore entry of this recipient lost the provision's server share, so its first box cannot be sent again with the same body: revoke the provision and move the journal away",
    );
  }

  const userShare = decodeBase64Url(entry.user_key_share, {
    length: SHARE_LENGTH,
    name: 'user_key_share',
  });
  try {
    return {
      public_key: entry.public_key,
      misakey_key_share: entry.misakey_key_share,
      user_key_share_hash: encodeBase64Url(await hashShare(userShare)),
    };
  } finally {
    userShare.fill(0);
  }
}

/**
 * Posts message `m` of a box. Message posts have no Idempotency-Key, so
 * after a failure that may have stored it (no response, 429, 5xx) the box's
 * messages are counted on the server before posting again. A response timeout
 * fails the recipient without a retry, as in `createRetryingFetch`.
 */
async function postMessage(
  context: BulkSendContext,
  boxId: string,
  boxPublicKey: Uint8Array,
  text: string,
  m: number,
): Promise<void> {
  const { client } = context.organization;
  const content = await sealTextMessage(text, boxPublicKey);

  for (let attempt = 1; ; attempt += 1) {
    let delayMs: number;
    let reason: RetryEvent['reason'] = 'network';
    let detail: string | undefined;
    try {
      const result = await client.POST('/boxes/{id}/events', {
        params: { path: { id: boxId } },
        body: { type: 'msg.text', content },
      });
      if (result.response.ok) {
        return;
      }
      if (!isRetryableStatus(result.response.status) || attempt >= context.retryPolicy.attempts) {
        unwrap(result);
      }
      const retryAfter = result.response.headers.get('retry-after');
      delayMs = retryDelay(attempt, context.retryPolicy, retryAfter);
      reason = result.response.status;
      detail = isWaitStatus(reason) ? problemDetailOf(result.error) : undefined;
    } catch (error) {
      if (!isRetryableNetworkError(error) || attempt >= context.retryPolicy.attempts) {
        throw error;
      }
      delayMs = networkRetryDelay(attempt, context.retryPolicy);
    }

    context.onRetry?.({
      method: 'POST',
      path: '/boxes/{id}/events',
      reason,
      delayMs,
      ...(detail === undefined ? {} : { detail }),
    });
    await sleep(delayMs);
    if ((await countOrganizationMessages(client, boxId)) > m) {
      return;
    }
  }
}

/** Counts the `msg.text` events the organization posted to a box, over all pages. */
async function countOrganizationMessages(client: ApiClient, boxId: string): Promise<number> {
  let count = 0;
  let cursor: string | undefined;

  do {
    const page = unwrap(
      await client.GET('/boxes/{id}/events', {
        params: {
          path: { id: boxId },
          query: { limit: EVENTS_PAGE_LIMIT, ...(cursor === undefined ? {} : { cursor }) },
        },
      }),
    );
    count += page.items.filter(
      (event) => event.type === 'msg.text' && event.sender.type === 'organization',
    ).length;
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);

  return count;
}

async function describeDone(
  context: BulkSendContext,
  recipient: BulkRecipient,
  state: RecipientState,
  boxesCreatedBefore: number,
): Promise<FinishedOutcome> {
  const decision = state.decision;
  if (decision === undefined) {
    throw new RecipientFailure('the journal marks this recipient done but has no delivery record');
  }

  const outcome: FinishedOutcome = {
    index: recipient.index,
    email: recipient.email,
    status: 'done',
    delivery: decision.delivery,
    boxes: recipient.boxes.map((box, b) => ({ title: box.title, id: state.boxes.get(b)?.id })),
    boxesCreatedNow: countCreated(state) - boxesCreatedBefore,
  };
  if (decision.delivery === 'identity') {
    return outcome;
  }

  const entry = await context.keystore.get(recipient.email);
  if (entry === undefined) {
    throw new StepFirstFailure(
      "the keystore entry of this recipient's provision is missing, so the link cannot be rebuilt: restore the keystore from a backup",
    );
  }
  if (entry.public_key !== decision.public_key) {
    throw new StepFirstFailure(
      `the keystore entry of this recipient contains another provision (public key ${entry.public_key}, created ${entry.created_at}) than the one this run sent to (${decision.public_key}), so the link of this run cannot be rebuilt and the current link does not open this run's boxes: to reach this person with them, send them in a new manifest`,
    );
  }

  const share = decodeBase64Url(entry.user_key_share, {
    length: SHARE_LENGTH,
    name: 'user_key_share',
  });
  try {
    outcome.link = formatInvitationLink(context.appUrl, share);
  } finally {
    share.fill(0);
  }
  outcome.newProvision = decision.new_provision;
  outcome.provisionPublicKey = decision.public_key;
  return outcome;
}

/** Starts a write the next steps do not wait for; `sendAll`'s caller awaits it. */
function inBackground(context: BulkSendContext, write: Promise<void>): void {
  // Marked as handled here; the failure still surfaces when the run awaits the list.
  write.catch(() => undefined);
  context.background.push(write);
}

function countCreated(state: RecipientState): number {
  return [...state.boxes.values()].filter((box) => box.id !== undefined).length;
}
