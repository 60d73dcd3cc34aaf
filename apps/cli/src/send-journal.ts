import type { JournalRecord } from './journal.js';

/** Version of the journal records `send --manifest` writes. */
export const SEND_JOURNAL_VERSION = 1;

/**
 * Type of the journal record of a run that stopped once on a truncated keystore, after which the
 * next run goes on without the lost entries.
 */
export const KEYSTORE_LOSS_ACCEPTED = 'keystore_loss_accepted';

/** The first line of a journal: which run, manifest, organization and server it belongs to. */
export interface RunRecord {
  type: 'run';
  version: number;
  /** Random id of the run; it makes Idempotency-Keys unique across runs. */
  run_id: string;
  /** SHA-256 of the validated manifest (messages of files included), hex. */
  manifest_sha256: string;
  organization_id: string;
  server_url: string;
  created_at: string;
}

/** The delivery of a recipient's boxes, decided once and kept across resumes. */
export interface RecipientRecord {
  type: 'recipient';
  /** Recipient index in the manifest. */
  r: number;
  email: string;
  delivery: 'identity' | 'provision';
  /** The identity or provision public key the box keys are sealed to. */
  public_key: string;
  /** Whether this run created the provision (its user key share is in the keystore). */
  new_provision: boolean;
}

/**
 * A box about to be created: written, and synced, before the request, so a
 * resumed run sends the same body with the same Idempotency-Key.
 */
export interface BoxRecord {
  type: 'box';
  r: number;
  /** Box index within the recipient. */
  b: number;
  /** Box public key. */
  public_key: string;
  /** The box secret key sealed to the recipient key (only the recipient opens it). */
  invitation: string;
  /** Whether the request carries the recipient's new provision. */
  with_provision: boolean;
  prepared_at: string;
}

/** The server confirmed the box. */
export interface BoxCreatedRecord {
  type: 'box_created';
  r: number;
  b: number;
  id: string;
}

/** The server stored message `m` of a box. */
export interface MessageRecord {
  type: 'message';
  r: number;
  b: number;
  m: number;
}

/** Every box and message of the recipient is on the server (`recipient_done`), or the link was emailed (`link_emailed`). */
export interface RecipientDoneRecord {
  type: 'recipient_done' | 'link_emailed';
  r: number;
}

/** The journal's record of one box. */
export interface BoxState {
  prepared?: BoxRecord;
  id?: string;
  /** Messages the journal records as posted; messages are posted in order. */
  postedMessages: number;
}

/** The journal's record of one recipient. */
export interface RecipientState {
  decision?: RecipientRecord;
  boxes: Map<number, BoxState>;
  done: boolean;
  /** Whether `--email-links` already emailed the link. */
  linkEmailed: boolean;
}

/** The state rebuilt from a journal. */
export interface SendJournalState {
  run?: RunRecord;
  recipients: Map<number, RecipientState>;
  /**
   * Whether a run stopped once on a truncated keystore ({@link KEYSTORE_LOSS_ACCEPTED}), so that
   * the next run goes on without the lost entries.
   */
  keystoreLossAccepted: boolean;
}

/** Returns the state of recipient `r`, creating an empty one. */
export function recipientState(state: SendJournalState, r: number): RecipientState {
  let recipient = state.recipients.get(r);
  if (recipient === undefined) {
    recipient = { boxes: new Map(), done: false, linkEmailed: false };
    state.recipients.set(r, recipient);
  }
  return recipient;
}

/** Returns the state of box `b` of `recipient`, creating an empty one. */
export function boxState(recipient: RecipientState, b: number): BoxState {
  let box = recipient.boxes.get(b);
  if (box === undefined) {
    box = { postedMessages: 0 };
    recipient.boxes.set(b, box);
  }
  return box;
}

/**
 * Applies one record to `state`. Records of unknown type are ignored, so a
 * newer CLI can add record types that an older one skips.
 */
export function applyRecord(state: SendJournalState, record: JournalRecord): void {
  switch (record.type) {
    case 'run':
      state.run = record as unknown as RunRecord;
      return;
    case 'recipient': {
      const decision = record as unknown as RecipientRecord;
      recipientState(state, decision.r).decision = decision;
      return;
    }
    case 'box': {
      const prepared = record as unknown as BoxRecord;
      boxState(recipientState(state, prepared.r), prepared.b).prepared = prepared;
      return;
    }
    case 'box_created': {
      const created = record as unknown as BoxCreatedRecord;
      boxState(recipientState(state, created.r), created.b).id = created.id;
      return;
    }
    case 'message': {
      const message = record as unknown as MessageRecord;
      const box = boxState(recipientState(state, message.r), message.b);
      box.postedMessages = Math.max(box.postedMessages, message.m + 1);
      return;
    }
    case 'recipient_done':
      recipientState(state, (record as unknown as RecipientDoneRecord).r).done = true;
      return;
    case 'link_emailed':
      recipientState(state, (record as unknown as RecipientDoneRecord).r).linkEmailed = true;
      return;
    case KEYSTORE_LOSS_ACCEPTED:
      state.keystoreLossAccepted = true;
      return;
    default:
      return;
  }
}

/** Rebuilds the state from all records of a journal, in order. */
export function replayJournal(records: readonly JournalRecord[]): SendJournalState {
  const state: SendJournalState = { recipients: new Map(), keystoreLossAccepted: false };
  for (const record of records) {
    applyRecord(state, record);
  }
  return state;
}
