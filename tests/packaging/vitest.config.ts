import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // The setup packs every package and runs two `npm install`s from the registry; building
    // better-sqlite3 from source alone takes over a minute on two cores.
    hookTimeout: 900_000,
    testTimeout: 180_000,
    // The files share one machine with a server, a browser and the TypeScript compiler, so
    // they run one after the other.
    fileParallelism: false,
  },
});
