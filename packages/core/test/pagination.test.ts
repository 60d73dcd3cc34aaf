import { UnexpectedResponseError } from '@provisions/api';
import { describe, expect, it } from 'vitest';

import { collectPages, type Page } from '../src/pagination.js';

const NUMBERS = { name: 'numbers', operation: { method: 'GET', path: '/numbers' } };

describe('collectPages', () => {
  it('follows cursors until the last page', async () => {
    const pages: Record<string, Page<number>> = {
      start: { items: [1, 2], next_cursor: 'b' },
      b: { items: [3], next_cursor: 'c' },
      c: { items: [], next_cursor: 'd' },
      d: { items: [4], next_cursor: null },
    };
    const requested: (string | undefined)[] = [];

    const items = await collectPages(async (cursor) => {
      requested.push(cursor);
      return pages[cursor ?? 'start'] as Page<number>;
    }, NUMBERS);

    expect(items).toEqual([1, 2, 3, 4]);
    expect(requested).toEqual([undefined, 'b', 'c', 'd']);
  });

  it('stops when the server repeats a cursor', async () => {
    const attempt = collectPages(async () => ({ items: [1], next_cursor: 'same' }), NUMBERS);

    await expect(attempt).rejects.toBeInstanceOf(UnexpectedResponseError);
    await expect(attempt).rejects.toMatchObject({ code: 'ERR_API_UNEXPECTED_RESPONSE' });
    await expect(attempt).rejects.toThrow(
      'GET /numbers: the server returned the same page cursor twice while listing numbers',
    );
  });
});

describe('collectPages with a first page', () => {
  it('fetches only the pages after it', async () => {
    const requested: (string | undefined)[] = [];

    const items = await collectPages(
      async (cursor) => {
        requested.push(cursor);
        return { items: [3], next_cursor: null };
      },
      NUMBERS,
      { items: [1, 2], next_cursor: 'b' },
    );

    expect(items).toEqual([1, 2, 3]);
    expect(requested).toEqual(['b']);
  });

  it('fetches nothing when the first page is the last', async () => {
    let requests = 0;

    const items = await collectPages(
      async () => {
        requests += 1;
        return { items: [9], next_cursor: null };
      },
      NUMBERS,
      { items: [1], next_cursor: null },
    );

    expect(items).toEqual([1]);
    expect(requests).toBe(0);
  });
});
