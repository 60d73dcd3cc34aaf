import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';

/** File name of the development outbox inside the data directory. */
export const OUTBOX_FILE_NAME = 'outbox.jsonl';

/** One sign-in code email, as written to the outbox. */
export interface SignInCodeMessage {
  /** Normalized recipient address. */
  to: string;
  subject: string;
  text: string;
  /** The 6-digit code, so tools can read it without parsing `text`. */
  code: string;
  /** RFC 3339 time the message was written. */
  created_at: string;
}

/**
 * Development mailer: appends each message as one JSON line to
 * `<dataDir>/outbox.jsonl` (created with mode 0600) instead of sending it. Each
 * line is written with one `O_APPEND` write, so concurrent messages do not
 * interleave on a local file system.
 */
export class OutboxMailer {
  /** Absolute path of the outbox file. */
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, OUTBOX_FILE_NAME);
  }

  /** Appends one message to the outbox. */
  async send(message: SignInCodeMessage): Promise<void> {
    await appendFile(this.path, `${JSON.stringify(message)}\n`, { mode: 0o600 });
  }
}
