import { connect, type Socket } from 'node:net';

/** What a server sent on one raw connection until it closed it. */
export interface RawExchange {
  /** Status code of the first response, or undefined when the server sent nothing. */
  status: number | undefined;
  /** Header fields of the first response, with lower-case names. */
  headers: Record<string, string>;
  /** Everything after the first response's header section. */
  body: string;
  /** Milliseconds from connecting until the server closed the connection. */
  elapsedMs: number;
}

/**
 * A TCP connection to a test server that sends bytes exactly as written, for requests
 * that `fetch` cannot make: a body that stops before its `Content-Length`, a missing
 * `Host` header, or a method such as `TRACE`.
 */
export class RawConnection {
  readonly #socket: Socket;
  readonly #started = performance.now();
  #received = '';
  readonly #closed: Promise<void>;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#received += chunk;
    });
    // A reset by the server ends the exchange like a close.
    socket.on('error', () => undefined);
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Opens a connection to the host and port of `baseUrl`. */
  static async open(baseUrl: string): Promise<RawConnection> {
    const url = new URL(baseUrl);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawConnection(socket);
  }

  /** Sends text as it is; write `\r\n` line ends yourself. */
  write(text: string): void {
    this.#socket.write(text);
  }

  /** Closes the connection from the client side, as a client that goes away does. */
  destroy(): void {
    this.#socket.destroy();
  }

  /** Bytes received so far. */
  get received(): string {
    return this.#received;
  }

  /**
   * Waits until the server closes the connection, at most `limitMs`, then parses the
   * first response.
   *
   * @throws Error when the connection is still open after `limitMs`.
   */
  async closedByServer(limitMs: number): Promise<RawExchange> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'open'>((resolve) => {
      timer = setTimeout(() => resolve('open'), limitMs);
    });
    const outcome = await Promise.race([this.#closed, timedOut]);
    clearTimeout(timer);
    if (outcome === 'open') {
      this.#socket.destroy();
      throw new Error(`the server kept the connection open for more than ${limitMs} ms`);
    }

    return { ...parseResponse(this.#received), elapsedMs: performance.now() - this.#started };
  }
}

/** Sends one complete request on a new connection and returns what came back. */
export async function sendRawRequest(
  baseUrl: string,
  request: string,
  limitMs = 5000,
): Promise<RawExchange> {
  const connection = await RawConnection.open(baseUrl);
  connection.write(request);
  return connection.closedByServer(limitMs);
}

/**
 * Opens a connection and sends a sign-in code request whose `Content-Length` announces
 * `contentLength` bytes but whose body is only `sentBody`, so the server waits for the rest.
 */
export async function openPartialCodeRequest(
  baseUrl: string,
  sentBody: string,
  contentLength: number,
): Promise<RawConnection> {
  const connection = await RawConnection.open(baseUrl);
  connection.write(
    [
      'POST /auth/email-codes HTTP/1.1',
      'Host: 127.0.0.1',
      'Content-Type: application/json',
      `Content-Length: ${contentLength}`,
      '',
      sentBody,
    ].join('\r\n'),
  );
  return connection;
}

/** One response of several read from one connection. */
export interface RawResponse {
  status: number;
  /** Header fields with lower-case names. */
  headers: Record<string, string>;
  body: string;
}

/**
 * Splits everything a server sent on one connection into its responses, in order, using
 * each response's `Content-Length` (in bytes of the UTF-8 text) or chunked framing. Bytes
 * after the last complete response are ignored.
 */
export function parseResponses(text: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = Buffer.from(text, 'utf8');
  for (;;) {
    const headerEnd = rest.indexOf('\r\n\r\n');
    if (headerEnd === -1) {
      return responses;
    }
    const { status, headers } = parseResponse(rest.subarray(0, headerEnd + 4).toString('utf8'));
    const afterHeaders = rest.subarray(headerEnd + 4);
    if (status === undefined) {
      return responses;
    }
    if (headers['transfer-encoding'] === 'chunked') {
      const end = afterHeaders.indexOf('\r\n0\r\n\r\n');
      const chunked = end === -1 ? afterHeaders : afterHeaders.subarray(0, end + 7);
      responses.push({ status, headers, body: decodeChunked(chunked.toString('utf8')) });
      rest = end === -1 ? Buffer.alloc(0) : afterHeaders.subarray(end + 7);
    } else {
      const length = Number(headers['content-length'] ?? 0);
      const body = afterHeaders.subarray(0, length).toString('utf8');
      responses.push({ status, headers, body });
      rest = afterHeaders.subarray(length);
    }
  }
}

function parseResponse(text: string): Omit<RawExchange, 'elapsedMs'> {
  const headerEnd = text.indexOf('\r\n\r\n');
  if (headerEnd === -1) {
    return { status: undefined, headers: {}, body: text };
  }

  const [statusLine = '', ...fields] = text.slice(0, headerEnd).split('\r\n');
  const headers: Record<string, string> = {};
  for (const field of fields) {
    const colon = field.indexOf(':');
    headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim();
  }

  let body = text.slice(headerEnd + 4);
  if (headers['transfer-encoding'] === 'chunked') {
    body = decodeChunked(body);
  } else if (headers['content-length'] !== undefined) {
    body = body.slice(0, Number(headers['content-length']));
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

function decodeChunked(text: string): string {
  let body = '';
  let rest = text;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, lineEnd), 16);
    if (lineEnd === -1 || Number.isNaN(size) || size === 0) {
      return body;
    }
    body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}
