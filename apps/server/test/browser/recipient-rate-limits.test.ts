import type { BrowserContext } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { openPage, useRecipientHarness } from './support/recipient-harness.js';
import { mainText, submitCode, submitEmail, waitForHeading } from './support/recipient-steps.js';

// Three requests a minute per client and operation, so a test reaches the limit fast.
// The server trusts X-Forwarded-For from 127.0.0.1, so each test picks its own client
// address, and switching to a new address replaces waiting for the minute to end.
const REQUESTS_PER_MINUTE = 3;
const fixture = useRecipientHarness({
  signInRequestsPerMinute: REQUESTS_PER_MINUTE,
  trustedProxies: ['127.0.0.1'],
});

async function inviteOne(email: string, title: string, message: string): Promise<string> {
  const result = await fixture.harness.invite(email, [{ title, messages: [message] }]);
  if (result.link === undefined) {
    throw new Error(`sendBoxes returned no link for ${email}`);
  }
  return result.link;
}

function useClientAddress(context: BrowserContext, address: string): Promise<void> {
  return context.setExtraHTTPHeaders({ 'x-forwarded-for': address });
}

describe('recipient page rate limits', () => {
  it('keeps the code after too many sign-in attempts', async () => {
    const email = 'hasty@example.org';
    const link = await inviteOne(email, 'Permit', 'Approved');
    const { context, page } = await openPage(fixture.browser);
    await useClientAddress(context, '198.51.100.1');
    await page.goto(link);
    await submitEmail(page, email);
    await waitForHeading(page, 'Check your email');

    const code = await fixture.harness.latestCode(email);
    const wrongCode = code === '000000' ? '111111' : '000000';
    for (let attempt = 1; attempt <= REQUESTS_PER_MINUTE; attempt += 1) {
      await Promise.all([page.waitForResponse('**/auth/sessions'), submitCode(page, wrongCode)]);
      await page.getByText('This code is not right').waitFor();
    }
    const [limited] = await Promise.all([
      page.waitForResponse('**/auth/sessions'),
      submitCode(page, code),
    ]);
    expect(limited.status()).toBe(429);

    await page.getByText('Too many sign-in attempts came from your network').waitFor();
    await waitForHeading(page, 'Check your email');
    expect(await page.getByRole('alert').textContent()).toMatch(
      /Wait (\d+ seconds|1 minute), then sign in again with the same code\./,
    );
    const text = await mainText(page);
    expect(text).not.toContain('Too many codes requested');
    expect(text).not.toContain('maximum');
    const field = page.getByLabel('Sign-in code');
    expect(await field.inputValue()).toBe(code);
    expect(await field.getAttribute('aria-invalid')).toBeNull();

    await useClientAddress(context, '198.51.100.2');
    await page.getByRole('button', { name: 'Sign in and open' }).click();
    await waitForHeading(page, 'Your boxes');
    expect(await mainText(page)).toContain('Approved');
    await context.close();
  });

  it('tells a client limit from the address limit', async () => {
    const email = 'resend@example.org';
    const link = await inviteOne(email, 'Receipt', 'Thank you');
    const { context, page } = await openPage(fixture.browser);
    await useClientAddress(context, '198.51.100.3');
    await page.goto(link);
    await submitEmail(page, email);
    await waitForHeading(page, 'Check your email');

    for (let sent = 1; sent < REQUESTS_PER_MINUTE; sent += 1) {
      await page.getByRole('button', { name: 'Send a new code' }).click();
      await waitForHeading(page, 'Check your email');
    }
    await page.getByRole('button', { name: 'Send a new code' }).click();
    await waitForHeading(page, 'Too many requests from your network');
    const text = await mainText(page);
    expect(text).toMatch(
      /asked for too many codes in the last minute, so no code was sent\. Try again in (\d+ seconds|1 minute)\./,
    );
    expect(text).not.toContain('maximum');
    expect(await fixture.harness.codeCount(email)).toBe(REQUESTS_PER_MINUTE);

    await page.getByRole('button', { name: 'Enter the last code' }).click();
    await waitForHeading(page, 'Check your email');
    await submitCode(page, await fixture.harness.latestCode(email));
    await waitForHeading(page, 'Your boxes');
    expect(await mainText(page)).toContain('Thank you');
    await context.close();
  });
});
