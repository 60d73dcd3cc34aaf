import { type FileHandle, open } from 'node:fs/promises';

import { CliError, EXIT_USAGE, FileWriteError } from './cli-error.js';

/** One parsed journal line: a JSON object with a string `type`. */
export type JournalRecord = { type: string } & Record<string, unknown>;

interface PendingAppend {
  line: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * An append-only file of JSON lines that makes a long run resumable.
 *
 * Each {@link Journal.append} resolves once its line is on disk (fsync).
 * Lines appended while a write is running are written and synced together
 * by the next write, so many concurrent appends cost few fsyncs.
 *
 * A process killed during a write can leave a last line without its line
 * feed; {@link Journal.open} cuts it off, so that line counts as never
 * written. The file has mode 0600.
 */
export class Journal {
  /** Path of the journal file. */
  readonly path: string;

  readonly #handle: FileHandle;
  #pending: PendingAppend[] = [];
  #writing: Promise<void> | undefined;
  #failure: unknown;

  private constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.#handle = handle;
  }

  /**
   * Opens or creates the journal at `path` and returns it with its records.
   *
   * @throws CliError (exit code 2) when the file cannot be opened, or naming
   *   the line of a complete line that is not a JSON object with a `type`.
   *   Such a line means another program changed the journal.
   */
  static async open(path: string): Promise<{ journal: Journal; records: JournalRecord[] }> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'a+', 0o600);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code ?? 'error';
      throw new CliError(`cannot open journal ${path} (${code})`, EXIT_USAGE, { cause });
    }

    try {
      const text = (await handle.readFile()).toString('utf8');
      const complete = text.lastIndexOf('\n') + 1;
      if (complete < text.length) {
        await handle.truncate(Buffer.byteLength(text.slice(0, complete), 'utf8'));
        await handle.sync();
      }

      const records = parseLines(text.slice(0, complete), path);
      return { journal: new Journal(path, handle), records };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * Appends `record` as one line; resolves once it and every line appended
   * before it are durable. After a failed write every later append fails
   * too, so a line is never on disk without the lines before it.
   *
   * @throws FileWriteError naming the journal when a write fails.
   */
  append(record: JournalRecord): Promise<void> {
    if (this.#failure !== undefined) {
      return Promise.reject(this.#failure);
    }
    const line = `${JSON.stringify(record)}\n`;

    return new Promise((resolve, reject) => {
      this.#pending.push({ line, resolve, reject });
      if (this.#writing === undefined) {
        this.#writing = this.#drain();
      }
    });
  }

  /** Waits for pending appends, then closes the file. */
  async close(): Promise<void> {
    await this.#writing;
    await this.#handle.close();
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0);
      try {
        await this.#handle.appendFile(batch.map((pending) => pending.line).join(''));
        await this.#handle.datasync();
        for (const pending of batch) {
          pending.resolve();
        }
      } catch (error) {
        const failure = new FileWriteError(
          'the journal',
          this.path,
          error,
          'run the same command again to resume',
        );
        this.#failure = failure;
        for (const pending of [...batch, ...this.#pending.splice(0)]) {
          pending.reject(failure);
        }
      }
    }
    this.#writing = undefined;
  }
}

function parseLines(text: string, path: string): JournalRecord[] {
  const records: JournalRecord[] = [];
  const lines = text.split('\n');
  lines.pop();

  for (const [index, line] of lines.entries()) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }

    if (
      typeof value !== 'object' ||
      value === null ||
      typeof (value as { type?: unknown }).type !== 'string'
    ) {
      throw new CliError(
        `journal ${path}:${index + 1}: expected a JSON object with a "type"; the journal was changed by hand or by another program, so move it away to start the run over`,
        EXIT_USAGE,
      );
    }
    records.push(value as JournalRecord);
  }

  return records;
}
