import type { SqliteDatabase } from '../database/open-database.js';
import { AccessTokenStore } from './access-token-store.js';
import { BoxEventStore } from './box-event-store.js';
import { BoxStore } from './box-store.js';
import { CryptoActionStore } from './crypto-action-store.js';
import { EmailCodeStore } from './email-code-store.js';
import { IdempotencyKeyStore } from './idempotency-key-store.js';
import { IdentityStore } from './identity-store.js';
import { OrganizationStore } from './organization-store.js';
import { ProvisionStore } from './provision-store.js';

/**
 * Every table's prepared statements on one connection, and the write transaction
 * that groups them.
 */
export class Store {
  readonly organizations: OrganizationStore;
  readonly accessTokens: AccessTokenStore;
  readonly emailCodes: EmailCodeStore;
  readonly identities: IdentityStore;
  readonly provisions: ProvisionStore;
  readonly boxes: BoxStore;
  readonly cryptoActions: CryptoActionStore;
  readonly boxEvents: BoxEventStore;
  readonly idempotencyKeys: IdempotencyKeyStore;
  readonly #db: SqliteDatabase;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.organizations = new OrganizationStore(db);
    this.accessTokens = new AccessTokenStore(db);
    this.emailCodes = new EmailCodeStore(db);
    this.identities = new IdentityStore(db);
    this.provisions = new ProvisionStore(db);
    this.boxes = new BoxStore(db);
    this.cryptoActions = new CryptoActionStore(db);
    this.boxEvents = new BoxEventStore(db);
    this.idempotencyKeys = new IdempotencyKeyStore(db);
  }

  /**
   * Runs `work` in a `BEGIN IMMEDIATE` transaction: the write lock is taken
   * first, so the reads inside see the state the writes apply to, even with other
   * processes on the same file. An exception rolls everything back and is rethrown.
   * `work` must be synchronous.
   */
  writeTransaction<T>(work: () => T): T {
    return this.#db.transaction(work).immediate();
  }
}
