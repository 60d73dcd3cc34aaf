import { randomUUID } from 'node:crypto';
import type { Box, BoxCreation } from '@provisions/api';
import { digestsEqual } from '../auth/secret-token.js';
import { HttpProblem } from '../errors/http-problem.js';
import { toJsonPointer } from '../errors/json-pointer.js';
import { type PublicKeyInput, rejectLowOrderPublicKeys } from '../http/public-key-input.js';
import { fingerprintRequestBody } from '../http/request-fingerprint.js';
import { IDEMPOTENCY_KEY_TTL_SECONDS } from '../limits.js';
import type { ServerContext } from '../server-context.js';
import { planBoxCreation } from './box-creation-plan.js';

/** Result of {@link createBox}. */
export interface BoxCreationResult {
  box: Box;
  /** True when an earlier request with the same `Idempotency-Key` and body created the box. */
  replayed: boolean;
}

/**
 * Creates a box with its provisions and invitations. Every rule of
 * {@link planBoxCreation} is checked before anything is written, and the box, the
 * provisions and one crypto action per invitation are written in the same write
 * transaction, so a failed request leaves no row behind. On PostgreSQL, two
 * requests that race for the same address or key conflict in that transaction. The
 * loser runs again and then fails its check with the matching 409.
 *
 * With an `Idempotency-Key`, the first successful result is kept for
 * {@link IDEMPOTENCY_KEY_TTL_SECONDS}: the same key with the same body (compared
 * by a canonical JSON hash) returns that box again; the same key with another body
 * is a 422. Failed requests are not kept, so a corrected retry may reuse the key.
 *
 * Before anything else, every public key of the request (the box's, each provision's and
 * each `invitation_data` key) is checked not to be a low-order X25519 point.
 *
 * @throws HttpProblem `invalidPublicKey` for a low-order key, another problem for a
 * broken rule, or `idempotencyKeyReused`.
 */
export async function createBox(
  context: ServerContext,
  organizationId: string,
  body: BoxCreation,
  idempotencyKey: string | undefined,
): Promise<BoxCreationResult> {
  const { store, clock } = context;
  rejectLowOrderPublicKeys(publicKeysOf(body));
  const requestHash = idempotencyKey === undefined ? undefined : fingerprintRequestBody(body);

  return store.writeTransaction(async (tx) => {
    const now = clock();
    const nowMs = now.getTime();

    if (idempotencyKey !== undefined && requestHash !== undefined) {
      await tx.idempotencyKeys.deleteExpired(nowMs);
      const previous = await tx.idempotencyKeys.find(organizationId, idempotencyKey, nowMs);
      if (previous !== undefined) {
        if (!digestsEqual(previous.request_hash, requestHash)) {
          throw new HttpProblem(
            'idempotencyKeyReused',
            'this Idempotency-Key was used with another request body; pick a new key',
            { errors: [{ header: 'Idempotency-Key', detail: 'was used with another body' }] },
          );
        }
        return { box: JSON.parse(previous.response_body) as Box, replayed: true };
      }
    }

    const plan = await planBoxCreation(tx, organizationId, body);
    const createdAt = now.toISOString();
    const box: Box = {
      id: randomUUID(),
      organization_id: organizationId,
      title: plan.title,
      public_key: plan.public_key,
      data_subject: plan.data_subject,
      created_at: createdAt,
    };

    await tx.boxes.insert(box);
    for (const { requestKey: _requestKey, ...provision } of plan.provisions) {
      await tx.provisions.insert({
        ...provision,
        organization_id: organizationId,
        created_at: createdAt,
        revoked_at: null,
      });
    }
    for (const invitation of plan.invitations) {
      await tx.cryptoActions.insert({
        id: randomUUID(),
        box_id: box.id,
        created_at: createdAt,
        ...invitation,
      });
    }

    if (idempotencyKey !== undefined && requestHash !== undefined) {
      await tx.idempotencyKeys.insert({
        organization_id: organizationId,
        key: idempotencyKey,
        request_hash: requestHash,
        response_status: 201,
        response_body: JSON.stringify(box),
        expires_at: nowMs + IDEMPOTENCY_KEY_TTL_SECONDS * 1000,
      });
    }
    return { box, replayed: false };
  });
}

/** Lists the X25519 public keys of a box creation request, with their pointers. */
function publicKeysOf(body: BoxCreation): PublicKeyInput[] {
  const keys: PublicKeyInput[] = [{ pointer: '/public_key', publicKey: body.public_key }];
  for (const publicKey of Object.keys(body.crypto?.invitation_data ?? {})) {
    keys.push({ pointer: toJsonPointer(['crypto', 'invitation_data', publicKey]), publicKey });
  }
  for (const [email, provision] of Object.entries(body.crypto?.provisions ?? {})) {
    keys.push({
      pointer: toJsonPointer(['crypto', 'provisions', email, 'public_key']),
      publicKey: provision.public_key,
    });
  }
  return keys;
}
