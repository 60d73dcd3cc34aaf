import type { MessageSender, ReceivedBox, SendBoxesResult } from '@provisions/core';

/** JSON summary of one recipient of `send` or `demo`. */
export interface DeliverySummary {
  email: string;
  delivery: 'identity' | 'provision';
  /** The invitation link, or null for delivery to an identity key. */
  link: string | null;
  /** Whether the link existed before this run, or null when there is no link. */
  link_reused: boolean | null;
  /** The provision public key, or null for delivery to an identity key. */
  provision_public_key: string | null;
  boxes: { id: string; title: string }[];
}

/** JSON summary of the boxes a person opened. */
export interface OpenedSummary {
  email: string;
  /** `link` when opened with an invitation link, `identity` with an identity key. */
  via: 'link' | 'identity';
  boxes: {
    id: string;
    title: string;
    messages: OpenedMessage[];
    /** Messages that could not be read, with the reason; the others are still shown. */
    unreadable_messages: { id: string; reason: string }[];
  }[];
}

/** JSON summary of one opened message. */
export interface OpenedMessage {
  /** Event id. */
  id: string;
  text: string;
  /**
   * Sender as the server recorded it. Any member may post to a box, so a message of any
   * sender type other than `organization` is from a person, not from the organization.
   */
  sender: MessageSender;
}

/** Converts the result of `sendBoxes` to its JSON summary. */
export function summarizeDelivery(result: SendBoxesResult): DeliverySummary {
  return {
    email: result.recipient,
    delivery: result.delivery,
    link: result.link ?? null,
    link_reused: result.provision === undefined ? null : result.provision.reused,
    provision_public_key: result.provision?.publicKey ?? null,
    boxes: result.boxes.map((box) => ({ id: box.id, title: box.title })),
  };
}

/** Converts opened boxes to their JSON summary. */
export function summarizeOpened(
  email: string,
  via: 'link' | 'identity',
  boxes: ReceivedBox[],
): OpenedSummary {
  return {
    email,
    via,
    boxes: boxes.map((box) => ({
      id: box.id,
      title: box.title,
      messages: box.messages.map(({ id, text, sender }) => ({
        id,
        text,
        sender: { type: sender.type, id: sender.id },
      })),
      unreadable_messages: box.unreadableMessages.map(({ id, reason }) => ({ id, reason })),
    })),
  };
}

/**
 * Formats one recipient's delivery for people: the delivery, the link if
 * any (or, when `showLink` is false, how to get it), and one line per box,
 * indented by `indent`.
 */
export function formatDelivery(summary: DeliverySummary, indent = '', showLink = true): string[] {
  const lines: string[] = [];

  if (summary.delivery === 'identity') {
    lines.push(`${indent}${summary.email}: auto-invited with their identity key, no link needed`);
  } else {
    lines.push(
      `${indent}${summary.email}: ${summary.link_reused === true ? 'link reused' : 'new link'}`,
    );
    lines.push(
      showLink
        ? `${indent}  ${summary.link}`
        : `${indent}  (link not shown: add --print-links, or run "provisions keystore export")`,
    );
  }

  for (const box of summary.boxes) {
    lines.push(`${indent}  box ${box.id}  ${printable(box.title)}`);
  }

  return lines;
}

/**
 * Formats opened boxes for people: each title, then each message indented.
 * Boxes whose id is in `newBoxIds` are marked "new". A message that a box member posted
 * is marked as not from the sender, and each of its lines starts with `|`, so a line of
 * its text cannot pass for another message.
 */
export function formatOpenedBoxes(
  boxes: OpenedSummary['boxes'],
  indent = '',
  newBoxIds: ReadonlySet<string> = new Set(),
): string[] {
  const lines: string[] = [];

  for (const box of boxes) {
    const marker = newBoxIds.has(box.id) ? ', new' : '';
    lines.push(`${indent}${printable(box.title)}  (box ${box.id}${marker})`);
    if (box.messages.length === 0 && box.unreadable_messages.length === 0) {
      lines.push(`${indent}  (no messages)`);
    }
    for (const message of box.messages) {
      lines.push(...formatMessage(message, indent));
    }
    for (const unreadable of box.unreadable_messages) {
      lines.push(`${indent}  ! not shown: ${unreadable.reason}`);
    }
  }

  return lines;
}

/** Label of a message that a box member posted, in the words of the recipient page. */
const MEMBER_MESSAGE_LABEL = 'From a member of this box, not from the sender:';

function formatMessage(message: OpenedMessage, indent: string): string[] {
  const textLines = printable(message.text).split('\n');
  if (message.sender.type === 'organization') {
    const [first, ...rest] = textLines;
    return [`${indent}  - ${first}`, ...rest.map((line) => `${indent}    ${line}`)];
  }

  return [
    `${indent}  - ${MEMBER_MESSAGE_LABEL}`,
    ...textLines.map((line) => `${indent}    | ${line}`),
  ];
}

// Titles and messages come from the sender; control characters other than
// line feed and tab could rewrite the terminal, so they are shown as U+FFFD.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the pattern matches control characters on purpose.
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

function printable(text: string): string {
  return text.replace(CONTROL_CHARACTERS, '\ufffd');
}
