import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Vitest defaults to one worker per core minus one, which runs every file in series on a
    // 2-core machine. The scrypt and X25519 suites are CPU-bound and finish sooner in parallel.
    maxWorkers: 2,
    // The RFC 7748 1,000-iteration vector and the bit-flip loops each take a few seconds of
    // pure JavaScript, so the default 5 s limit fails them on a busy machine.
    testTimeout: 60_000,
  },
});
