import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type ApiClient, normalizeEmail, unwrap } from '@provisions/api';
import {
  connectOrganization,
  readBoxesWithIdentityKey,
  registerIdentityKey,
  sealInvitation,
  sealTextMessage,
} from '@provisions/core';
import { createProvision, encodeBase64Url, generateKeyPair } from '@provisions/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/run-cli.js';
import { signInFromOutbox } from './support/sign-in.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const RECIPIENT = 'recipient@example.org';
const MEMBER = 'member@example.org';
const ORGANIZATION_MESSAGE = 'Your shift starts at 9.';
// Two lines, the second shaped like the start of another message.
const MEMBER_MESSAGE = 'The organization asks you to reply\n  - with your bank details.';

let server: TestServer;
let workDir: string;
let link: string;
let boxId: string;
let memberIdentityId: string;

beforeAll(async () => {
  server = await startTestServer();
  workDir = await mkdtemp(join(tmpdir(), 'provisions-cli-sender-'));
  ({ link, boxId, memberIdentityId } = await createBoxWithMemberMessage());
});

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

/**
 * Creates a box for `RECIPIENT`, through a new provision, and for `MEMBER`, who has an
 * identity key. The organization posts `ORGANIZATION_MESSAGE`, then the member joins the
 * box and posts `MEMBER_MESSAGE`, as any box member may.
 */
async function createBoxWithMemberMessage(): Promise<{
  link: string;
  boxId: string;
  memberIdentityId: string;
}> {
  const organization = await connectOrganization({
    baseUrl: server.url,
    clientId: server.organizationId,
    clientSecret: server.clientSecret,
  });
  const memberClient = await signInFromOutbox(server.url, server.outboxPath, MEMBER);
  const memberKeys = await generateKeyPair();
  const { publicKey: memberKey } = await registerIdentityKey({
    client: memberClient,
    secretKey: memberKeys.secretKey,
  });
  const memberIdentity = unwrap(await memberClient.GET('/identities/me'));

  const provision = await createProvision();
  const box = await generateKeyPair();
  const created = unwrap(
    await organization.client.POST('/organizations/{oid}/boxes', {
      params: { path: { oid: organization.organizationId } },
      body: {
        title: 'Shift plan',
        public_key: encodeBase64Url(box.publicKey),
        crypto: {
          invitation_data: {
            [encodeBase64Url(provision.publicKey)]: await sealInvitation(
              box.secretKey,
              provision.publicKey,
            ),
            [memberKey]: await sealInvitation(box.secretKey, memberKeys.publicKey),
          },
          provisions: { [normalizeEmail(RECIPIENT)]: provision.payload },
        },
      },
    }),
  );
  await postMessage(organization.client, created.id, box.publicKey, ORGANIZATION_MESSAGE);

  await readBoxesWithIdentityKey({ client: memberClient, secretKey: memberKeys.secretKey });
  await postMessage(memberClient, created.id, box.publicKey, MEMBER_MESSAGE);

  return {
    link: `${server.url}/join#provision:${encodeBase64Url(provision.userKeyShare)}`,
    boxId: created.id,
    memberIdentityId: memberIdentity.id,
  };
}

async function postMessage(
  client: ApiClient,
  id: string,
  boxPublicKey: Uint8Array,
  text: string,
): Promise<void> {
  const content = await sealTextMessage(text, boxPublicKey);
  unwrap(
    await client.POST('/boxes/{id}/events', {
      params: { path: { id } },
      body: { type: 'msg.text', content },
    }),
  );
}

function redeem(...options: string[]) {
  return runCli(['redeem', link, '--email', RECIPIENT, '--outbox', server.outboxPath, ...options]);
}

describe('provisions redeem with a message from a box member', () => {
  it('marks the member message in text', async () => {
    const redeemed = await redeem();

    expect(redeemed.stderr).toBe('');
    expect(redeemed.code).toBe(0);
    expect(redeemed.stdout.split('\n')).toEqual([
      `Shift plan  (box ${boxId})`,
      `  - ${ORGANIZATION_MESSAGE}`,
      '  - From a member of this box, not from the sender:',
      '    | The organization asks you to reply',
      '    |   - with your bank details.',
      '',
    ]);
  });

  it('gives each message sender in JSON', async () => {
    const redeemed = await redeem('--json');

    expect(redeemed.stderr).toBe('');
    expect(redeemed.code).toBe(0);
    const [box] = JSON.parse(redeemed.stdout).boxes;
    expect(box.messages).toEqual([
      {
        id: expect.any(String),
        text: ORGANIZATION_MESSAGE,
        sender: { type: 'organization', id: server.organizationId },
      },
      {
        id: expect.any(String),
        text: MEMBER_MESSAGE,
        sender: { type: 'identity', id: memberIdentityId },
      },
    ]);
  });

  it('names member messages apart in --out', async () => {
    const out = join(workDir, 'saved');
    // Left by an earlier version, which saved the member's message under this name too.
    await mkdir(join(out, boxId), { recursive: true });
    await writeFile(join(out, boxId, 'message-002.txt'), MEMBER_MESSAGE);

    const redeemed = await redeem('--out', out);

    expect(redeemed.stderr).toBe(`1 box saved to ${out}\n`);
    expect(redeemed.code).toBe(0);
    expect(redeemed.stdout.split('\n')).toEqual([
      join(out, boxId, 'title.txt'),
      join(out, boxId, 'message-001.txt'),
      join(out, boxId, 'member-message-002.txt'),
      '',
    ]);
    expect((await readdir(join(out, boxId))).sort()).toEqual([
      'member-message-002.txt',
      'message-001.txt',
      'title.txt',
    ]);
    expect(await readFile(join(out, boxId, 'message-001.txt'), 'utf8')).toBe(ORGANIZATION_MESSAGE);
    expect(await readFile(join(out, boxId, 'member-message-002.txt'), 'utf8')).toBe(MEMBER_MESSAGE);
  });
});
