import { type ApiError, isApiError } from '@provisions/api';
import {
  DeliveryError,
  InvitationLinkError,
  isCredentialsRejection,
  KeystoreError,
  ProvisionsError,
} from '@provisions/core';

import {
  CliError,
  describeWriteRemedy,
  EXIT_FAILURE,
  EXIT_USAGE,
  FileWriteError,
} from './cli-error.js';
import {
  FetchFailedError,
  responseTimeoutOf,
  type ServerUrlSource,
  sentRequestOf,
} from './node-http-fetch.js';

/** An error as the CLI reports it: one line for stderr and the process exit code. */
export interface ErrorReport {
  message: string;
  exitCode: number;
}

const NETWORK_ERROR_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
};

/** The protocol a request expected from a server that responded in another one, and what to check. */
interface ProtocolMismatch {
  protocol: string;
  next: string;
}

const PROTOCOL_MISMATCHES: Readonly<Record<string, ProtocolMismatch>> = {
  // A TLS failure at the protocol level. Against a server without TLS, OpenSSL reports "wrong
  // version number", because the first bytes from the server were not a TLS record.
  EPROTO: {
    protocol: 'TLS',
    next: 'it may be a plain HTTP server, or no HTTP server at all: check the scheme (http:// or https://) and the port of the server URL',
  },
  // Node's HTTP parser: the first bytes of the response were not "HTTP/".
  HPE_INVALID_CONSTANT: {
    protocol: 'HTTP',
    next: 'check the port of the server URL, where another kind of service listens',
  },
};

/**
 * Node's codes for a server certificate that does not chain to a trusted certificate authority:
 * self-signed, or issued by an authority that Node's CA store lacks.
 */
const UNTRUSTED_CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/**
 * Turns any error a command raised into one line and an exit code: 2 for bad
 * usage or bad input (options, manifest, link, email address), 1 otherwise.
 * The line never includes a stack trace.
 */
export function reportError(error: unknown): ErrorReport {
  if (error instanceof CliError) {
    return { message: error.message, exitCode: error.exitCode };
  }

  if (isCredentialsRejection(error)) {
    return { message: describeCredentialsRejection(error), exitCode: EXIT_FAILURE };
  }

  if (isApiError(error)) {
    return { message: describeRejectedRequest(error), exitCode: EXIT_FAILURE };
  }

  if (error instanceof InvitationLinkError) {
    return { message: error.message, exitCode: EXIT_USAGE };
  }

  if (error instanceof DeliveryError && error.code === 'ERR_INVALID_BOX') {
    return { message: error.message, exitCode: EXIT_USAGE };
  }

  if (error instanceof DeliveryError && error.code === 'ERR_PROVISION_NOT_IN_KEYSTORE') {
    return {
      message: `${error.message} (with this CLI: provisions revoke <public key>)`,
      exitCode: EXIT_FAILURE,
    };
  }

  if (isEmailAddressError(error)) {
    return { message: error.message, exitCode: EXIT_USAGE };
  }

  if (isKeystoreWriteError(error)) {
    const code = (error.cause as NodeJS.ErrnoException | undefined)?.code;
    const remedy = describeWriteRemedy(code, 'run the same command again');
    return { message: `${error.message}: ${remedy}`, exitCode: EXIT_FAILURE };
  }

  if (error instanceof ProvisionsError) {
    return { message: error.message, exitCode: EXIT_FAILURE };
  }

  const network = describeNetworkFailure(error);
  if (network !== undefined) {
    return { message: network, exitCode: EXIT_FAILURE };
  }

  const message = error instanceof Error ? error.message : String(error);
  return { message: oneLine(message), exitCode: EXIT_FAILURE };
}

/**
 * Returns the line for the token endpoint's rejection of the organization's credentials. It
 * names the CLI's inputs, where the server's detail names the OAuth parameters `client_id` and
 * `client_secret`.
 */
function describeCredentialsRejection(error: ApiError): string {
  const request = error.response === undefined ? undefined : sentRequestOf(error.response);
  const server =
    request === undefined ? 'the server' : `the server at ${new URL(request.url).origin}`;
  return `${server} rejected the organization's credentials (HTTP 401 invalid_client): check the organization id (--org-id or PROVISIONS_ORG_ID) and the client secret (PROVISIONS_CLIENT_SECRET)`;
}

/**
 * Returns the line for an error response: the request's method and URL, when the CLI's
 * transport sent it, then the status and problem details. A 404 of a path where the server has
 * no operation also names the server URL.
 */
function describeRejectedRequest(error: ApiError): string {
  const request = error.response === undefined ? undefined : sentRequestOf(error.response);
  const rejected = request === undefined ? 'a request' : `${request.method} ${request.url}`;
  const message = `the server rejected ${rejected}: ${error.message}`;
  // The server's detail for a path that matches no operation of the API, as with a server URL
  // that ends in a path the server does not serve.
  if (error.status === 404 && error.problem.detail.startsWith('no operation matches ')) {
    return `${message}; ${describeServerUrl(request?.serverSource)} may be wrong, because the server has no operation at this path`;
  }
  return message;
}

/**
 * Returns the error that stops a manifest run when `error` is a failed write of the journal or
 * the keystore, which every later recipient would hit too, or `undefined` for another error.
 */
export function asLocalWriteFailure(error: unknown): CliError | undefined {
  if (error instanceof FileWriteError) {
    return error;
  }
  if (isKeystoreWriteError(error)) {
    return new CliError(reportError(error).message, EXIT_FAILURE, { cause: error });
  }
  return undefined;
}

/**
 * Returns whether `error` is a failed write of the keystore file.
 *
 * NOTE: @provisions/core raises `ERR_KEYSTORE_IO` for reads, locks and a closed keystore too,
 * and only the message of a failed write starts with "cannot write keystore".
 */
function isKeystoreWriteError(error: unknown): error is KeystoreError {
  return (
    error instanceof KeystoreError &&
    error.code === 'ERR_KEYSTORE_IO' &&
    error.message.startsWith('cannot write keystore ')
  );
}

function isEmailAddressError(error: unknown): error is Error {
  return error instanceof Error && (error as { code?: unknown }).code === 'ERR_INVALID_EMAIL';
}

function describeNetworkFailure(error: unknown): string | undefined {
  const timeoutMs = responseTimeoutOf(error);
  if (timeoutMs !== undefined) {
    return `the server did not respond within ${formatSeconds(timeoutMs)}: check that it is running and not overloaded, then run the command again`;
  }

  const reason = describeConnectionFailure(error);
  if (reason === undefined) {
    return undefined;
  }

  const code = connectionErrorCode(error);
  const origin = error instanceof FetchFailedError ? error.origin : undefined;
  const server = origin === undefined ? 'the server' : `the server at ${origin}`;
  const mismatch = code === undefined ? undefined : PROTOCOL_MISMATCHES[code];
  if (mismatch !== undefined) {
    return `${server} did not respond with ${mismatch.protocol} (${code}): ${mismatch.next}`;
  }

  if (code !== undefined && UNTRUSTED_CERTIFICATE_CODES.has(code)) {
    return `the TLS certificate of ${server} is not trusted (${code}), because it is self-signed or its issuer is unknown: to trust a private certificate authority, set NODE_EXTRA_CA_CERTS to the path of its certificate in PEM`;
  }

  const serverSource = error instanceof FetchFailedError ? error.serverSource : undefined;
  const next = describeUnreachableNext(serverSource);
  // Node's TLS server, for one, resets a connection whose first bytes are not a TLS handshake.
  if (code === 'ECONNRESET' && origin?.startsWith('http:') === true) {
    return `cannot reach ${server} (${reason}): ${next}, and if its port expects TLS, use an https:// URL`;
  }

  return `cannot reach ${server} (${reason}): ${next}`;
}

/**
 * Returns what to check when the server cannot be reached, naming the source of its URL,
 * because the user did not type a URL that `redeem` took from the invitation link.
 */
function describeUnreachableNext(source: ServerUrlSource | undefined): string {
  if (source === 'invitation link') {
    return 'this server URL comes from the invitation link: check that the server is running, or give the API server URL with --server';
  }
  return `check ${describeServerUrl(source)} and that the server is running`;
}

/** Names the server URL with its source, such as `the server URL given with --server`. */
function describeServerUrl(source: ServerUrlSource | undefined): string {
  switch (source) {
    case '--server':
      return 'the server URL given with --server';
    case 'PROVISIONS_SERVER':
      return 'the server URL in the PROVISIONS_SERVER environment variable';
    case 'invitation link':
      return 'the server URL from the invitation link';
    case undefined:
      return 'the server URL';
  }
}

/**
 * Returns why a request got no response at all, such as `connection refused` or
 * `no response within 60 s`, or `undefined` when `error` is not such a failure. `fetch`, and
 * the CLI's own transport, raise a TypeError "fetch failed" whose `cause` is the socket error.
 */
export function describeConnectionFailure(error: unknown): string | undefined {
  if (!(error instanceof TypeError) || error.message !== 'fetch failed') {
    return undefined;
  }

  const timeoutMs = responseTimeoutOf(error);
  if (timeoutMs !== undefined) {
    return `no response within ${formatSeconds(timeoutMs)}`;
  }

  const code = connectionErrorCode(error);
  return code === undefined ? 'network error' : describeNetworkErrorCode(code);
}

/** Returns the errno code of the socket error that a "fetch failed" TypeError wraps, if any. */
function connectionErrorCode(error: unknown): string | undefined {
  const code = ((error as Error).cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Returns the words for the errno code of a failed connection, such as `connection refused`
 * for ECONNREFUSED, or the code itself when it has none.
 */
export function describeNetworkErrorCode(code: string): string {
  const mismatch = PROTOCOL_MISMATCHES[code];
  if (mismatch !== undefined) {
    return `the server did not respond with ${mismatch.protocol}`;
  }
  return NETWORK_ERROR_CODES[code] ?? code;
}

/** Formats milliseconds as seconds, such as `60 s` or `0.2 s`. */
export function formatSeconds(ms: number): string {
  return `${ms / 1000} s`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
