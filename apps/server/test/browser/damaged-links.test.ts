import { describe, expect, it } from 'vitest';
import { openPage, saveScreenshot, useRecipientHarness } from './support/recipient-harness.js';
import { mainText, waitForHeading } from './support/recipient-steps.js';
import { TrafficRecorder } from './support/traffic.js';

const fixture = useRecipientHarness();

// A well-formed share (44 base64url characters) that belongs to no provision.
const SHARE = 'AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAh';

// Each reason parseInvitationLink gives that a browser address can produce.
// `not_a_url` and `non_canonical` cannot: the address bar always contains an http
// URL, and every 44-character base64url text decodes to exactly 33 bytes.
const DAMAGED_LINKS = [
  { reason: 'missing_fragment', suffix: '/join', heading: 'The key part of your link is missing' },
  {
    reason: 'wrong_prefix',
    suffix: `/join#invite:${SHARE}`,
    heading: 'This is not an invitation link',
  },
  {
    reason: 'wrong_length',
    suffix: `/join#provision:${SHARE.slice(0, 40)}`,
    heading: 'Your link is cut off or too long',
  },
  {
    reason: 'invalid_characters',
    suffix: `/join#provision:${SHARE.slice(0, 43)}.`,
    heading: 'Your link contains characters that do not belong there',
  },
  {
    reason: 'wrong_path',
    suffix: `/join?utm_source=mail#provision:${SHARE}`,
    heading: 'Your link has the wrong form',
  },
];

describe('damaged invitation links', () => {
  it.each(DAMAGED_LINKS)('explains $reason', async ({ reason, suffix, heading }) => {
    const { context, page } = await openPage(fixture.browser);
    const traffic = new TrafficRecorder(page);
    await page.goto(`${fixture.harness.url}${suffix}`);
    await waitForHeading(page, heading);
    await page.waitForLoadState('networkidle');

    expect(page.url()).toBe(`${fixture.harness.url}/join`);
    expect(await mainText(page)).toContain('Open the invitation email again');
    expect(await page.getByLabel('Email address').count()).toBe(0);
    const stored = await page.evaluate(() => sessionStorage.length);
    expect(stored).toBe(0);

    const paths = (await traffic.requests()).map((request) => new URL(request.url).pathname);
    expect(paths.filter((path) => path !== '/join' && !path.startsWith('/assets/'))).toEqual([]);
    await saveScreenshot(page, `damaged-link-${reason}`);
    await context.close();
  });
});
