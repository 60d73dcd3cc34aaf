import type { Principal } from '../auth/principal.js';
import { HttpProblem } from '../errors/http-problem.js';
import type { BoxRecord } from '../store/box-store.js';
import type { Store } from '../store/store.js';

/** Relation of a principal to a box it can see. */
export type BoxRelation = 'owner' | 'member' | 'invited';

/**
 * Finds a box and the caller's relation to it. The organization that created it is
 * its `owner`. A person is a `member` after joining, or `invited` while a pending
 * crypto action for the box is addressed to their identity or to an active
 * provision of their email.
 *
 * @param allowed - Relations that may see the box for this operation.
 * @throws HttpProblem `notFound` when the box does not exist or the caller's
 * relation is not allowed: the same response in both cases, so callers cannot probe
 * for boxes they may not see.
 */
export async function findAccessibleBox(
  store: Store,
  principal: Principal,
  boxId: string,
  allowed: readonly BoxRelation[],
): Promise<{ box: BoxRecord; relation: BoxRelation }> {
  const box = await store.boxes.findById(boxId);
  const relation = box === undefined ? undefined : await relationTo(store, principal, box);

  if (box === undefined || relation === undefined || !allowed.includes(relation)) {
    throw new HttpProblem('notFound', `box ${boxId} not found`);
  }
  return { box, relation };
}

async function relationTo(
  store: Store,
  principal: Principal,
  box: BoxRecord,
): Promise<BoxRelation | undefined> {
  if (principal.kind === 'organization') {
    return principal.organizationId === box.organization_id ? 'owner' : undefined;
  }

  if ((await store.boxes.findJoinEventId(box.id, principal.identityId)) !== undefined) {
    return 'member';
  }
  const addressee = { identityId: principal.identityId, email: principal.email };
  return (await store.cryptoActions.hasPendingForBox(addressee, box.id)) ? 'invited' : undefined;
}
