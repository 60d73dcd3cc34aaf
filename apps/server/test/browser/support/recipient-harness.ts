import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ApiClient, createApiClient, normalizeEmail, unwrap } from '@provisions/api';
import {
  type BoxContent,
  connectOrganization,
  MemoryKeystore,
  type OrganizationConnection,
  readBoxesWithIdentityKey,
  registerIdentityKey,
  requestEmailCode,
  type SendBoxesResult,
  sealInvitation,
  sealTextMessage,
  sendBoxes,
  signIn,
} from '@provisions/core';
import {
  createProvision,
  decodeBase64Url,
  encodeBase64Url,
  generateKeyPair,
  PUBLIC_KEY_LENGTH,
  seal,
} from '@provisions/crypto';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import {
  createOrganization,
  OUTBOX_FILE_NAME,
  type StartServerOptions,
  startServer,
} from '../../../src/index.js';
import { TestClock } from '../../support/test-server.js';

/** Debian's Chromium; Playwright's own browser builds cannot be downloaded here. */
const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A narrow phone screen: the page must be readable at this width. */
export const PHONE_VIEWPORT = { width: 375, height: 812 };

const ARTIFACTS_DIRECTORY = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

/** Launches headless Chromium. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/**
 * Launches Chromium on a new profile directory, as a person's browser runs, with
 * `preferences` written to its `Default/Preferences` first. `close` stops this Chromium,
 * if the test has not closed its context yet, and deletes the profile.
 */
export async function openPageWithProfile(preferences: object = {}): Promise<{
  page: Page;
  profile: string;
  close: () => Promise<void>;
}> {
  const profile = await mkdtemp(join(tmpdir(), 'provisions-chromium-'));
  await mkdir(join(profile, 'Default'));
  await writeFile(join(profile, 'Default', 'Preferences'), JSON.stringify(preferences));

  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    viewport: PHONE_VIEWPORT,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const close = async () => {
    await context.close();
    // Chromium may still be writing to the profile as it exits.
    await rm(profile, { recursive: true, force: true, maxRetries: 10 });
  };
  return { page, profile, close };
}

/**
 * Launches Chromium on a new profile whose settings block cookies and site data for every
 * site, as a person may choose in the browser's privacy settings. Chromium then throws a
 * `SecurityError` when a page reads `sessionStorage`.
 */
export function openPageWithStorageBlocked(): ReturnType<typeof openPageWithProfile> {
  // A content setting of 2 blocks; the cookies setting covers Web Storage too.
  return openPageWithProfile({ profile: { default_content_setting_values: { cookies: 2 } } });
}

/** Opens a fresh context (no storage shared with other tests) with a phone-sized page. */
export async function openPage(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: PHONE_VIEWPORT });
  const page = await context.newPage();
  return { context, page };
}

/** Saves a screenshot of the page as `test-artifacts/<name>.png`, for people to look at. */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS_DIRECTORY, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS_DIRECTORY, `${name}.png`), fullPage: true });
}

/** What {@link useRecipientHarness} starts for a test file. */
export interface RecipientFixture {
  harness: RecipientHarness;
  browser: Browser;
}

/** Server options a test file may change; the others are the harness's own. */
export type RecipientServerOptions = Pick<
  StartServerOptions,
  'signInRequestsPerMinute' | 'trustedProxies'
>;

/**
 * Starts a {@link RecipientHarness} and Chromium before the tests of the calling file,
 * and stops both after them. The fields are set once `beforeAll` has run.
 */
export function useRecipientHarness(options: RecipientServerOptions = {}): RecipientFixture {
  const fixture = {} as RecipientFixture;
  beforeAll(async () => {
    fixture.harness = await RecipientHarness.start(options);
    fixture.browser = await launchChromium();
  });
  afterAll(async () => {
    await fixture.browser?.close();
    await fixture.harness?.stop();
  });
  return fixture;
}

/**
 * A real server on 127.0.0.1 with a temporary data directory and a hand-moved
 * clock, plus an organization that sends boxes through `@provisions/core`.
 */
export class RecipientHarness {
  readonly clock = new TestClock();
  readonly keystore = new MemoryKeystore();
  url = '';
  dataDir = '';
  organization: OrganizationConnection | undefined;
  #close: (() => Promise<void>) | undefined;

  /** Starts the server and connects an organization. */
  static async start(options: RecipientServerOptions = {}): Promise<RecipientHarness> {
    const harness = new RecipientHarness();
    harness.dataDir = await mkdtemp(join(tmpdir(), 'provisions-browser-'));
    const server = await startServer({
      ...options,
      dataDir: harness.dataDir,
      port: 0,
      now: harness.clock.now,
    });
    harness.url = server.url;
    harness.#close = () => server.close();

    const credentials = await createOrganization({ dataDir: harness.dataDir, name: 'Acme' });
    harness.organization = await connectOrganization({
      baseUrl: server.url,
      clientId: credentials.id,
      clientSecret: credentials.client_secret,
    });
    return harness;
  }

  /** Stops the server and deletes the data directory. */
  async stop(): Promise<void> {
    await this.#close?.();
    await rm(this.dataDir, { recursive: true, force: true });
  }

  #connection(): OrganizationConnection {
    if (this.organization === undefined) {
      throw new Error('the harness is not started');
    }
    return this.organization;
  }

  /** Sends boxes to `recipient` with `sendBoxes`; the link points at this server. */
  invite(recipient: string, boxes: readonly BoxContent[]): Promise<SendBoxesResult> {
    return sendBoxes({
      organization: this.#connection(),
      keystore: this.keystore,
      appUrl: this.url,
      recipient,
      boxes,
    });
  }

  /**
   * Creates a provision for `recipient` that no box is sealed to: a box request for
   * another person carries the new provision in `crypto.provisions` and seals the
   * box key to that other person's provision only.
   *
   * @returns the invitation link of the new provision.
   */
  async inviteWithoutBoxes(recipient: string, otherRecipient: string): Promise<string> {
    const organization = this.#connection();
    const other = await this.invite(otherRecipient, [{ title: 'For someone else', messages: [] }]);
    const otherKey = other.provision?.publicKey;
    if (otherKey === undefined) {
      throw new Error(`${otherRecipient} got no provision`);
    }

    const provision = await createProvision();
    const box = await generateKeyPair();
    const invitation = await seal(
      new TextEncoder().encode(JSON.stringify({ box_secret_key: encodeBase64Url(box.secretKey) })),
      decodeBase64Url(otherKey, { length: PUBLIC_KEY_LENGTH }),
    );
    unwrap(
      await organization.client.POST('/organizations/{oid}/boxes', {
        params: { path: { oid: organization.organizationId } },
        body: {
          title: 'Second box for someone else',
          public_key: encodeBase64Url(box.publicKey),
          data_subject: normalizeEmail(otherRecipient),
          crypto: {
            invitation_data: { [otherKey]: encodeBase64Url(invitation) },
            provisions: { [normalizeEmail(recipient)]: provision.payload },
          },
        },
      }),
    );

    return `${this.url}/join#provision:${encodeBase64Url(provision.userKeyShare)}`;
  }

  /**
   * Creates one box for `recipient`, through a new provision, and for `member`, who has
   * an identity key. The organization posts `organizationMessage`, then `member` signs
   * in, joins the box and posts `memberMessage`, as any box member may.
   *
   * @returns the invitation link of `recipient`.
   */
  async inviteWithMember(options: {
    recipient: string;
    member: string;
    title: string;
    organizationMessage: string;
    memberMessage: string;
  }): Promise<string> {
    const organization = this.#connection();
    const memberClient = await this.signInAs(options.member);
    const memberKeys = await generateKeyPair();
    const { publicKey: memberKey } = await registerIdentityKey({
      client: memberClient,
      secretKey: memberKeys.secretKey,
    });

    const provision = await createProvision();
    const provisionKey = encodeBase64Url(provision.publicKey);
    const box = await generateKeyPair();
    const created = unwrap(
      await organization.client.POST('/organizations/{oid}/boxes', {
        params: { path: { oid: organization.organizationId } },
        body: {
          title: options.title,
          public_key: encodeBase64Url(box.publicKey),
          crypto: {
            invitation_data: {
              [provisionKey]: await sealInvitation(box.secretKey, provision.publicKey),
              [memberKey]: await sealInvitation(box.secretKey, memberKeys.publicKey),
            },
            provisions: { [normalizeEmail(options.recipient)]: provision.payload },
          },
        },
      }),
    );
    await this.#postMessage(
      organization.client,
      created.id,
      box.publicKey,
      options.organizationMessage,
    );

    await readBoxesWithIdentityKey({ client: memberClient, secretKey: memberKeys.secretKey });
    await this.#postMessage(memberClient, created.id, box.publicKey, options.memberMessage);

    return `${this.url}/join#provision:${encodeBase64Url(provision.userKeyShare)}`;
  }

  /** Signs `email` in with a code from the outbox and returns a client acting for that person. */
  async signInAs(email: string): Promise<ApiClient> {
    let token: string | undefined;
    const client = createApiClient({ baseUrl: this.url, token: () => token });
    await requestEmailCode(client, email);
    token = await signIn(client, email, await this.latestCode(email));
    return client;
  }

  async #postMessage(
    client: ApiClient,
    boxId: string,
    boxPublicKey: Uint8Array,
    text: string,
  ): Promise<void> {
    const content = await sealTextMessage(text, boxPublicKey);
    unwrap(
      await client.POST('/boxes/{id}/events', {
        params: { path: { id: boxId } },
        body: { type: 'msg.text', content },
      }),
    );
  }

  /** Returns the newest sign-in code the server wrote to its outbox for `email`. */
  async latestCode(email: string): Promise<string> {
    const text = await readFile(join(this.dataDir, OUTBOX_FILE_NAME), 'utf8');
    const lines = text.split('\n').filter((line) => line !== '');
    const codes = lines
      .map((line) => JSON.parse(line) as { to: string; code: string })
      .filter((message) => message.to === normalizeEmail(email));
    const newest = codes.at(-1);
    if (newest === undefined) {
      throw new Error(`the outbox has no code for ${email}`);
    }
    return newest.code;
  }

  /** Counts the codes sent to `email`, to wait for a new one. */
  async codeCount(email: string): Promise<number> {
    const text = await readFile(join(this.dataDir, OUTBOX_FILE_NAME), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .filter((line) => (JSON.parse(line) as { to: string }).to === normalizeEmail(email)).length;
  }
}
