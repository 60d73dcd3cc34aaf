import { type ApiClient, isApiError, type PublicKeyLookup, unwrap } from '@provisions/api';

/** Largest number of addresses the server accepts in one batch look-up. */
export const LOOKUP_BATCH_SIZE = 100;

/**
 * Key look-ups of a run's recipients, fetched 100 at a time with
 * `POST /identities/public-keys/lookups` in the order the run sends them.
 *
 * Asking for an address fetches the batch that contains it and starts the
 * next batch, so workers that go through the list in order rarely wait.
 * A look-up can thus be up to about two batches older than its use. The
 * single look-up had the same race with the box creation, in a shorter window.
 *
 * A batch that fails (a server without the operation, a network error after
 * the retries) falls back to one `GET /identities/public-keys` per address
 * of that batch, so one failure never fails a hundred recipients. After a
 * 404 or a 405 every later look-up uses the single request.
 */
export class PublicKeyLookups {
  readonly #client: ApiClient;
  readonly #emails: readonly string[];
  readonly #positions: ReadonlyMap<string, number>;
  readonly #batches = new Map<number, Promise<PublicKeyLookup[] | undefined>>();
  #batchUnsupported = false;

  /**
   * @param client - the organization's API client.
   * @param emails - normalized addresses to look up, in the order the run
   *   sends them.
   */
  constructor(client: ApiClient, emails: readonly string[]) {
    this.#client = client;
    this.#emails = emails;
    this.#positions = new Map(emails.map((email, position) => [email, position]));
  }

  /**
   * Returns the look-up of `email`, a normalized address: from its batch when
   * the address was given to the constructor and the batch succeeded, else
   * from a single request.
   *
   * @throws ApiError from the single request, such as 401 for a revoked token.
   */
  async lookUp(email: string): Promise<PublicKeyLookup> {
    const position = this.#positions.get(email);
    if (position !== undefined) {
      const batch = Math.floor(position / LOOKUP_BATCH_SIZE);
      const items = await this.#batch(batch);
      this.#batch(batch + 1);

      const item = items?.[position % LOOKUP_BATCH_SIZE];
      if (item !== undefined && item.identifier === email) {
        return item;
      }
    }

    return unwrap(
      await this.#client.GET('/identities/public-keys', {
        params: { query: { identifier: email } },
      }),
    );
  }

  /** Starts batch `batch` once and returns its items, or undefined if it failed. */
  #batch(batch: number): Promise<PublicKeyLookup[] | undefined> {
    const started = this.#batches.get(batch);
    if (started !== undefined) {
      return started;
    }

    const identifiers = this.#emails.slice(
      batch * LOOKUP_BATCH_SIZE,
      (batch + 1) * LOOKUP_BATCH_SIZE,
    );
    const items =
      identifiers.length === 0 || this.#batchUnsupported
        ? Promise.resolve(undefined)
        : this.#fetch(identifiers);
    this.#batches.set(batch, items);
    return items;
  }

  async #fetch(identifiers: string[]): Promise<PublicKeyLookup[] | undefined> {
    try {
      const list = unwrap(
        await this.#client.POST('/identities/public-keys/lookups', { body: { identifiers } }),
      );
      return list.items.length === identifiers.length ? list.items : undefined;
    } catch (error) {
      if (isApiError(error) && (error.status === 404 || error.status === 405)) {
        this.#batchUnsupported = true;
      }
      // The single look-ups of this batch's addresses report the error, if it persists.
      return undefined;
    }
  }
}
