import { clearLine, cursorTo } from 'node:readline';

import cliProgress from 'cli-progress';

/** Interval of the plain progress lines written when stderr is not a terminal, in milliseconds. */
export const PLAIN_PROGRESS_INTERVAL_MS = 5_000;

/** Minimum sending time before a run shows an estimate of the time left, in milliseconds. */
export const MIN_ESTIMATE_ELAPSED_MS = 5_000;

/** Minimum number of recipients this run finished before it shows an estimate of the time left. */
export const MIN_ESTIMATE_RECIPIENTS = 10;

/** Interval at which the bar refreshes its estimate between finished recipients, in milliseconds. */
const ESTIMATE_REFRESH_MS = 1_000;

/** The status of a finished recipient, as the progress report counts it. */
export type ProgressStatus = 'done' | 'failed' | 'revoked';

/** Reports a run's progress on stderr; it never prints a link. */
export interface ProgressReporter {
  /** Records one recipient that this run finished. */
  tick(status: ProgressStatus): void;
  /**
   * Records a recipient that an earlier run finished but that failed or was revoked in this
   * run, such as one whose link cannot be rebuilt. `alreadyDone` counts it already, so only
   * the failed or revoked count changes.
   */
  countEarlier(status: Exclude<ProgressStatus, 'done'>): void;
  /** Writes one line to the stream above the bar, or between the plain progress lines. */
  notice(line: string): void;
  /**
   * Stops the bar or the timer, after a last line, and returns the run's duration in
   * milliseconds, as that last plain line shows it. The summary shows the same duration.
   */
  stop(): number;
}

/**
 * Returns a duration in milliseconds as seconds rounded to a tenth, such as `13.1`, the form in
 * which the progress lines and the summary show it.
 */
export function toTenthsOfSeconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

/**
 * Estimates the seconds left from the rate of this run so far: the remaining recipients
 * divided by the recipients this run finished per second, rounded up.
 *
 * @returns the estimate, or `undefined` before {@link MIN_ESTIMATE_ELAPSED_MS} and
 *   {@link MIN_ESTIMATE_RECIPIENTS}, when the rate is still mostly noise.
 */
export function estimateSecondsLeft(run: {
  elapsedMs: number;
  doneThisRun: number;
  remaining: number;
}): number | undefined {
  if (run.elapsedMs < MIN_ESTIMATE_ELAPSED_MS || run.doneThisRun < MIN_ESTIMATE_RECIPIENTS) {
    return undefined;
  }

  return Math.ceil((run.remaining * run.elapsedMs) / run.doneThisRun / 1000);
}

/** Formats an estimate in seconds as `45 s`, `12 min` or `2 h 05 min`, no more precise than it is. */
export function formatTimeLeft(seconds: number): string {
  if (seconds < 90) {
    return `${seconds} s`;
  }

  const minutes = Math.round(seconds / 60);
  if (minutes < 90) {
    return `${minutes} min`;
  }
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/**
 * Starts a progress report for `total` recipients, `alreadyDone` of which an
 * earlier run finished: a bar (cli-progress) on a terminal, else one plain
 * line every {@link PLAIN_PROGRESS_INTERVAL_MS} and a last one at the end.
 * Both show the time left once {@link estimateSecondsLeft} gives an estimate.
 */
export function startProgress(
  total: number,
  alreadyDone: number,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressReporter {
  let done = alreadyDone;
  let failed = 0;
  let revoked = 0;
  const count = (status: ProgressStatus): void => {
    failed += status === 'failed' ? 1 : 0;
    revoked += status === 'revoked' ? 1 : 0;
  };
  // Shown only once a recipient is revoked, as the summary does.
  const revokedText = (): string => (revoked > 0 ? `, ${revoked} revoked` : '');

  // cli-progress estimates from its last 10 updates. Recipients finish in bursts, often
  // several within one millisecond, and then it showed "0s left" far from the end.
  const started = Date.now();
  const timeLeft = (): string => {
    if (done >= total) {
      return '';
    }
    const seconds = estimateSecondsLeft({
      elapsedMs: Date.now() - started,
      doneThisRun: done - alreadyDone,
      remaining: total - done,
    });
    return seconds === undefined ? '' : `, about ${formatTimeLeft(seconds)} left`;
  };

  if (stream.isTTY === true) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: 'sending |{bar}| {value}/{total} recipients, {failed} failed{revoked}{left}',
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    const update = (): void => {
      bar.update(done, { failed, revoked: revokedText(), left: timeLeft() });
    };
    bar.start(total, done, { failed, revoked: '', left: '' });
    const refresh = setInterval(update, ESTIMATE_REFRESH_MS);
    refresh.unref();

    return {
      tick(status) {
        done += 1;
        count(status);
        update();
      },
      countEarlier(status) {
        count(status);
        update();
      },
      notice(line) {
        // The bar is the last line of the terminal: clear it, write the line in its place, and
        // draw it again below. cli-progress 3.12 skips an unchanged bar unless forced.
        cursorTo(stream, 0);
        clearLine(stream, 0);
        stream.write(`${line}\n`);
        (bar as unknown as { render(force: boolean): void }).render(true);
      },
      stop() {
        clearInterval(refresh);
        bar.stop();
        return Date.now() - started;
      },
    };
  }

  const line = (): number => {
    const elapsedMs = Date.now() - started;
    const seconds = toTenthsOfSeconds(elapsedMs).toFixed(1);
    stream.write(
      `progress: ${done}/${total} recipients, ${failed} failed${revokedText()}, ${seconds} s${timeLeft()}\n`,
    );
    return elapsedMs;
  };
  const timer = setInterval(line, PLAIN_PROGRESS_INTERVAL_MS);
  timer.unref();

  return {
    tick(status) {
      done += 1;
      count(status);
    },
    countEarlier(status) {
      count(status);
    },
    notice(line) {
      stream.write(`${line}\n`);
    },
    stop() {
      clearInterval(timer);
      return line();
    },
  };
}
