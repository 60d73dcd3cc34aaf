import type { SqliteDatabase } from '../database/open-database.js';

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
  readonly #insert;
  readonly #findByPublicKey;
  readonly #findByShareHash;
  readonly #findActiveByEmail;
  readonly #revoke;

  constructor(db: SqliteDatabase) {
    this.#insert = db.prepare<ProvisionRecord>(
      `INSERT INTO provisions (${COLUMNS})
       VALUES (@public_key, @organization_id, @email, @misakey_key_share,
               @user_key_share_hash, @created_at, @revoked_at)`,
    );
    this.#findByPublicKey = db.prepare<[string], ProvisionRecord>(
      `SELECT ${COLUMNS} FROM provisions WHERE public_key = ?`,
    );
    this.#findByShareHash = db.prepare<[string], ProvisionRecord>(
      `SELECT ${COLUMNS} FROM provisions WHERE user_key_share_hash = ?`,
    );
    this.#findActiveByEmail = db.prepare<[string, string], ProvisionRecord>(
      `SELECT ${COLUMNS} FROM provisions
       WHERE organization_id = ? AND email = ? AND revoked_at IS NULL`,
    );
    this.#revoke = db.prepare<[string, string]>(
      'UPDATE provisions SET revoked_at = ? WHERE public_key = ? AND revoked_at IS NULL',
    );
  }

  /** Inserts a provision. */
  insert(record: ProvisionRecord): void {
    this.#insert.run(record);
  }

  /** Finds a provision of any organization, active or revoked, by public key. */
  findByPublicKey(publicKey: string): ProvisionRecord | undefined {
    return this.#findByPublicKey.get(publicKey);
  }

  /** Finds a provision of any organization, active or revoked, by `user_key_share_hash`. */
  findByShareHash(shareHash: string): ProvisionRecord | undefined {
    return this.#findByShareHash.get(shareHash);
  }

  /** Finds the one active provision of an organization for an email address. */
  findActiveByEmail(organizationId: string, email: string): ProvisionRecord | undefined {
    return this.#findActiveByEmail.get(organizationId, email);
  }

  /** Marks a provision revoked at `revokedAt` unless it already is. */
  revoke(publicKey: string, revokedAt: string): void {
    this.#revoke.run(revokedAt, publicKey);
  }
}
