import type { BoxCreation } from '@provisions/api';
import { HttpProblem, type InvalidParam } from '../errors/http-problem.js';
import { toJsonPointer } from '../errors/json-pointer.js';
import { normalizeEmailInput, requireEmailInput } from '../http/email-input.js';
import type { Store } from '../store/store.js';

/** A provision of the request, with its email normalized. */
export interface PlannedProvision {
  /** The `provisions` key as sent, for error pointers. */
  requestKey: string;
  email: string;
  public_key: string;
  misakey_key_share: string;
  user_key_share_hash: string;
}

/** An invitation of the request, with the account or provision it is addressed to. */
export interface PlannedInvitation {
  encryption_public_key: string;
  encrypted: string;
  identity_id: string | null;
  provision_public_key: string | null;
}

/** Everything a box creation writes, once every rule has passed. */
export interface BoxCreationPlan {
  title: string;
  public_key: string;
  data_subject: string | null;
  provisions: PlannedProvision[];
  invitations: PlannedInvitation[];
}

const provisionPointer = (requestKey: string, ...rest: string[]) =>
  toJsonPointer(['crypto', 'provisions', requestKey, ...rest]);

/**
 * Checks every rule of box creation against the request and the database, without
 * writing, and returns what to write. Run it in the write transaction that then
 * writes the plan, so no other request can change the outcome in between.
 *
 * Rules, in the order they are checked (each failure lists every offending input):
 * 1. `data_subject` and each `provisions` key are valid email addresses after
 *    normalization, else 422 `invalidEmail`;
 * 2. no two `provisions` keys are the same address after normalization, else 422
 *    `duplicateEmail`;
 * 3. each `invitation_data` key is an identity public key, a provision of this
 *    request, or an active provision of this organization, else 422
 *    `unknownInvitationKey` (another organization's provision is unknown here);
 * 4. the organization has no active provision for any of the addresses, else 409
 *    `provisionExists` with `existing_public_key`;
 * 5. no provision `public_key` or `user_key_share_hash` repeats within the request
 *    or exists already (as a provision of any organization, or as an identity
 *    public key), else 409 `keyInUse`.
 *
 * @throws HttpProblem for the first rule that fails.
 */
export async function planBoxCreation(
  store: Store,
  organizationId: string,
  body: BoxCreation,
): Promise<BoxCreationPlan> {
  const dataSubject =
    body.data_subject === undefined
      ? null
      : requireEmailInput(body.data_subject, { pointer: '/data_subject' });

  const provisions = normalizeProvisions(body);
  const invitations = await resolveInvitations(store, organizationId, body, provisions);
  await rejectActiveProvisions(store, organizationId, provisions);
  await rejectKeysInUse(store, provisions);

  return {
    title: body.title,
    public_key: body.public_key,
    data_subject: dataSubject,
    provisions,
    invitations,
  };
}

function normalizeProvisions(body: BoxCreation): PlannedProvision[] {
  const provisions: PlannedProvision[] = [];
  const invalid: InvalidParam[] = [];

  for (const [requestKey, provision] of Object.entries(body.crypto?.provisions ?? {})) {
    const result = normalizeEmailInput(requestKey, { pointer: provisionPointer(requestKey) });
    if ('error' in result) {
      invalid.push(result.error);
    } else {
      provisions.push({ requestKey, email: result.email, ...provision });
    }
  }
  if (invalid.length > 0) {
    throw new HttpProblem('invalidEmail', 'a provision email address is invalid; see errors', {
      errors: invalid,
    });
  }

  const firstKeyByEmail = new Map<string, string>();
  const duplicates: InvalidParam[] = [];
  for (const provision of provisions) {
    const first = firstKeyByEmail.get(provision.email);
    if (first === undefined) {
      firstKeyByEmail.set(provision.email, provision.requestKey);
    } else {
      duplicates.push({
        pointer: provisionPointer(provision.requestKey),
        detail: `is the same address as ${provisionPointer(first)} after normalization`,
      });
    }
  }
  if (duplicates.length > 0) {
    throw new HttpProblem('duplicateEmail', 'two provisions are for the same address; send one', {
      errors: duplicates,
    });
  }
  return provisions;
}

async function resolveInvitations(
  store: Store,
  organizationId: string,
  body: BoxCreation,
  provisions: PlannedProvision[],
): Promise<PlannedInvitation[]> {
  const newProvisionKeys = new Set(provisions.map((provision) => provision.public_key));
  const invitations: PlannedInvitation[] = [];
  const unknown: InvalidParam[] = [];

  for (const [publicKey, encrypted] of Object.entries(body.crypto?.invitation_data ?? {})) {
    const invitation = { encryption_public_key: publicKey, encrypted };
    const identity = await store.identities.findByPublicKey(publicKey);
    const provision = await store.provisions.findByPublicKey(publicKey);

    if (newProvisionKeys.has(publicKey)) {
      invitations.push({ ...invitation, identity_id: null, provision_public_key: publicKey });
    } else if (identity !== undefined) {
      invitations.push({ ...invitation, identity_id: identity.id, provision_public_key: null });
    } else if (
      provision !== undefined &&
      provision.organization_id === organizationId &&
      provision.revoked_at === null
    ) {
      invitations.push({ ...invitation, identity_id: null, provision_public_key: publicKey });
    } else {
      unknown.push({
        pointer: toJsonPointer(['crypto', 'invitation_data', publicKey]),
        detail:
          'is not the identity public key of an account, a provision of this request, ' +
          'or an active provision of this organization',
      });
    }
  }

  if (unknown.length > 0) {
    throw new HttpProblem(
      'unknownInvitationKey',
      'an invitation is sealed to an unknown key; see errors',
      {
        errors: unknown,
      },
    );
  }
  return invitations;
}

async function rejectActiveProvisions(
  store: Store,
  organizationId: string,
  provisions: PlannedProvision[],
): Promise<void> {
  const conflicts: { pointer: string; existing: string }[] = [];
  for (const provision of provisions) {
    const active = await store.provisions.findActiveByEmail(organizationId, provision.email);
    if (active !== undefined) {
      conflicts.push({
        pointer: provisionPointer(provision.requestKey),
        existing: active.public_key,
      });
    }
  }

  const first = conflicts[0];
  if (first !== undefined) {
    throw new HttpProblem(
      'provisionExists',
      'this organization already has an active provision for the address; seal to ' +
        'existing_public_key or revoke that provision first',
      {
        errors: conflicts.map(({ pointer, existing }) => ({
          pointer,
          detail: `has an active provision with public key ${existing}`,
        })),
        extensions: { existing_public_key: first.existing },
      },
    );
  }
}

async function rejectKeysInUse(store: Store, provisions: PlannedProvision[]): Promise<void> {
  const conflicts: InvalidParam[] = [];
  const firstPointerByPublicKey = new Map<string, string>();
  const firstPointerByShareHash = new Map<string, string>();

  for (const provision of provisions) {
    const keyPointer = provisionPointer(provision.requestKey, 'public_key');
    const hashPointer = provisionPointer(provision.requestKey, 'user_key_share_hash');

    const earlierKey = firstPointerByPublicKey.get(provision.public_key);
    if (earlierKey !== undefined) {
      conflicts.push({ pointer: keyPointer, detail: `is the same key as ${earlierKey}` });
    } else if (
      (await store.provisions.findByPublicKey(provision.public_key)) !== undefined ||
      (await store.identities.findByPublicKey(provision.public_key)) !== undefined
    ) {
      conflicts.push({
        pointer: keyPointer,
        detail: 'is already in use; generate a new provision',
      });
    }
    firstPointerByPublicKey.set(provision.public_key, earlierKey ?? keyPointer);

    const earlierHash = firstPointerByShareHash.get(provision.user_key_share_hash);
    if (earlierHash !== undefined) {
      conflicts.push({ pointer: hashPointer, detail: `is the same hash as ${earlierHash}` });
    } else if (
      (await store.provisions.findByShareHash(provision.user_key_share_hash)) !== undefined
    ) {
      conflicts.push({
        pointer: hashPointer,
        detail: 'is already in use; generate a new provision',
      });
    }
    firstPointerByShareHash.set(provision.user_key_share_hash, earlierHash ?? hashPointer);
  }

  if (conflicts.length > 0) {
    throw new HttpProblem(
      'keyInUse',
      'a provision key or share hash is already in use; see errors',
      {
        errors: conflicts,
      },
    );
  }
}
