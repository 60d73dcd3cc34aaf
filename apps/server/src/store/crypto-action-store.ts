import type { SqlClient } from '../database/sql-client.js';

/** A crypto action, as the API returns it. */
export interface CryptoActionRecord {
  id: string;
  type: 'invitation';
  box_id: string;
  encryption_public_key: string;
  encrypted: string;
  created_at: string;
}

/** A crypto action with its position, the order in which actions were created. */
export interface PositionedCryptoAction extends CryptoActionRecord {
  position: number;
}

/** A new crypto action, addressed to exactly one identity or one provision. */
export interface NewCryptoAction {
  id: string;
  box_id: string;
  encryption_public_key: string;
  encrypted: string;
  identity_id: string | null;
  provision_public_key: string | null;
  created_at: string;
}

/** The signed-in person a query is for. */
export interface Addressee {
  identityId: string;
  email: string;
}

// An action is addressed to a person when it names their identity, or names an
// active provision of their email. Acknowledged actions are no longer pending.
const PENDING_FOR_ADDRESSEE = `
  a.acknowledged_at IS NULL AND (
    a.identity_id = @identityId OR a.provision_public_key IN (
      SELECT public_key FROM provisions WHERE email = @email AND revoked_at IS NULL
    )
  )`;

const COLUMNS =
  "a.position, a.id, 'invitation' AS type, a.box_id, a.encryption_public_key, a.encrypted, a.created_at";

/** Reads and writes crypto actions. */
export class CryptoActionStore {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /** Inserts a crypto action at the next position. */
  async insert(action: NewCryptoAction): Promise<void> {
    await this.#sql.run(
      `INSERT INTO crypto_actions
         (id, box_id, encryption_public_key, encrypted, identity_id, provision_public_key, created_at)
       VALUES (@id, @box_id, @encryption_public_key, @encrypted, @identity_id,
               @provision_public_key, @created_at)`,
      { ...action },
    );
  }

  /**
   * Lists the pending actions addressed to a person, oldest first, after a position.
   *
   * @param encryptionPublicKey - Only actions sealed to this key, when given.
   */
  listPending(
    addressee: Addressee,
    page: { after: number; limit: number },
    encryptionPublicKey?: string,
  ): Promise<PositionedCryptoAction[]> {
    const query = { ...addressee, ...page };
    if (encryptionPublicKey === undefined) {
      return this.#sql.all<PositionedCryptoAction>(
        `SELECT ${COLUMNS} FROM crypto_actions a
         WHERE ${PENDING_FOR_ADDRESSEE} AND a.position > @after
         ORDER BY a.position LIMIT @limit`,
        query,
      );
    }
    return this.#sql.all<PositionedCryptoAction>(
      `SELECT ${COLUMNS} FROM crypto_actions a
       WHERE ${PENDING_FOR_ADDRESSEE} AND a.encryption_public_key = @key AND a.position > @after
       ORDER BY a.position LIMIT @limit`,
      { ...query, key: encryptionPublicKey },
    );
  }

  /** Finds a pending action addressed to a person. */
  findPending(addressee: Addressee, id: string): Promise<PositionedCryptoAction | undefined> {
    return this.#sql.get<PositionedCryptoAction>(
      `SELECT ${COLUMNS} FROM crypto_actions a WHERE a.id = @id AND ${PENDING_FOR_ADDRESSEE}`,
      { ...addressee, id },
    );
  }

  /** Finds an action addressed to a person that they already acknowledged. */
  findAcknowledged(addressee: Addressee, id: string): Promise<PositionedCryptoAction | undefined> {
    return this.#sql.get<PositionedCryptoAction>(
      `SELECT ${COLUMNS} FROM crypto_actions a
       WHERE a.id = @id AND a.acknowledged_at IS NOT NULL AND (
         a.identity_id = @identityId OR a.provision_public_key IN (
           SELECT public_key FROM provisions WHERE email = @email AND revoked_at IS NULL
         )
       )`,
      { ...addressee, id },
    );
  }

  /** Tells whether a person has a pending invitation to a box. */
  async hasPendingForBox(addressee: Addressee, boxId: string): Promise<boolean> {
    const row = await this.#sql.get<{ found: number }>(
      `SELECT CASE WHEN EXISTS (
         SELECT 1 FROM crypto_actions a WHERE a.box_id = @boxId AND ${PENDING_FOR_ADDRESSEE}
       ) THEN 1 ELSE 0 END AS found`,
      { ...addressee, boxId },
    );
    return row?.found === 1;
  }

  /** Marks an action acknowledged at `acknowledgedAt`. */
  async acknowledge(id: string, acknowledgedAt: string): Promise<void> {
    await this.#sql.run(
      'UPDATE crypto_actions SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL',
      [acknowledgedAt, id],
    );
  }

  /** Deletes the pending actions sealed to a provision, as its revocation requires. */
  async withdrawForProvision(provisionPublicKey: string): Promise<void> {
    await this.#sql.run(
      'DELETE FROM crypto_actions WHERE provision_public_key = ? AND acknowledged_at IS NULL',
      [provisionPublicKey],
    );
  }
}
