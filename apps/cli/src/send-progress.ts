import cliProgress from 'cli-progress';

/** Interval of the plain progress lines written when stderr is not a terminal, in milliseconds. */
export const PLAIN_PROGRESS_INTERVAL_MS = 5_000;

/** Reports a run's progress on stderr; it never prints a link. */
export interface ProgressReporter {
  /** Records one finished recipient. */
  tick(failed: boolean): void;
  /** Stops the bar or the timer, after a last line. */
  stop(): void;
}

/**
 * Starts a progress report for `total` recipients, `alreadyDone` of which an
 * earlier run finished: a bar (cli-progress) on a terminal, else one plain
 * line every {@link PLAIN_PROGRESS_INTERVAL_MS} and a last one at the end.
 */
export function startProgress(
  total: number,
  alreadyDone: number,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressReporter {
  let done = alreadyDone;
  let failed = 0;

  if (stream.isTTY === true) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: 'sending |{bar}| {value}/{total} recipients, {failed} failed, {eta_formatted} left',
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, done, { failed });

    return {
      tick(recipientFailed) {
        done += 1;
        failed += recipientFailed ? 1 : 0;
        bar.update(done, { failed });
      },
      stop() {
        bar.stop();
      },
    };
  }

  const started = Date.now();
  const line = (): void => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    stream.write(`progress: ${done}/${total} recipients, ${failed} failed, ${seconds} s\n`);
  };
  const timer = setInterval(line, PLAIN_PROGRESS_INTERVAL_MS);
  timer.unref();

  return {
    tick(recipientFailed) {
      done += 1;
      failed += recipientFailed ? 1 : 0;
    },
    stop() {
      clearInterval(timer);
      line();
    },
  };
}
