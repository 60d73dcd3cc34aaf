import type { components } from './generated/schema.js';

type Schemas = components['schemas'];

/** An RFC 9457 problem details object: the body of every error response. */
export type Problem = Schemas['Problem'];

/** One invalid input of a problem: `pointer` (body), `parameter` or `header`, and `detail`. */
export type InvalidParam = Schemas['InvalidParam'];

/** A box as the server stores it. */
export type Box = Schemas['Box'];

/** The body of `POST /organizations/{oid}/boxes`. */
export type BoxCreation = Schemas['BoxCreation'];

/** The `crypto` member of a box creation: sealed invitations and new provisions. */
export type BoxCrypto = Schemas['BoxCrypto'];

/** A new provision: public key (43 characters), server key share (44) and user key share hash (86). */
export type ProvisionCreation = Schemas['ProvisionCreation'];

/** An invitation addressed to a person: a box secret key sealed to one of their public keys. */
export type CryptoAction = Schemas['CryptoAction'];

/** One page of crypto actions, with the cursor of the next page or null. */
export type CryptoActionPage = Schemas['CryptoActionPage'];

/** A box event: a sealed text message or a member joining. */
export type Event = Schemas['Event'];

/** The body of `POST /boxes/{id}/events`. */
export type EventCreation = Schemas['EventCreation'];

/** One page of box events, with the cursor of the next page or null. */
export type EventPage = Schemas['EventPage'];

/** A person's account: id, normalized email and identity public key (or null). */
export type Identity = Schemas['Identity'];

/** A person's token and identity, from `POST /auth/sessions`. */
export type Session = Schemas['Session'];

/** An organization's token, from `POST /oauth/token`. */
export type AccessToken = Schemas['AccessToken'];

/** The keys an organization can seal to for an email address. */
export type PublicKeyLookup = Schemas['PublicKeyLookup'];

/** Body of `POST /identities/public-keys/lookups`: 1 to 100 email addresses. */
export type PublicKeyLookupRequest = Schemas['PublicKeyLookupRequest'];

/** One {@link PublicKeyLookup} per requested address, in request order. */
export type PublicKeyLookupList = Schemas['PublicKeyLookupList'];

/** The body of a successful `GET /health`: `{ "status": "ok" }`. */
export type HealthStatus = Schemas['HealthStatus'];

/** A provision's public key and server key share, from `GET /crypto/provisions`. */
export type RedeemedProvision = Schemas['RedeemedProvision'];

/** The body of `POST /boxes/joins`: 1 to 100 box ids, each with the box public key from its invitation. */
export type BoxJoinRequest = Schemas['BoxJoinRequest'];

/** The response of `POST /boxes/joins`: one {@link JoinedBox} per requested box, in request order. */
export type BoxJoinResult = Schemas['BoxJoinResult'];

/** A joined box with the first page of its events and the cursor of the next page or null. */
export type JoinedBox = Schemas['JoinedBox'];
