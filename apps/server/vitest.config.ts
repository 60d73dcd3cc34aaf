import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'api',
          include: ['test/*.test.ts'],
          testTimeout: 10_000,
        },
      },
      {
        // Chromium drives the recipient page against a real server; one file at a
        // time keeps two browsers from competing for a small machine's cores.
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 90_000,
          hookTimeout: 90_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
