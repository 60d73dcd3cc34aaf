import { randomUUID } from 'node:crypto';
import type { BoxJoinRequest, BoxJoinResult, Event, JoinedBox } from '@provisions/api';
import { HttpProblem } from '../errors/http-problem.js';
import { toJsonPointer } from '../errors/json-pointer.js';
import { paginate } from '../http/page-cursor.js';
import { rejectLowOrderPublicKeys } from '../http/public-key-input.js';
import { JOINED_BOX_EVENTS_LIMIT, JOINED_BOXES_CONTENT_BUDGET } from '../limits.js';
import type { ServerContext } from '../server-context.js';
import type { BoxEventRecord } from '../store/box-event-store.js';
import type { BoxRecord } from '../store/box-store.js';
import type { Store } from '../store/store.js';
import { findAccessibleBox } from './box-access.js';
import { boxEventsCursorScope } from './box-events-cursor-scope.js';

/**
 * Joins a person to up to 100 boxes and returns each box with the first page of its
 * events, in one write transaction: either every box is joined or none is.
 *
 * Items are checked in request order. A box already joined gets no second
 * `member.join` event. Each page contains at most {@link JOINED_BOX_EVENTS_LIMIT} events
 * and stops early once the response's sealed content passes
 * {@link JOINED_BOXES_CONTENT_BUDGET} characters, though a box with events always
 * gets its first one.
 *
 * @param identity - The signed-in person.
 * @param body - Request body that passed schema validation (1 to 100 items).
 * @throws HttpProblem `invalidRequest` for a box id listed twice, and `invalidPublicKey`
 * for a `public_key` that is a low-order X25519 point, both before any item is looked up.
 * `notFound` for a box the person is neither invited to nor a member of, the same
 * response as for a box that does not exist. `boxKeyMismatch` for a `public_key` that is
 * not the box's. Each problem points at the field of the failing item.
 */
export async function joinBoxes(
  context: ServerContext,
  identity: { identityId: string; email: string },
  body: BoxJoinRequest,
): Promise<BoxJoinResult> {
  const { store, clock } = context;
  assertUniqueIds(body);
  rejectLowOrderPublicKeys(
    body.boxes.map((item, index) => ({
      pointer: toJsonPointer(['boxes', String(index), 'public_key']),
      publicKey: item.public_key,
    })),
  );

  return store.writeTransaction(async (tx) => {
    const boxes: BoxRecord[] = [];
    for (const [index, item] of body.boxes.entries()) {
      const box = await findJoinableBox(tx, identity, item.id, index);
      if (item.public_key !== box.public_key) {
        throw new HttpProblem(
          'boxKeyMismatch',
          `public_key of box ${box.id} is not the box public key; derive it from the box secret key in the invitation`,
          {
            errors: [
              {
                pointer: toJsonPointer(['boxes', String(index), 'public_key']),
                detail: 'must be the public key of the box, derived from its invitation',
              },
            ],
          },
        );
      }
      boxes.push(box);
    }

    const joinedAt = clock().toISOString();
    for (const box of boxes) {
      if ((await tx.boxes.findJoinEventId(box.id, identity.identityId)) !== undefined) {
        continue;
      }
      const event: Event = {
        id: randomUUID(),
        box_id: box.id,
        type: 'member.join',
        content: null,
        sender: { type: 'identity', id: identity.identityId },
        created_at: joinedAt,
      };
      await tx.boxEvents.insert(event);
      await tx.boxes.addMember(box.id, identity.identityId, event.id);
    }

    const items: JoinedBox[] = [];
    let contentBudget = JOINED_BOXES_CONTENT_BUDGET;
    for (const box of boxes) {
      const rows = await tx.boxEvents.list(box.id, {
        after: 0,
        limit: JOINED_BOX_EVENTS_LIMIT + 1,
      });
      const { eventCount, contentLength } = countEventsWithinBudget(rows, contentBudget);
      contentBudget -= contentLength;

      const scope = boxEventsCursorScope({ kind: 'identity', ...identity }, box.id);
      const page = paginate(rows.slice(0, eventCount + 1), eventCount, (position) =>
        context.cursors.encode(position, scope),
      );
      items.push({ box, events: page.items, next_cursor: page.next_cursor });
    }

    return { items };
  });
}

/**
 * Counts the leading events of a box whose sealed content fits in `budget` characters,
 * at most {@link JOINED_BOX_EVENTS_LIMIT}, and returns their content length. The first
 * event always counts, so every box with events makes progress.
 */
function countEventsWithinBudget(
  rows: readonly BoxEventRecord[],
  budget: number,
): { eventCount: number; contentLength: number } {
  let eventCount = 0;
  let contentLength = 0;
  while (eventCount < rows.length && eventCount < JOINED_BOX_EVENTS_LIMIT) {
    const size = rows[eventCount]?.content?.encrypted.length ?? 0;
    if (eventCount > 0 && contentLength + size > budget) {
      break;
    }
    contentLength += size;
    eventCount += 1;
  }
  return { eventCount, contentLength };
}

function assertUniqueIds(body: BoxJoinRequest): void {
  const firstIndex = new Map<string, number>();
  body.boxes.forEach((item, index) => {
    const earlier = firstIndex.get(item.id);
    if (earlier !== undefined) {
      throw new HttpProblem('invalidRequest', `box ${item.id} is listed twice`, {
        errors: [
          {
            pointer: toJsonPointer(['boxes', String(index), 'id']),
            detail: `must differ from /boxes/${earlier}/id; list each box once`,
          },
        ],
      });
    }
    firstIndex.set(item.id, index);
  });
}

/** Finds a box the person is invited to or a member of, or throws the 404 for item `index`. */
async function findJoinableBox(
  store: Store,
  identity: { identityId: string; email: string },
  boxId: string,
  index: number,
): Promise<BoxRecord> {
  try {
    const { box } = await findAccessibleBox(store, { kind: 'identity', ...identity }, boxId, [
      'member',
      'invited',
    ]);
    return box;
  } catch (error) {
    if (!(error instanceof HttpProblem) || error.problemType.status !== 404) {
      throw error;
    }
    throw new HttpProblem('notFound', error.detail, {
      errors: [
        {
          pointer: toJsonPointer(['boxes', String(index), 'id']),
          detail: 'must be a box you are invited to or a member of',
        },
      ],
    });
  }
}
