import { createHash } from 'node:crypto';

import type { BoxContent } from '@provisions/core';

/** One recipient of a manifest, with the address normalized. */
export interface HashedRecipient {
  email: string;
  boxes: readonly BoxContent[];
}

/**
 * Prefix of the content that {@link hashManifestContent} hashes, so that its hash never equals
 * a {@link hashManifestInOrder} hash of another manifest, which older keystores record.
 */
const CONTENT_HASH_DOMAIN = 'provisions manifest content v1';

/**
 * Hashes a manifest's recipients in manifest order, with SHA-256 (64 lowercase hex characters).
 * The journal records each step by recipient and box index, so a resumed run must see the
 * recipients and boxes in the same order as the run that wrote the journal: reordering them
 * changes this hash.
 */
export function hashManifestInOrder(recipients: readonly HashedRecipient[]): string {
  const hash = createHash('sha256');
  for (const recipient of recipients) {
    hash.update(JSON.stringify([recipient.email, recipient.boxes]));
    hash.update('\n');
  }
  return hash.digest('hex');
}

/**
 * Hashes what a manifest sends, with SHA-256 (64 lowercase hex characters): the same hash for
 * the same recipients in another order, or for a recipient's boxes in another order. The
 * messages of a box keep their order, because the recipient reads them in that order.
 *
 * The canonical form sorts each recipient's boxes by their JSON form `[title, messages]`, then
 * the recipients by the JSON form `[email, boxes]`, comparing UTF-16 code units.
 */
export function hashManifestContent(recipients: readonly HashedRecipient[]): string {
  const canonical = recipients
    .map((recipient) => {
      const boxes = recipient.boxes
        .map((box) => JSON.stringify([box.title, box.messages]))
        .sort(compareCodeUnits);
      return `[${JSON.stringify(recipient.email)},[${boxes.join(',')}]]`;
    })
    .sort(compareCodeUnits);

  return createHash('sha256')
    .update(JSON.stringify(CONTENT_HASH_DOMAIN))
    .update('\n')
    .update(canonical.join('\n'))
    .digest('hex');
}

function compareCodeUnits(left: string, right: string): number {
  if (left < right) {
    return -1;
  }
  return left > right ? 1 : 0;
}
