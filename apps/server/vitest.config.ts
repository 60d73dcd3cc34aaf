import { defineConfig } from 'vitest/config';

/**
 * Files that run on SQLite only: they test the SQLite file itself, its connection or
 * the CLI's defaults, or they inject failures with SQLite triggers written into the
 * file, or they test the WAL checkpoints.
 */
const SQLITE_ONLY = [
  'test/database.test.ts',
  'test/cli.test.ts',
  'test/box-creation-rollback.test.ts',
  'test/log-secrets.test.ts',
  'test/wal-checkpoints.test.ts',
  'test/sqlite-queue.test.ts',
];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'sqlite',
          include: ['test/*.test.ts'],
          exclude: ['test/postgres-*.test.ts'],
          testTimeout: 10_000,
        },
      },
      {
        // The same HTTP suites on PostgreSQL: the global setup starts a throwaway
        // cluster, and each test server gets a new schema in it.
        test: {
          name: 'postgres',
          include: ['test/*.test.ts'],
          exclude: SQLITE_ONLY,
          globalSetup: ['test/support/postgres-cluster.ts'],
          testTimeout: 20_000,
          hookTimeout: 60_000,
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
