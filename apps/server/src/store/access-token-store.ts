import type { SqlClient } from '../database/sql-client.js';

/** An access token as stored: the SHA-256 of the token, never the token itself. */
export interface AccessTokenRecord {
  token_hash: Buffer;
  organization_id: string | null;
  identity_id: string | null;
  /** Milliseconds since the Unix epoch. */
  expires_at: number;
}

/**
 * The owner of an access token: its organization, or its identity with that identity's
 * email, and when the token expires.
 */
export interface AccessTokenOwner extends Omit<AccessTokenRecord, 'token_hash'> {
  email: string | null;
}

/** Reads and writes access tokens. */
export class AccessTokenStore {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /** Inserts a token. */
  async insert(record: AccessTokenRecord): Promise<void> {
    await this.#sql.run(
      `INSERT INTO access_tokens (token_hash, organization_id, identity_id, expires_at)
       VALUES (@token_hash, @organization_id, @identity_id, @expires_at)`,
      { ...record },
    );
  }

  /**
   * Finds the owner of a token by the token's hash, expired or not. The hash is not
   * read back, which spares a Buffer on every authenticated request.
   */
  findByHash(tokenHash: Buffer): Promise<AccessTokenOwner | undefined> {
    return this.#sql.get<AccessTokenOwner>(
      `SELECT t.organization_id, t.identity_id, t.expires_at, i.email
       FROM access_tokens t LEFT JOIN identities i ON i.id = t.identity_id
       WHERE t.token_hash = ?`,
      [tokenHash],
    );
  }

  /** Deletes every token that expired at or before `nowMs`. */
  async deleteExpired(nowMs: number): Promise<void> {
    await this.#sql.run('DELETE FROM access_tokens WHERE expires_at <= ?', [nowMs]);
  }
}
