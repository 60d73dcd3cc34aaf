import type { Client } from 'openapi-fetch';
import type { paths } from './generated/schema.js';
import { bodyExcerpt, mediaTypeOf } from './problem.js';
import { type ApiOperation, ApiTimeoutError, UnexpectedResponseError } from './request-errors.js';

/** A `fetch` as openapi-fetch calls it. */
export type Transport = (request: Request) => Promise<Response>;

/** The methods of an openapi-fetch client that send one request each. */
const HTTP_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH', 'TRACE'] as const;

/** The second argument of a client method, as far as this module reads it. */
interface CallInit {
  signal?: AbortSignal | null;
  fetch?: Transport;
  parseAs?: string;
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
 * `checks.timeoutMs` rejects with {@link ApiTimeoutError}, and a success response whose body
 * is not JSON rejects with {@link UnexpectedResponseError} (unless the call sets another
 * `parseAs`). The time limit runs from the call until the body is read, and aborts the
 * request through its signal, combined with the caller's `signal` if there is one.
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
  const transport = init?.fetch ?? checks.fetch;
  const checkJson = (init?.parseAs ?? 'json') === 'json';
  let received: Response | undefined;

  const checkedInit: CallInit = {
    ...init,
    fetch: async (request: Request) => {
      const response = await transport(request);
      received = response;
      if (checkJson) {
        await checkJsonBody(operation, request, response);
      }
      return response;
    },
  };

  const sendAndCheck: Send = async (finalInit) => {
    try {
      return await send(finalInit);
    } catch (error) {
      // openapi-fetch parses a success body with JSON.parse, which raises a SyntaxError.
      if (error instanceof SyntaxError && received?.ok === true) {
        throw new UnexpectedResponseError(
          operation,
          `the server responded ${received.status} with a body that is not valid JSON ` +
            `(${error.message}); check that the base URL points to the provisions API`,
          { response: received, cause: error },
        );
      }
      throw error;
    }
  };

  if (checks.timeoutMs === undefined) {
    return sendAndCheck(checkedInit);
  }
  return sendWithTimeLimit(operation, checkedInit, sendAndCheck, checks.timeoutMs);
}

/**
 * Rejects a success response whose media type is not JSON and whose body does not parse as
 * JSON either, such as the HTML page of a web server. The body is read from a clone, so the
 * caller still reads the response as it came.
 */
async function checkJsonBody(
  operation: ApiOperation,
  request: Request,
  response: Response,
): Promise<void> {
  if (!response.ok || response.status === 204 || request.method === 'HEAD') {
    return;
  }

  const mediaType = mediaTypeOf(response);
  if (mediaType === 'application/json' || mediaType?.endsWith('+json') === true) {
    return;
  }

  const text = await response.clone().text();
  if (text === '' || isJsonText(text)) {
    return;
  }

  const bodyType = mediaType === undefined ? 'without Content-Type' : `of type ${mediaType}`;
  throw new UnexpectedResponseError(
    operation,
    `the server responded ${response.status} with a body ${bodyType} where the API sends ` +
      `JSON; check that the base URL points to the provisions API. Body: ${bodyExcerpt(text)}`,
    { response },
  );
}

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
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
