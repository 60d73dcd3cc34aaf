import type { Principal } from '../auth/principal.js';
import type { CursorScope } from '../http/page-cursor.js';

/**
 * Returns the cursor scope of `GET /boxes/{id}/events` for one caller and box. The
 * `next_cursor` of `POST /boxes/joins` uses the same scope, so a client continues
 * there with the events listing.
 *
 * @example
 * boxEventsCursorScope({ kind: 'identity', identityId, email }, boxId);
 * // { operation: 'listBoxEvents', caller: 'identity:<identityId>', filter: boxId }
 */
export function boxEventsCursorScope(principal: Principal, boxId: string): CursorScope {
  const caller =
    principal.kind === 'organization'
      ? `organization:${principal.organizationId}`
      : `identity:${principal.identityId}`;
  return { operation: 'listBoxEvents', caller, filter: boxId };
}
