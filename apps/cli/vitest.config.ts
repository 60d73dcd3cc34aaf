import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each test runs the built CLI as a child process, some of them twice.
    testTimeout: 60_000,
  },
});
