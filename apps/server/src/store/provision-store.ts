import type { SqlClient } from '../database/sql-client.js';

/** A crypto provision as stored. */
export interface ProvisionRecord {
  public_key: string;
  organization_id: string;
  /** Normalized email address of the person the provision is for. */
  email: string;
  misakey_key_share: string;
  user_key_share_hash: string;
  created_at: string;
  revoked_at: string | null;
}

const COLUMNS =
  'public_key, organization_id, email, misakey_key_share, user_key_share_hash, created_at, revoked_at';

/** Reads and writes crypto provisions. */
export class ProvisionStore {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /** Inserts a provision. */
  async insert(record: ProvisionRecord): Promise<void> {
    await this.#sql.run(
      `INSERT INTO provisions (${COLUMNS})
       VALUES (@public_key, @organization_id, @email, @misakey_key_share,
               @user_key_share_hash, @created_at, @revoked_at)`,
      { ...record },
    );
  }

  /** Finds a provision of any organization, active or revoked, by public key. */
  findByPublicKey(publicKey: string): Promise<ProvisionRecord | undefined> {
    return this.#sql.get<ProvisionRecord>(
      `SELECT ${COLUMNS} FROM provisions WHERE public_key = ?`,
      [publicKey],
    );
  }

  /** Finds a provision of any organization, active or revoked, by `user_key_share_hash`. */
  findByShareHash(shareHash: string): Promise<ProvisionRecord | undefined> {
    return this.#sql.get<ProvisionRecord>(
      `SELECT ${COLUMNS} FROM provisions WHERE user_key_share_hash = ?`,
      [shareHash],
    );
  }

  /** Finds the one active provision of an organization for an email address. */
  findActiveByEmail(organizationId: string, email: string): Promise<ProvisionRecord | undefined> {
    return this.#sql.get<ProvisionRecord>(
      `SELECT ${COLUMNS} FROM provisions
       WHERE organization_id = ? AND email = ? AND revoked_at IS NULL`,
      [organizationId, email],
    );
  }

  /** Marks a provision revoked at `revokedAt` unless it already is. */
  async revoke(publicKey: string, revokedAt: string): Promise<void> {
    await this.#sql.run(
      'UPDATE provisions SET revoked_at = ? WHERE public_key = ? AND revoked_at IS NULL',
      [revokedAt, publicKey],
    );
  }
}
