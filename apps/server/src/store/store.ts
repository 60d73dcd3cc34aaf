import type { SqlClient, SqlDatabase } from '../database/sql-client.js';
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
 * The repository of the server: every table's queries, as async methods, on one
 * {@link SqlClient}. The same queries run on SQLite and on PostgreSQL; the client
 * is the database itself, or the connection of one write transaction.
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

  constructor(sql: SqlClient) {
    this.organizations = new OrganizationStore(sql);
    this.accessTokens = new AccessTokenStore(sql);
    this.emailCodes = new EmailCodeStore(sql);
    this.identities = new IdentityStore(sql);
    this.provisions = new ProvisionStore(sql);
    this.boxes = new BoxStore(sql);
    this.cryptoActions = new CryptoActionStore(sql);
    this.boxEvents = new BoxEventStore(sql);
    this.idempotencyKeys = new IdempotencyKeyStore(sql);
  }
}

/** The {@link Store} on a whole database, which can also start write transactions. */
export class DatabaseStore extends Store {
  readonly #database: SqlDatabase;

  constructor(database: SqlDatabase) {
    super(database);
    this.#database = database;
  }

  /**
   * Runs `work` in one write transaction, with a {@link Store} whose queries all
   * run inside it. The reads inside see the state the writes apply to, even with
   * other processes on the same database, and an exception rolls everything back
   * and is rethrown.
   *
   * Inside `work`, use only the store it receives: this store waits for the
   * transaction to end, on SQLite, so using it there never returns. `work` may run
   * more than once (see {@link SqlDatabase.transaction}), so it must not send mail
   * or change anything outside the database.
   */
  writeTransaction<T>(work: (tx: Store) => Promise<T>): Promise<T> {
    return this.#database.transaction((client) => work(new Store(client)));
  }

  /**
   * Reads at most one row of `organizations`, for the health check. On SQLite the read
   * takes the file's read lock, and on PostgreSQL it needs a working connection.
   *
   * @throws the database's error when the read fails.
   */
  async checkAvailable(): Promise<void> {
    await this.#database.get('SELECT 1 AS available FROM organizations LIMIT 1');
  }

  /** Closes the database. */
  close(): Promise<void> {
    return this.#database.close();
  }
}
