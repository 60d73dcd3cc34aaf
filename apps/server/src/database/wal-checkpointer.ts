import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the checkpoint thread copies the WAL into the database file, in milliseconds. */
export const WAL_CHECKPOINT_INTERVAL_MS = 100;

/**
 * WAL size, in pages, at which the serving connection checkpoints by itself, inside a
 * commit (SQLite's `wal_autocheckpoint`). About 40 MB with 4 KiB pages. The
 * checkpoint thread keeps the WAL below it unless it stalls (see {@link WalCheckpointer}).
 */
export const WAL_AUTOCHECKPOINT_FALLBACK_PAGES = 10_000;

/** SQLite's own `wal_autocheckpoint`, which the serving connection returns to when the thread fails. */
export const WAL_AUTOCHECKPOINT_DEFAULT_PAGES = 1000;

/**
 * Largest number of WAL frames, written while the thread's last checkpoint ran,
 * that the thread leaves to the serving connection (see {@link WalCheckpointer}).
 */
export const WAL_FINISH_MAX_FRAMES = 64;

/** Checkpoints the thread runs back to back, at most, to catch up with the writes. */
const MAX_CATCH_UP_CHECKPOINTS = 8;

/** Data passed to the checkpoint thread. */
interface CheckpointWorkerData {
  driverPath: string;
  databasePath: string;
  intervalMs: number;
  finishMaxFrames: number;
  maxCatchUpCheckpoints: number;
}

/** Message from the checkpoint thread. */
type CheckpointWorkerMessage =
  | { type: 'failed'; message: string }
  | { type: 'error'; message: string }
  | { type: 'finish' };

/**
 * The checkpoint thread, as a CommonJS script: Node runs `eval` workers as CommonJS,
 * and a script in a string runs the same from the compiled package and from the
 * TypeScript sources under test. It opens its own connection and, every
 * `intervalMs`, runs passive checkpoints back to back until one copies at most
 * `finishMaxFrames` new frames, then posts `finish`. It runs one more checkpoint on
 * `stop`, and reports errors as messages instead of exiting.
 */
const CHECKPOINT_WORKER_SCRIPT = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driverPath);

function describeError(error) {
  return String((error && (error.message || error.code)) || error);
}

let db;
try {
  db = new Database(workerData.databasePath, { fileMustExist: true });
} catch (error) {
  parentPort.postMessage({ type: 'failed', message: describeError(error) });
  process.exit(1);
}

function checkpoint() {
  return db.pragma('wal_checkpoint(PASSIVE)')[0];
}

// WAL size, in frames, when 'finish' was last posted: a WAL still that size and fully
// copied has had no write since, so the serving connection has nothing to finish.
let finishedLog = -1;

function catchUp() {
  try {
    let copied = 0;
    for (let round = 0; round < workerData.maxCatchUpCheckpoints; round += 1) {
      const result = checkpoint();
      // busy: another connection is checkpointing. log 0: the WAL is empty.
      if (result.busy !== 0 || result.log <= 0) {
        return;
      }
      if (result.log === finishedLog && result.checkpointed === result.log) {
        return;
      }

      // The WAL restarted since the last round when it contains fewer frames than were copied.
      const fresh = result.checkpointed >= copied ? result.checkpointed - copied : result.checkpointed;
      copied = result.checkpointed;
      if (fresh <= workerData.finishMaxFrames) {
        finishedLog = result.log;
        parentPort.postMessage({ type: 'finish' });
        return;
      }
    }
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: describeError(error) });
  }
}

const timer = setInterval(catchUp, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'stop') {
    clearInterval(timer);
    try {
      checkpoint();
    } catch (error) {
      parentPort.postMessage({ type: 'error', message: describeError(error) });
    }
    db.close();
    parentPort.close();
  }
});
`;

/** Options of {@link WalCheckpointer.start}. */
export interface WalCheckpointerOptions {
  /** Milliseconds between checkpoints; default {@link WAL_CHECKPOINT_INTERVAL_MS}. */
  intervalMs?: number;
  /**
   * Called once when the thread cannot open the database or dies. The caller should
   * then checkpoint on its own connection again.
   */
  onFailure: (error: Error) => void;
  /** Called for each checkpoint that failed while the thread kept running. */
  onCheckpointError: (error: Error) => void;
  /**
   * Called when the thread has copied all but at most {@link WAL_FINISH_MAX_FRAMES}
   * frames. The serving connection should then run a passive checkpoint between two
   * transactions, which copies the rest, so that its next write restarts the WAL.
   */
  onFinish: () => void;
}

/**
 * Runs SQLite's WAL checkpoints on a worker thread with its own connection, so that
 * copying the WAL into the database file and its fsyncs do not block the event loop
 * inside a request's `COMMIT`.
 *
 * The serving connection keeps `wal_autocheckpoint` at
 * {@link WAL_AUTOCHECKPOINT_FALLBACK_PAGES}, which bounds the WAL if the thread falls
 * behind. SQLite documents that a passive checkpoint does not wait for readers or
 * writers. So while another connection (a second server's thread, or another process)
 * is checkpointing or reading an older snapshot, a round copies less or nothing, and a
 * later round continues.
 *
 * The WAL restarts from its beginning only at a write that finds every frame
 * copied, which under a steady stream of commits never happens while the thread
 * copies. So the thread checkpoints again until a round copies at most
 * {@link WAL_FINISH_MAX_FRAMES} new frames, then asks the serving connection to copy
 * the frames left between two transactions (`onFinish`). That copy is short but not
 * free: in the box creation benchmark at a load average of 3 to 4, it took a median of
 * 4 to 5 ms, about every 100 ms, with two fsyncs.
 *
 * Committed data is in the WAL either way, so a killed process loses nothing that a
 * checkpoint on the serving connection would have kept.
 */
export class WalCheckpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;

  private constructor(worker: Worker, exited: Promise<void>) {
    this.#worker = worker;
    this.#exited = exited;
  }

  /** Starts the thread on the database file at `databasePath`, which must exist in WAL mode. */
  static start(databasePath: string, options: WalCheckpointerOptions): WalCheckpointer {
    const workerData: CheckpointWorkerData = {
      driverPath: createRequire(import.meta.url).resolve('better-sqlite3'),
      databasePath,
      intervalMs: options.intervalMs ?? WAL_CHECKPOINT_INTERVAL_MS,
      finishMaxFrames: WAL_FINISH_MAX_FRAMES,
      maxCatchUpCheckpoints: MAX_CATCH_UP_CHECKPOINTS,
    };
    const worker = new Worker(CHECKPOINT_WORKER_SCRIPT, { eval: true, workerData });
    // The thread must not keep a process alive that forgot to close its database.
    worker.unref();

    worker.on('message', (message: CheckpointWorkerMessage) => {
      if (message.type === 'failed') {
        options.onFailure(new Error(`WAL checkpoint thread failed to start: ${message.message}`));
      } else if (message.type === 'error') {
        options.onCheckpointError(new Error(`WAL checkpoint failed: ${message.message}`));
      } else {
        options.onFinish();
      }
    });
    // An exception that escapes the script; errors of better-sqlite3 arrive without their message.
    worker.once('error', (error: unknown) => {
      const detail = error instanceof Error && error.message !== '' ? error.message : String(error);
      options.onFailure(new Error(`WAL checkpoint thread failed: ${detail}`));
    });
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    return new WalCheckpointer(worker, exited);
  }

  /** Runs a last checkpoint on the thread and waits for the thread to end. */
  async stop(): Promise<void> {
    // An unreferenced thread would let the process exit before the checkpoint ends.
    this.#worker.ref();
    this.#worker.postMessage('stop');
    await this.#exited;
  }
}
