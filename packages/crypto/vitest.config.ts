import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Vitest defaults to one worker per core minus one, which runs every file in series on a
    // 2-core machine. The scrypt and X25519 suites are CPU-bound and finish sooner in parallel.
    maxWorkers: 2,
    // The RFC 7748 1,000-iteration vector, the scrypt bit-flip loop and the 1 MiB boxes each
    // take seconds of pure JavaScript. On a 2-core machine shared with other jobs (load
    // average 10) the scrypt loop alone took over 60 s, so the limit is generous.
    testTimeout: 180_000,
  },
});
