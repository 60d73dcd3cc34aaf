import { responseTimeoutOf } from './node-http-fetch.js';

/** Retry settings for requests that fail for a passing reason. */
export interface RetryPolicy {
  /** Attempts in total, the first included. */
  attempts: number;
  /** Upper bound of the first wait, in milliseconds; it doubles on each retry. */
  baseDelayMs: number;
  /** Upper bound of any wait computed by backoff, in milliseconds. */
  maxDelayMs: number;
  /** Upper bound of a wait that a `Retry-After` header requests, in milliseconds. */
  maxRetryAfterMs: number;
}

/** Default policy: 6 attempts, waits up to 0.25, 0.5, 1, 2 and 4 seconds (about 8 s in total). */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 6,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

/** Tells whether a response status means the same request may succeed later: 429 or any 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * Tells whether `error` is a failure of the network rather than of the request: fetch
 * raises a `TypeError` without a `code` when no response arrived. `ApiArgumentError`
 * (`ERR_INVALID_ARGUMENT`) and the argument errors of Node.js are `TypeError`s with a
 * `code`, and would fail the same way on every attempt.
 */
export function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError && (error as { code?: unknown }).code === undefined;
}

/**
 * Returns whether a request that failed with `error` may be sent again: a network error other
 * than a response timeout. A server that accepted the connection and then sent nothing for
 * the transport's timeout (60 s) gets no second request. So a silent server delays a request
 * by one timeout, not by six.
 */
export function isRetryableNetworkError(error: unknown): boolean {
  return isNetworkError(error) && responseTimeoutOf(error) === undefined;
}

/**
 * Returns the wait before retry number `retry` (1 for the first retry), in
 * milliseconds: "full jitter" exponential backoff, a random time from 0 to
 * `min(maxDelayMs, baseDelayMs * 2^(retry - 1))`. A `Retry-After` header
 * (seconds or an HTTP date) sets the minimum, capped at `maxRetryAfterMs`.
 */
export function retryDelay(
  retry: number,
  policy: RetryPolicy,
  retryAfter?: string | null,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  const jittered = Math.floor(random() * ceiling);

  const requested = parseRetryAfter(retryAfter);
  if (requested === undefined) {
    return jittered;
  }
  return Math.max(jittered, Math.min(requested, policy.maxRetryAfterMs));
}

/**
 * Returns the wait before retry number `retry` after a network error (no response), in
 * milliseconds: "equal jitter", a random time from half to all of
 * `min(maxDelayMs, baseDelayMs * 2^(retry - 1))`. With the default policy the five waits add
 * up to 3.875 to 7.75 s, so a request outlasts a server restart of a few seconds, where the
 * full jitter of {@link retryDelay} can add up to almost nothing.
 */
export function networkRetryDelay(
  retry: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(ceiling / 2 + (random() * ceiling) / 2);
}

/** Parses a `Retry-After` value, seconds or an HTTP date, into milliseconds from now. */
export function parseRetryAfter(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value.trim() === '') {
    return undefined;
  }

  const text = value.trim();
  if (/^[0-9]+$/.test(text)) {
    return Number(text) * 1000;
  }

  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A retry about to happen, for counting and reporting. */
export interface RetryEvent {
  method: string;
  /** The URL path, without query, so no identifier or secret reaches a log. */
  path: string;
  /** The status that caused the retry, or `network` when no response arrived. */
  reason: number | 'network';
  /** The wait before the retry, in milliseconds. */
  delayMs: number;
  /**
   * The `detail` of the problem details (RFC 9457) in the body of a 429 or 503 response, on one
   * line, such as why the server is unavailable. Unset for other causes and bodies.
   */
  detail?: string;
}

/** Maximum length of {@link RetryEvent.detail}, in characters; a longer detail is cut. */
const MAX_DETAIL_LENGTH = 300;

/**
 * Returns the `detail` of a parsed problem details body, with control characters replaced by
 * spaces so that a server cannot move the cursor of the terminal, or `undefined` when `body`
 * has no string `detail`.
 */
export function problemDetailOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) {
    return undefined;
  }
  const detail = (body as { detail?: unknown }).detail;
  if (typeof detail !== 'string') {
    return undefined;
  }

  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are the match.
  const line = detail.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  if (line === '') {
    return undefined;
  }
  return line.length > MAX_DETAIL_LENGTH ? `${line.slice(0, MAX_DETAIL_LENGTH)}…` : line;
}

/** Tells whether a status means that the client should wait before it sends again: 429 or 503. */
export function isWaitStatus(status: number): boolean {
  return status === 429 || status === 503;
}

/** Reads the problem details `detail` of a response, or cancels its body when it is not JSON. */
async function readProblemDetail(response: Response): Promise<string | undefined> {
  if (!/json/i.test(response.headers.get('content-type') ?? '')) {
    await response.body?.cancel();
    return undefined;
  }
  try {
    return problemDetailOf(await response.json());
  } catch {
    // A body that is not valid JSON has no detail to report.
    return undefined;
  }
}

/**
 * Wraps `fetch` so that requests safe to repeat are retried on a network
 * error other than a response timeout ({@link isRetryableNetworkError}), a 429
 * or a 5xx, with {@link networkRetryDelay} or {@link retryDelay} between attempts. Safe to
 * repeat: GET and HEAD, the token request (`POST /oauth/token`), the batch
 * key look-up (`POST /identities/public-keys/lookups`, which writes nothing),
 * and any request with an `Idempotency-Key` header, for which the server
 * returns the first result. Other requests are sent once; their caller decides.
 *
 * @param options.onRetry - called before each wait, with the problem detail of a 429 or 503.
 * @param options.retryNetworkErrors - whether a network error is retried; default `true`.
 *   With `false`, a command fails at once when the server cannot be reached.
 * @example
 * const client = createApiClient({ baseUrl, fetch: createRetryingFetch({ policy: DEFAULT_RETRY_POLICY }) });
 */
export function createRetryingFetch(options: {
  policy: RetryPolicy;
  onRetry?: (event: RetryEvent) => void;
  fetch?: typeof fetch;
  retryNetworkErrors?: boolean;
}): typeof fetch {
  const baseFetch = options.fetch ?? globalThis.fetch;

  return async (input, init) => {
    const request =
      input instanceof Request && init === undefined ? input : new Request(input, init);
    if (!isSafeToRepeat(request)) {
      return baseFetch(request);
    }

    // Read the body once, so each attempt sends it again without cloning a stream.
    const body = request.body === null ? undefined : await request.arrayBuffer();
    const path = new URL(request.url).pathname;

    for (let attempt = 1; ; attempt += 1) {
      const last = attempt >= options.policy.attempts;
      let response: Response;

      try {
        response = await baseFetch(request.url, {
          method: request.method,
          headers: request.headers,
          body,
          signal: request.signal,
        });
      } catch (error) {
        if (last || options.retryNetworkErrors === false || !isRetryableNetworkError(error)) {
          throw error;
        }
        const delayMs = networkRetryDelay(attempt, options.policy);
        options.onRetry?.({ method: request.method, path, reason: 'network', delayMs });
        await sleep(delayMs);
        continue;
      }

      if (last || !isRetryableStatus(response.status)) {
        return response;
      }

      const delayMs = retryDelay(attempt, options.policy, response.headers.get('retry-after'));
      let detail: string | undefined;
      if (isWaitStatus(response.status)) {
        detail = await readProblemDetail(response);
      } else {
        await response.body?.cancel();
      }
      options.onRetry?.({
        method: request.method,
        path,
        reason: response.status,
        delayMs,
        ...(detail === undefined ? {} : { detail }),
      });
      await sleep(delayMs);
    }
  };
}

function isSafeToRepeat(request: Request): boolean {
  if (request.method === 'GET' || request.method === 'HEAD') {
    return true;
  }
  if (request.method !== 'POST') {
    return false;
  }
  if (request.headers.has('idempotency-key')) {
    return true;
  }
  const path = new URL(request.url).pathname;
  return path.endsWith('/oauth/token') || path.endsWith('/identities/public-keys/lookups');
}

/**
 * Creates the reporter of retries that wait because the server responded with 429 or 503. It
 * prints one line through `notice` the first time the command receives each status and problem
 * detail, so that a command delayed by a full disk or a rate limit shows why, without a line per
 * request.
 */
export function createWaitReporter(notice: (line: string) => void): (event: RetryEvent) => void {
  const seen = new Set<string>();
  return (event) => {
    if (event.reason === 'network' || !isWaitStatus(event.reason)) {
      return;
    }
    const key = `${event.reason} ${event.detail ?? ''}`;
    if (seen.has(key)) {
      return;
    }
    seen.add(key);
    const detail = event.detail === undefined ? '' : `: ${event.detail}`;
    notice(`provisions: the server responded with ${event.reason}${detail}; retrying`);
  };
}
