import type { SqliteDatabase } from '../database/open-database.js';

/** An access token as stored: the SHA-256 of the token, never the token itself. */
export interface AccessTokenRecord {
  token_hash: Buffer;
  organization_id: string | null;
  identity_id: string | null;
  /** Milliseconds since the Unix epoch. */
  expires_at: number;
}

/** An access token joined with the email of its identity, if it belongs to one. */
export interface AccessTokenOwner extends AccessTokenRecord {
  email: string | null;
}

/** Reads and writes access tokens. */
export class AccessTokenStore {
  readonly #insert;
  readonly #findByHash;
  readonly #deleteExpired;

  constructor(db: SqliteDatabase) {
    this.#insert = db.prepare<AccessTokenRecord>(
      `INSERT INTO access_tokens (token_hash, organization_id, identity_id, expires_at)
       VALUES (@token_hash, @organization_id, @identity_id, @expires_at)`,
    );
    this.#findByHash = db.prepare<[Buffer], AccessTokenOwner>(
      `SELECT t.token_hash, t.organization_id, t.identity_id, t.expires_at, i.email
       FROM access_tokens t LEFT JOIN identities i ON i.id = t.identity_id
       WHERE t.token_hash = ?`,
    );
    this.#deleteExpired = db.prepare<[number]>('DELETE FROM access_tokens WHERE expires_at <= ?');
  }

  /** Inserts a token. */
  insert(record: AccessTokenRecord): void {
    this.#insert.run(record);
  }

  /** Finds a token by its hash, expired or not. */
  findByHash(tokenHash: Buffer): AccessTokenOwner | undefined {
    return this.#findByHash.get(tokenHash);
  }

  /** Deletes every token that expired at or before `nowMs`. */
  deleteExpired(nowMs: number): void {
    this.#deleteExpired.run(nowMs);
  }
}
