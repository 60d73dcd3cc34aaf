import type { Client } from 'openapi-fetch';
import type { paths } from './generated/schema.js';
import { type ApiOperation, ApiTimeoutError } from './request-errors.js';

/** A `fetch` as openapi-fetch calls it. */
export type Transport = (request: Request) => Promise<Response>;

/** The methods of an openapi-fetch client that send one request each. */
const HTTP_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH', 'TRACE'] as const;

/** The second argument of a client method, as far as this module reads it. */
interface CallInit {
  signal?: AbortSignal | null;
  fetch?: Transport;
  [option: string]: unknown;
}

type Send = (init: CallInit) => Promise<unknown>;

/** Settings of the checks that {@link checkResponses} adds to every call of a client. */
export interface ResponseChecks {
  /** The client's transport, used when a call gives no `fetch` of its own. */
  fetch: Transport;
  /** Time limit of each call in milliseconds, or `undefined` for none. */
  timeoutMs: number | undefined;
}

/**
 * Returns a client whose methods check each call: a call that takes longer than
 * `checks.timeoutMs` rejects with {@link ApiTimeoutError}. The time limit runs from the call
 * until the body is read, and aborts the request through its signal, combined with the
 * caller's `signal` if there is one.
 */
export function checkResponses(client: Client<paths>, checks: ResponseChecks): Client<paths> {
  const methods = client as unknown as Record<string, (url: string, init?: CallInit) => unknown>;
  const request = client.request as unknown as (
    method: string,
    url: string,
    init?: CallInit,
  ) => Promise<unknown>;
  const checked: Record<string, unknown> = { ...client };

  for (const method of HTTP_METHODS) {
    const send = methods[method] as (url: string, init?: CallInit) => Promise<unknown>;
    checked[method] = (url: string, init?: CallInit) =>
      sendChecked({ method, path: url }, init, (finalInit) => send(url, finalInit), checks);
  }
  checked.request = (method: string, url: string, init?: CallInit) =>
    sendChecked(
      { method: String(method).toUpperCase(), path: url },
      init,
      (finalInit) => request(method, url, finalInit),
      checks,
    );

  return checked as unknown as Client<paths>;
}

async function sendChecked(
  operation: ApiOperation,
  init: CallInit | undefined,
  send: Send,
  checks: ResponseChecks,
): Promise<unknown> {
  const checkedInit: CallInit = { ...init, fetch: init?.fetch ?? checks.fetch };

  if (checks.timeoutMs === undefined) {
    return send(checkedInit);
  }
  return sendWithTimeLimit(operation, checkedInit, send, checks.timeoutMs);
}

/**
 * Sends with a signal that aborts after `timeoutMs`, and rejects with {@link ApiTimeoutError}
 * at that moment even when the transport ignores the signal. An abort through the caller's
 * own signal rejects with the transport's error, as `fetch` does.
 */
async function sendWithTimeLimit(
  operation: ApiOperation,
  init: CallInit,
  send: Send,
  timeoutMs: number,
): Promise<unknown> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const callerSignal = init.signal ?? undefined;
  const signal = callerSignal === undefined ? timeout : AbortSignal.any([callerSignal, timeout]);

  let stopWaiting = (): void => {};
  const expired = new Promise<never>((_resolve, reject) => {
    const onTimeout = (): void => reject(new ApiTimeoutError(operation, timeoutMs));
    timeout.addEventListener('abort', onTimeout, { once: true });
    stopWaiting = () => timeout.removeEventListener('abort', onTimeout);
  });

  try {
    return await Promise.race([send({ ...init, signal }), expired]);
  } catch (error) {
    if (error instanceof ApiTimeoutError || !timeout.aborted || callerSignal?.aborted === true) {
      throw error;
    }
    throw new ApiTimeoutError(operation, timeoutMs, { cause: error });
  } finally {
    stopWaiting();
  }
}
