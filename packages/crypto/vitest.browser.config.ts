import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

// Runs the same test files in Debian's Chromium through Playwright. Playwright cannot
// download its own browser build here, so the system binary is launched directly.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // As generous as the Node.js run: see vitest.config.ts.
    testTimeout: 180_000,
    browser: {
      enabled: true,
      headless: true,
      // Failure screenshots would land in the package directory; the error output suffices.
      screenshotFailures: false,
      provider: playwright({
        launchOptions: {
          executablePath: '/usr/bin/chromium',
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
          ],
        },
      }),
      instances: [{ browser: 'chromium' }],
    },
  },
  server: { host: '127.0.0.1' },
});
