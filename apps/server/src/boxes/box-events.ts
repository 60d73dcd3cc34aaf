import { randomUUID } from 'node:crypto';
import type { Event, EventCreation } from '@provisions/api';
import type { Principal } from '../auth/principal.js';
import { HttpProblem } from '../errors/http-problem.js';
import { rejectLowOrderPublicKeys } from '../http/public-key-input.js';
import type { ServerContext } from '../server-context.js';
import { findAccessibleBox } from './box-access.js';

/**
 * Posts an event to a box, in one write transaction.
 *
 * - `msg.text`: by the owner organization or a member. Its `content.public_key`
 *   must not be a low-order X25519 point (422 `invalidPublicKey`, checked first) and
 *   must be the box public key (422 `boxKeyMismatch`). An invited person who has not
 *   joined gets 403 `membershipRequired`.
 * - `member.join`: by a person invited to the box or already a member; joining
 *   again returns the first join event. An organization gets 403 `personRequired`.
 *
 * @returns The stored event.
 * @throws HttpProblem `notFound` when the caller may not see the box, or one of the above.
 */
export async function postBoxEvent(
  context: ServerContext,
  principal: Principal,
  boxId: string,
  body: EventCreation,
): Promise<Event> {
  const { store, clock } = context;
  if (body.type === 'msg.text') {
    rejectLowOrderPublicKeys([
      { pointer: '/content/public_key', publicKey: body.content.public_key },
    ]);
  }

  return store.writeTransaction(async (tx) => {
    const { box, relation } = await findAccessibleBox(tx, principal, boxId, [
      'owner',
      'member',
      'invited',
    ]);
    const sender: Event['sender'] =
      principal.kind === 'organization'
        ? { type: 'organization', id: principal.organizationId }
        : { type: 'identity', id: principal.identityId };
    const event: Event = {
      id: randomUUID(),
      box_id: box.id,
      type: body.type,
      content: null,
      sender,
      created_at: clock().toISOString(),
    };

    if (body.type === 'msg.text') {
      if (relation === 'invited') {
        throw new HttpProblem(
          'membershipRequired',
          'join the box with a member.join event before posting',
          {
            errors: [{ pointer: '/type', detail: 'needs membership of the box' }],
          },
        );
      }
      if (body.content.public_key !== box.public_key) {
        throw new HttpProblem('boxKeyMismatch', 'seal the message to the box public key', {
          errors: [{ pointer: '/content/public_key', detail: 'must be the public key of the box' }],
        });
      }
      event.content = body.content;
      await tx.boxEvents.insert(event);
      return event;
    }

    if (principal.kind !== 'identity') {
      throw new HttpProblem('personRequired', 'only a signed-in person can join a box', {
        errors: [{ pointer: '/type', detail: 'is only for people, not organizations' }],
      });
    }
    const joinEventId = await tx.boxes.findJoinEventId(box.id, principal.identityId);
    const earlier =
      joinEventId === undefined ? undefined : await tx.boxEvents.findById(joinEventId);
    if (earlier !== undefined) {
      const { position: _position, ...earlierEvent } = earlier;
      return earlierEvent;
    }

    await tx.boxEvents.insert(event);
    await tx.boxes.addMember(box.id, principal.identityId, event.id);
    return event;
  });
}
