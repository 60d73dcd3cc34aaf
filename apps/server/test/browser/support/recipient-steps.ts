import type { Page } from 'playwright-core';

/** Waits until the page's main heading reads exactly `expected`, for `timeoutMs` if given. */
export async function waitForHeading(
  page: Page,
  expected: string,
  timeoutMs?: number,
): Promise<void> {
  const escaped = expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await page
    .locator('main h1')
    .filter({ hasText: new RegExp(`^${escaped}$`) })
    .waitFor(timeoutMs === undefined ? {} : { timeout: timeoutMs });
}

/** Types the email address and requests a code. */
export async function submitEmail(page: Page, email: string): Promise<void> {
  await page.getByLabel('Email address').fill(email);
  await page.getByRole('button', { name: 'Email me a code' }).click();
}

/** Types the code and signs in. */
export async function submitCode(page: Page, code: string): Promise<void> {
  await page.getByLabel('Sign-in code').fill(code);
  await page.getByRole('button', { name: 'Sign in and open' }).click();
}

/** Returns the text of the main content, for assertions on what a person reads. */
export async function mainText(page: Page): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: innerText is the rendered text a person reads.
  return (await page.locator('main').innerText()).replace(/\s+/g, ' ');
}
