import { createWriteStream } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { type ApiClient, createApiClient, isApiError, unwrap } from '@provisions/api';
import {
  connectOrganization,
  readBoxesWithIdentityKey,
  redeemInvitation,
  registerIdentityKey,
  sendBoxes,
} from '@provisions/core';

import { CliError } from '../cli-error.js';
import {
  clearDemoDirectory,
  DEMO_MARKER_FILE_NAME,
  ensurePrivateDirectory,
  inspectDemoDirectory,
  loadOrCreateIdentityKey,
  loadOrCreateOrganization,
  loadOrCreatePassphrase,
  loadSession,
  lockDemoDirectory,
  markDemoDirectory,
  SESSIONS_DIRECTORY_NAME,
  saveSession,
} from '../demo-files.js';
import { type DemoServer, findRunningDemoServer, startDemoServer } from '../demo-server.js';
import { openKeystore, PASSPHRASE_ENV } from '../keystore-access.js';
import { type Manifest, readManifest } from '../manifest.js';
import { API_CLIENT_TIMEOUT_MS, createNodeHttpFetch } from '../node-http-fetch.js';
import { type OutboxSession, signInThroughOutbox } from '../outbox-sign-in.js';
import { formatCount, printJson, printLines } from '../output.js';
import {
  type DeliverySummary,
  formatDelivery,
  formatOpenedBoxes,
  type OpenedSummary,
  summarizeDelivery,
  summarizeOpened,
} from '../summary.js';

/** The manifest the demo sends, checked in beside the CLI. */
export const EXAMPLE_MANIFEST_PATH = fileURLToPath(
  new URL('../../examples/manifest.json', import.meta.url),
);

/** File in the data directory that receives the demo server's JSON log lines. */
export const SERVER_LOG_FILE_NAME = 'server.log';

/**
 * Time a saved session token must still be valid to be used, in milliseconds (10 minutes).
 * A run takes seconds, so a token used by one does not expire before the run ends.
 */
const SESSION_REUSE_MARGIN_MS = 10 * 60 * 1000;

/** A person's sign-in during this run, with a new code or a saved session. */
interface DemoSignIn {
  email: string;
  origin: 'code' | 'saved';
}

/** Options of `provisions demo`, as commander parses them. */
export interface DemoOptions {
  dataDir: string;
  fresh?: boolean;
  json?: boolean;
}

/**
 * Runs `provisions demo`: starts a server in this process, sends the boxes of
 * the example manifest, then opens them as each recipient would.
 *
 * The first recipient of the manifest gets an account with an identity key,
 * so their boxes are auto-invited; the others get one invitation link each.
 * State is kept in the data directory, so a second run reuses the
 * organization, the keystore, each recipient's link and each person's session.
 */
export async function runDemo(options: DemoOptions): Promise<void> {
  const dataDir = resolve(options.dataDir);
  const state = await inspectDemoDirectory(dataDir);
  if (state === 'foreign') {
    throw new CliError(
      `${dataDir} is not empty and was not made by the demo (it has no ${DEMO_MARKER_FILE_NAME} file), so the demo neither writes to it nor deletes it: choose another --data-dir`,
    );
  }
  await ensurePrivateDirectory(dataDir);
  await markDemoDirectory(dataDir);

  const lock = await lockDemoDirectory(dataDir);
  try {
    if (options.fresh === true && state === 'demo') {
      // A server started on `<dataDir>/server` holds no demo lock, and once its database is
      // deleted it keeps serving the deleted file.
      const runningUrl = await findRunningDemoServer(dataDir);
      if (runningUrl !== undefined) {
        throw new CliError(
          `a provisions server at ${runningUrl} is running on ${join(dataDir, 'server')}, and --fresh would delete its database: stop that server first, then run the demo with --fresh again`,
        );
      }
      await clearDemoDirectory(dataDir);
    }
    await runDemoInDirectory(dataDir, options.json === true);
  } finally {
    await lock.release();
  }
}

/** Runs the demo in `dataDir`, which this process has locked. */
async function runDemoInDirectory(dataDir: string, json: boolean): Promise<void> {
  const manifest = await readManifest(EXAMPLE_MANIFEST_PATH);
  const serverDataDir = join(dataDir, 'server');
  const serverLog = createWriteStream(join(dataDir, SERVER_LOG_FILE_NAME), {
    flags: 'a',
    mode: 0o600,
  });

  try {
    const server = await startDemoServer(dataDir, serverDataDir, serverLog);
    const transport = createNodeHttpFetch();
    try {
      await runDemoAgainst(server, serverDataDir, dataDir, manifest, json, transport.fetch);
    } finally {
      transport.close();
      await server.close();
    }
  } finally {
    await new Promise((resolve) => serverLog.end(resolve));
  }
}

async function runDemoAgainst(
  server: DemoServer,
  serverDataDir: string,
  dataDir: string,
  manifest: Manifest,
  json: boolean,
  fetch: typeof globalThis.fetch,
): Promise<void> {
  const outboxPath = join(serverDataDir, 'outbox.jsonl');
  const shown = (path: string) => relative(process.cwd(), path) || '.';
  const serverUrl = server.url;
  const notes: string[] = [
    server.alreadyRunning
      ? `Demo server: ${serverUrl}, already running on this data directory, which the demo leaves running (data in ${shown(dataDir)})`
      : `Demo server: ${serverUrl} (data in ${shown(dataDir)}, log in ${shown(join(dataDir, SERVER_LOG_FILE_NAME))})`,
  ];

  const {
    organization,
    origin: organizationOrigin,
    path: organizationPath,
  } = await loadOrCreateOrganization(dataDir, serverDataDir);
  notes.push(
    `Organization ${organization.id}: ${organizationOrigin === 'created' ? 'created' : 'reused'}, credentials in ${shown(organizationPath)}`,
  );

  const passphrase = await loadOrCreatePassphrase(dataDir);
  notes.push(
    passphrase.origin === 'environment'
      ? `Keystore passphrase: from ${PASSPHRASE_ENV}`
      : `Keystore passphrase: ${passphrase.origin === 'created' ? 'generated in' : 'read from'} ${shown(passphrase.path)}; a real operator supplies their own in ${PASSPHRASE_ENV}`,
  );

  const accountHolder = (manifest.recipients[0] as Manifest['recipients'][number]).email;
  const identity = await loadOrCreateIdentityKey(dataDir, accountHolder);
  const signIns: DemoSignIn[] = [];
  const signInAs = async (email: string): Promise<ApiClient> => {
    const { client, origin } = await signInForDemo(serverUrl, outboxPath, dataDir, email, fetch);
    signIns.push({ email, origin });
    return client;
  };

  const accountClient = await signInAs(accountHolder);
  const registration = await registerIdentityKey({
    client: accountClient,
    secretKey: identity.secretKey,
  });
  notes.push(
    `${accountHolder}: identity key ${registration.registered ? 'registered now' : 'already registered'} (secret key in ${shown(identity.path)})`,
  );

  const connection = await connectOrganization({
    baseUrl: serverUrl,
    clientId: organization.id,
    clientSecret: organization.client_secret,
    fetch,
    timeoutMs: API_CLIENT_TIMEOUT_MS,
  });
  // The demo server's port can change between runs, so the keystore is
  // bound to the server's data directory instead of its URL.
  const keystore = await openKeystore({
    path: join(dataDir, 'keystore.json'),
    passphrase: passphrase.passphrase,
    organizationId: organization.id,
    serverUrl: pathToFileURL(serverDataDir).href,
  });

  const deliveries: DeliverySummary[] = [];
  try {
    for (const recipient of manifest.recipients) {
      const result = await sendBoxes({
        organization: connection,
        keystore,
        appUrl: serverUrl,
        recipient: recipient.email,
        boxes: recipient.boxes,
      });
      deliveries.push(summarizeDelivery(result));
    }
  } finally {
    await keystore.close();
  }

  const opened: OpenedSummary[] = [];
  for (const delivery of deliveries) {
    if (delivery.link === null) {
      continue;
    }
    const client = await signInAs(delivery.email);
    const redeemed = await redeemInvitation({ client, link: delivery.link });
    opened.push(summarizeOpened(delivery.email, 'link', redeemed.boxes));
  }

  const identityBoxes = await readBoxesWithIdentityKey({
    client: accountClient,
    secretKey: identity.secretKey,
  });
  opened.push(summarizeOpened(accountHolder, 'identity', identityBoxes.boxes));
  identity.secretKey.fill(0);

  const unwritten = `the boxes were sent and opened, but this was not printed; the demo's files are in ${dataDir}`;
  if (json) {
    printJson(
      {
        server: serverUrl,
        organization_id: organization.id,
        recipients: deliveries,
        redeemed: opened,
      },
      unwritten,
    );
    return;
  }

  const newBoxIds = new Set(deliveries.flatMap((delivery) => delivery.boxes.map((box) => box.id)));
  notes.push(...describeSignIns(signIns, shown(join(dataDir, SESSIONS_DIRECTORY_NAME))));

  printLines(
    [
      ...notes,
      '',
      'Sent:',
      ...deliveries.flatMap((delivery) => formatDelivery(delivery, '  ')),
      '',
      'Opened by each recipient (boxes marked "new" were sent in this run):',
      ...opened.flatMap((entry) => [
        `  ${entry.email}, ${entry.via === 'link' ? 'with the link' : 'with the identity key'}:`,
        ...formatOpenedBoxes(entry.boxes, '    ', newBoxIds),
      ]),
    ],
    unwritten,
  );
}

/** Returns the note lines that list who signed in with a code and who with a saved session. */
function describeSignIns(signIns: DemoSignIn[], sessionsDir: string): string[] {
  const emailsSignedIn = (origin: DemoSignIn['origin']) =>
    signIns.filter((signIn) => signIn.origin === origin).map((signIn) => signIn.email);
  const withCode = emailsSignedIn('code');
  const withSavedSession = emailsSignedIn('saved');

  const lines: string[] = [];
  if (withCode.length > 0) {
    lines.push(
      `Signed in with a code from the outbox: ${withCode.join(', ')} (sessions saved in ${sessionsDir} for the next runs)`,
    );
  }
  if (withSavedSession.length > 0) {
    lines.push(
      `Signed in with the saved session of an earlier run: ${withSavedSession.join(', ')} (in ${sessionsDir})`,
    );
  }
  return lines;
}

/**
 * Signs `email` in for the demo: with the session token saved by an earlier run while the
 * server accepts it, else with a new code from the outbox, whose session is then saved.
 * Reusing sessions keeps repeated runs under the server's limit of sign-in codes per
 * address and hour.
 *
 * @throws CliError when the address reached that limit.
 */
async function signInForDemo(
  serverUrl: string,
  outboxPath: string,
  dataDir: string,
  email: string,
  fetch: typeof globalThis.fetch,
): Promise<{ client: ApiClient; origin: DemoSignIn['origin'] }> {
  const saved = await loadSession(dataDir, email);
  if (saved !== undefined && saved.expiresAt - Date.now() > SESSION_REUSE_MARGIN_MS) {
    const client = createApiClient({
      baseUrl: serverUrl,
      token: saved.token,
      fetch,
      timeoutMs: API_CLIENT_TIMEOUT_MS,
    });
    const result = await client.GET('/identities/me');
    // 401: the server no longer accepts the token, such as after its database was replaced.
    if (result.response.status !== 401 && unwrap(result).email === email) {
      return { client, origin: 'saved' };
    }
  }

  let session: OutboxSession;
  try {
    session = await signInThroughOutbox(serverUrl, outboxPath, email, fetch);
  } catch (error) {
    if (isApiError(error) && error.status === 429) {
      throw new CliError(
        `the demo server limits sign-in codes per address and hour, and ${email} reached the limit: ${describeRetryAfter(error.response)}, or run the demo with --fresh`,
        undefined,
        { cause: error },
      );
    }
    throw error;
  }
  await saveSession(dataDir, email, { token: session.token, expiresAt: session.expiresAt });
  return { client: session.client, origin: 'code' };
}

/** Returns when to try again after a 429, from its `Retry-After` seconds if it has them. */
function describeRetryAfter(response: Response | undefined): string {
  const seconds = Number(response?.headers.get('retry-after') ?? Number.NaN);
  if (!Number.isInteger(seconds) || seconds <= 0) {
    return 'try again within an hour';
  }
  return `try again in ${formatCount(Math.ceil(seconds / 60), 'minute', 'minutes')}`;
}
