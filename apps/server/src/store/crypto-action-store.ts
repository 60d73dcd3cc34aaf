import type { SqliteDatabase } from '../database/open-database.js';

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
  readonly #insert;
  readonly #listPending;
  readonly #listPendingForKey;
  readonly #findPending;
  readonly #findAcknowledged;
  readonly #hasPendingForBox;
  readonly #acknowledge;
  readonly #withdrawForProvision;

  constructor(db: SqliteDatabase) {
    this.#insert = db.prepare<NewCryptoAction>(
      `INSERT INTO crypto_actions
         (id, box_id, encryption_public_key, encrypted, identity_id, provision_public_key, created_at)
       VALUES (@id, @box_id, @encryption_public_key, @encrypted, @identity_id,
               @provision_public_key, @created_at)`,
    );

    type PageQuery = Addressee & { after: number; limit: number };
    this.#listPending = db.prepare<PageQuery, PositionedCryptoAction>(
      `SELECT ${COLUMNS} FROM crypto_actions a
       WHERE ${PENDING_FOR_ADDRESSEE} AND a.position > @after
       ORDER BY a.position LIMIT @limit`,
    );
    this.#listPendingForKey = db.prepare<PageQuery & { key: string }, PositionedCryptoAction>(
      `SELECT ${COLUMNS} FROM crypto_actions a
       WHERE ${PENDING_FOR_ADDRESSEE} AND a.encryption_public_key = @key AND a.position > @after
       ORDER BY a.position LIMIT @limit`,
    );
    this.#findPending = db.prepare<Addressee & { id: string }, PositionedCryptoAction>(
      `SELECT ${COLUMNS} FROM crypto_actions a WHERE a.id = @id AND ${PENDING_FOR_ADDRESSEE}`,
    );
    this.#findAcknowledged = db.prepare<Addressee & { id: string }, PositionedCryptoAction>(
      `SELECT ${COLUMNS} FROM crypto_actions a
       WHERE a.id = @id AND a.acknowledged_at IS NOT NULL AND (
         a.identity_id = @identityId OR a.provision_public_key IN (
           SELECT public_key FROM provisions WHERE email = @email AND revoked_at IS NULL
         )
       )`,
    );
    this.#hasPendingForBox = db
      .prepare<Addressee & { boxId: string }, number>(
        `SELECT EXISTS (
           SELECT 1 FROM crypto_actions a WHERE a.box_id = @boxId AND ${PENDING_FOR_ADDRESSEE}
         )`,
      )
      .pluck();
    this.#acknowledge = db.prepare<[string, string]>(
      'UPDATE crypto_actions SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL',
    );
    this.#withdrawForProvision = db.prepare<[string]>(
      'DELETE FROM crypto_actions WHERE provision_public_key = ? AND acknowledged_at IS NULL',
    );
  }

  /** Inserts a crypto action. */
  insert(action: NewCryptoAction): void {
    this.#insert.run(action);
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
  ): PositionedCryptoAction[] {
    const query = { ...addressee, ...page };
    return encryptionPublicKey === undefined
      ? this.#listPending.all(query)
      : this.#listPendingForKey.all({ ...query, key: encryptionPublicKey });
  }

  /** Finds a pending action addressed to a person. */
  findPending(addressee: Addressee, id: string): PositionedCryptoAction | undefined {
    return this.#findPending.get({ ...addressee, id });
  }

  /** Finds an action addressed to a person that they already acknowledged. */
  findAcknowledged(addressee: Addressee, id: string): PositionedCryptoAction | undefined {
    return this.#findAcknowledged.get({ ...addressee, id });
  }

  /** Tells whether a person has a pending invitation to a box. */
  hasPendingForBox(addressee: Addressee, boxId: string): boolean {
    return this.#hasPendingForBox.get({ ...addressee, boxId }) === 1;
  }

  /** Marks an action acknowledged at `acknowledgedAt`. */
  acknowledge(id: string, acknowledgedAt: string): void {
    this.#acknowledge.run(acknowledgedAt, id);
  }

  /** Deletes the pending actions sealed to a provision, as its revocation requires. */
  withdrawForProvision(provisionPublicKey: string): void {
    this.#withdrawForProvision.run(provisionPublicKey);
  }
}
