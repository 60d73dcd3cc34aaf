import { type ApiOperation, UnexpectedResponseError } from '@provisions/api';

/** One page of a cursor-paginated list, as the API returns it. */
export interface Page<T> {
  items: T[];
  /** The cursor of the next page, or null on the last page. */
  next_cursor: string | null;
}

/** A list that {@link collectPages} fetches. */
export interface PagedList {
  /** Name of the listed items for error messages, such as `crypto actions`. */
  name: string;
  /** The operation that returns one page, such as `GET /crypto/actions`. */
  operation: ApiOperation;
}

/** Items the API returns per page when the flows list everything; the API maximum. */
export const PAGE_LIMIT = 100;

/** Crypto actions per page when the flows list them all; the API maximum for that list. */
export const CRYPTO_ACTION_PAGE_LIMIT = 1000;

/**
 * Returns the `cursor` query parameter of a page request, left out for the first page,
 * because the generated query types do not accept an undefined `cursor` under
 * `exactOptionalPropertyTypes`.
 */
export function cursorQuery(cursor: string | undefined): { cursor?: string } {
  return cursor === undefined ? {} : { cursor };
}

/**
 * Fetches every page of a cursor-paginated list and returns all items in order.
 *
 * @param fetchPage - requests one page; `cursor` is undefined for the first.
 * @param list - what is listed and the operation that lists it, for the error message.
 * @param firstPage - the first page when the caller already has it, such as a
 *   box's events returned by `POST /boxes/joins`; only later pages are fetched.
 * @throws UnexpectedResponseError if the server returns a cursor it returned
 *   before, which would loop forever.
 */
export async function collectPages<T>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  list: PagedList,
  firstPage?: Page<T>,
): Promise<T[]> {
  const items: T[] = [];
  const seenCursors = new Set<string>();
  let page = firstPage ?? (await fetchPage(undefined));

  for (;;) {
    items.push(...page.items);

    if (page.next_cursor === null) {
      return items;
    }

    if (seenCursors.has(page.next_cursor)) {
      throw new UnexpectedResponseError(
        list.operation,
        `the server returned the same page cursor twice while listing ${list.name}`,
      );
    }

    seenCursors.add(page.next_cursor);
    page = await fetchPage(page.next_cursor);
  }
}
