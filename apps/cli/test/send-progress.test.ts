import { Writable } from 'node:stream';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { estimateSecondsLeft, formatTimeLeft, startProgress } from '../src/send-progress.js';

/** A writable stream that claims to be a terminal, as cli-progress checks, and keeps the text. */
class FakeTerminal extends Writable {
  readonly isTTY = true;
  readonly columns = 200;
  text = '';

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

describe('formatTimeLeft', () => {
  it.each([
    [45, '45 s'],
    [89, '89 s'],
    [90, '2 min'],
    [3_000, '50 min'],
    [7_500, '2 h 05 min'],
  ])('formats %i seconds as %s', (seconds, text) => {
    expect(formatTimeLeft(seconds)).toBe(text);
  });
});

describe('estimateSecondsLeft', () => {
  it('divides the remaining recipients by the rate so far', () => {
    expect(estimateSecondsLeft({ elapsedMs: 60_000, doneThisRun: 1536, remaining: 2464 })).toBe(97);
  });

  it('gives no estimate in the first 5 seconds', () => {
    expect(
      estimateSecondsLeft({ elapsedMs: 4_999, doneThisRun: 1536, remaining: 2464 }),
    ).toBeUndefined();
  });

  it('gives no estimate before 10 recipients finished', () => {
    expect(
      estimateSecondsLeft({ elapsedMs: 60_000, doneThisRun: 9, remaining: 100 }),
    ).toBeUndefined();
  });
});

describe('startProgress on a terminal', () => {
  it('writes a notice, then the bar again', () => {
    const terminal = new FakeTerminal();
    const progress = startProgress(10, 0, terminal as unknown as NodeJS.WriteStream);
    progress.tick('done');
    const before = terminal.text.length;

    progress.notice('provisions: the server responded with 503; retrying');
    const after = terminal.text.slice(before);
    progress.stop();

    // Column 1 (ESC [1G), then erase the line (ESC [2K), as node:readline writes them.
    expect(after.startsWith('\u001b[1G\u001b[2K')).toBe(true);
    expect(after).toContain('provisions: the server responded with 503; retrying\n');
    expect(after.slice(after.indexOf('\n'))).toContain('1/10 recipients, 0 failed');
  });

  it('shows no time left while the rate is unknown', () => {
    const terminal = new FakeTerminal();
    const progress = startProgress(4000, 0, terminal as unknown as NodeJS.WriteStream);

    for (let index = 0; index < 1536; index += 1) {
      progress.tick('done');
    }
    progress.stop();

    expect(terminal.text).toContain('1536/4000 recipients, 0 failed');
    expect(terminal.text).not.toContain('left');
  });

  describe('with a clock', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('shows the time left from the rate so far', () => {
      vi.useFakeTimers();
      const terminal = new FakeTerminal();
      const progress = startProgress(100, 0, terminal as unknown as NodeJS.WriteStream);

      vi.advanceTimersByTime(6_000);
      for (let index = 0; index < 20; index += 1) {
        progress.tick('done');
      }
      progress.stop();

      expect(terminal.text).toContain('20/100 recipients, 0 failed, about 24 s left');
    });
  });
});
