import type { BoxCreation } from '@provisions/api';
import {
  createProvision,
  decodeBase64Url,
  encodeBase64Url,
  generateKeyPair,
  seal,
} from '@provisions/crypto';

/** A box key pair made for a test. */
export interface TestBoxKeys {
  publicKey: string;
  secretKey: Uint8Array;
}

/** Generates a box key pair. */
export async function newBoxKeys(): Promise<TestBoxKeys> {
  const { publicKey, secretKey } = await generateKeyPair();
  return { publicKey: encodeBase64Url(publicKey), secretKey };
}

/** Seals `{"box_secret_key": ...}` to a recipient public key, as an invitation carries it. */
export async function sealInvitation(
  box: TestBoxKeys,
  recipientPublicKey: string,
): Promise<string> {
  const plaintext = new TextEncoder().encode(
    JSON.stringify({ box_secret_key: encodeBase64Url(box.secretKey) }),
  );
  return encodeBase64Url(await seal(plaintext, decodeBase64Url(recipientPublicKey)));
}

/** Seals a text message to the box public key. */
export async function sealText(box: TestBoxKeys, text: string): Promise<string> {
  return encodeBase64Url(
    await seal(new TextEncoder().encode(text), decodeBase64Url(box.publicKey)),
  );
}

/** A provision made for a test, with its creation payload. */
export type TestProvision = Awaited<ReturnType<typeof createProvision>>;

/** Creates a provision. */
export function newProvision(): Promise<TestProvision> {
  return createProvision();
}

/**
 * Builds a box creation body that creates a provision for `email` and invites it.
 */
export async function boxWithProvision(
  email: string,
  provision?: TestProvision,
): Promise<{ body: BoxCreation; box: TestBoxKeys; provision: TestProvision }> {
  const box = await newBoxKeys();
  const recipient = provision ?? (await newProvision());
  const body: BoxCreation = {
    title: 'Test box',
    public_key: box.publicKey,
    crypto: {
      invitation_data: {
        [recipient.payload.public_key]: await sealInvitation(box, recipient.payload.public_key),
      },
      provisions: { [email]: { ...recipient.payload } },
    },
  };
  return { body, box, provision: recipient };
}

/** Builds a box creation body that invites an existing key (no new provision). */
export async function boxInvitingKey(
  recipientPublicKey: string,
): Promise<{ body: BoxCreation; box: TestBoxKeys }> {
  const box = await newBoxKeys();
  const body: BoxCreation = {
    title: 'Test box',
    public_key: box.publicKey,
    crypto: {
      invitation_data: { [recipientPublicKey]: await sealInvitation(box, recipientPublicKey) },
    },
  };
  return { body, box };
}
