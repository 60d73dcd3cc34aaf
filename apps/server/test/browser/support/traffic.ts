import { decodeBase64Url } from '@provisions/crypto';
import type { Page, Request } from 'playwright-core';

/** One request the page sent: URL, every header, and the body as text. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * Records every request a page sends, from the moment it is created, including
 * the document, its assets and API calls.
 */
export class TrafficRecorder {
  readonly #pending: Promise<RecordedRequest>[] = [];

  constructor(page: Page) {
    page.on('request', (request) => {
      this.#pending.push(record(request));
    });
  }

  /** Returns the requests recorded so far, with their headers read. */
  requests(): Promise<RecordedRequest[]> {
    return Promise.all(this.#pending);
  }
}

async function record(request: Request): Promise<RecordedRequest> {
  return {
    method: request.method(),
    url: request.url(),
    headers: await request.allHeaders(),
    body: request.postData() ?? '',
  };
}

/**
 * Returns the texts that would betray the key share of `link`: its base64url form,
 * standard base64 with and without padding, hexadecimal in both cases, the
 * percent-encoded fragment, and the bytes as a JSON array. A request containing any
 * of them leaks the share.
 */
export function shareEncodings(link: string): string[] {
  const encoded = link.slice(link.indexOf('#provision:') + '#provision:'.length);
  const bytes = decodeBase64Url(encoded, { length: 33 });
  const base64 = Buffer.from(bytes).toString('base64');
  const hex = Buffer.from(bytes).toString('hex');

  const encodings = [
    encoded,
    base64,
    base64.replace(/=+$/, ''),
    hex,
    hex.toUpperCase(),
    encodeURIComponent(`provision:${encoded}`),
    JSON.stringify([...bytes]),
    [...bytes].join(','),
  ];
  return [...new Set(encodings)];
}

/** Returns each place in `requests` that contains one of `secrets`, for an assertion message. */
export function findLeaks(
  requests: readonly RecordedRequest[],
  secrets: readonly string[],
): string[] {
  const leaks: string[] = [];
  for (const request of requests) {
    const parts: [string, string][] = [
      ['url', request.url],
      ['body', request.body],
      ...Object.entries(request.headers).map(([name, value]): [string, string] => [
        `header ${name}`,
        value,
      ]),
    ];
    for (const [where, text] of parts) {
      secrets.forEach((secret, index) => {
        if (text.includes(secret)) {
          leaks.push(
            `${request.method} ${new URL(request.url).pathname}: ${where} has encoding ${index}`,
          );
        }
      });
    }
  }
  return leaks;
}
