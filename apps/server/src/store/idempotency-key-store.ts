import type { SqlClient } from '../database/sql-client.js';

/** The first result of a request sent with an `Idempotency-Key`. */
export interface IdempotencyRecord {
  organization_id: string;
  key: string;
  /** SHA-256 of the canonical JSON of the request body. */
  request_hash: Buffer;
  response_status: number;
  /** The response body as JSON text. */
  response_body: string;
  /** Milliseconds since the Unix epoch. */
  expires_at: number;
}

/** Reads and writes idempotency keys. */
export class IdempotencyKeyStore {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /** Inserts the first result of a key. */
  async insert(record: IdempotencyRecord): Promise<void> {
    await this.#sql.run(
      `INSERT INTO idempotency_keys
         (organization_id, key, request_hash, response_status, response_body, expires_at)
       VALUES (@organization_id, @key, @request_hash, @response_status, @response_body, @expires_at)`,
      { ...record },
    );
  }

  /** Finds the unexpired result stored for an organization's key at `nowMs`. */
  find(organizationId: string, key: string, nowMs: number): Promise<IdempotencyRecord | undefined> {
    return this.#sql.get<IdempotencyRecord>(
      `SELECT organization_id, key, request_hash, response_status, response_body, expires_at
       FROM idempotency_keys WHERE organization_id = ? AND key = ? AND expires_at > ?`,
      [organizationId, key, nowMs],
    );
  }

  /** Deletes every key that expired at or before `nowMs`. */
  async deleteExpired(nowMs: number): Promise<void> {
    await this.#sql.run('DELETE FROM idempotency_keys WHERE expires_at <= ?', [nowMs]);
  }
}
