// Where the suite runs: Node.js (`vitest run`) or Chromium (`vitest.browser.config.ts`).
// Tests of Node.js-only features skip in the browser and say why in their names.

/** Whether the tests run in Node.js, which has Buffer and lets Vitest re-evaluate modules. */
export const RUNS_IN_NODE =
  typeof (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions?.node ===
  'string';
