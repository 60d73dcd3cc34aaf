import { constants } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
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
 * Flags of the outbox's `open`. With `O_NONBLOCK`, opening a named pipe that has no reader
 * fails with `ENXIO` instead of waiting for one. The flag does not change writes to a
 * regular file.
 */
const OUTBOX_OPEN_FLAGS =
  constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK;

/** The open outbox file and the identity of the file it was opened on. */
interface OpenOutbox {
  handle: FileHandle;
  device: number;
  inode: number;
}

/**
 * Development mailer: appends each message as one JSON line to
 * `<dataDir>/outbox.jsonl` (created with mode 0600) instead of sending it. Each
 * line is written with one `O_APPEND` write, so concurrent messages, from this process or
 * another one on the same data directory, do not interleave on a local file system.
 *
 * The file stays open between messages, so sending needs no new file descriptor, even
 * when connections have taken all the others. Before each message the mailer checks that
 * the path still names the open file, and opens the path again when the file was deleted
 * or replaced, such as by hand to clear the outbox.
 */
export class OutboxMailer {
  /** Absolute path of the outbox file. */
  readonly path: string;
  #file: Promise<OpenOutbox> | undefined;
  #closed = false;

  constructor(dataDir: string) {
    this.path = join(dataDir, OUTBOX_FILE_NAME);
  }

  /**
   * Appends one message to the outbox.
   *
   * @throws Error when the file cannot be opened or written, or the mailer is closed.
   */
  async send(message: SignInCodeMessage): Promise<void> {
    const line = Buffer.from(`${JSON.stringify(message)}\n`);
    const { handle } = await this.#openFile();
    const { bytesWritten } = await handle.write(line);
    if (bytesWritten !== line.length) {
      // NOTE: the part already written stays in the file, and the next line follows it.
      throw new Error(`wrote ${bytesWritten} of ${line.length} bytes of a message to ${this.path}`);
    }
  }

  /** Closes the outbox file; later messages are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    const file = this.#file;
    this.#file = undefined;
    const open = await file?.catch(() => undefined);
    await open?.handle.close();
  }

  /** Returns the open outbox file, opening it when it is not open or no longer at the path. */
  async #openFile(): Promise<OpenOutbox> {
    if (this.#closed) {
      throw new Error(`the outbox ${this.path} is closed`);
    }
    const file = this.#file ?? this.#openPath();
    this.#file = file;
    let open: OpenOutbox;
    try {
      open = await file;
    } catch (error) {
      if (this.#file === file) {
        this.#file = undefined;
      }
      throw error;
    }

    const onDisk = await stat(this.path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        return undefined;
      }
      throw error;
    });
    if (onDisk !== undefined && onDisk.dev === open.device && onDisk.ino === open.inode) {
      return open;
    }
    // Another message may have reopened the file meanwhile; only the first one does.
    if (this.#file === file) {
      this.#file = undefined;
      // FileHandle.close waits for the writes in progress on the old file.
      open.handle.close().catch(() => undefined);
    }
    return this.#openFile();
  }

  async #openPath(): Promise<OpenOutbox> {
    const handle = await open(this.path, OUTBOX_OPEN_FLAGS, 0o600).catch(
      (error: NodeJS.ErrnoException) => {
        throw error.code === 'ENXIO' ? this.#notRegularFile(error) : error;
      },
    );
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) {
        throw this.#notRegularFile();
      }
      return { handle, device: stats.dev, inode: stats.ino };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  #notRegularFile(cause?: Error): Error {
    return new Error(`the outbox ${this.path} is not a regular file`, { cause });
  }
}
